"""What other loads changed since a load read the index: the re-check of a
story decision made before the load lock.

A load notes the lock's holder number (`seen`) before it reads any stored
candidate, decides, and lists its own changes (`note`: the keys and body
hashes of its articles, the stories whose summed vectors it read or writes)
in its transaction, still before the lock. Under the lock, `since` reads the
rows of the holders numbered after `seen` (they committed after the read;
every holder up to `seen` had committed before it) and `affected` says which
of the batch's articles they could have placed differently: one that shares
a near key or its body hash with an article they filed, two story keys with
one of them, whose candidates or their stories they replaced or merged away,
or whose story's summed vector (or a candidate's) they read or wrote. The
load's own row is numbered as it takes the lock (`hold_load_lock`), and
`add_gone` adds what it replaced and merged. Rows are kept for the last
`KEPT` holders; a load that read before those is re-checked whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from newsdesk.tasks.dedup.match import Link, Stored, Text
from newsdesk.tasks.store.pgcopy import number_array

# Holders whose changes are kept; every PRUNE_EVERY-th holder deletes older rows.
KEPT = 512
PRUNE_EVERY = 64


def seen(conn: Connection) -> int:
    """The number of the last holder of the load lock (read before any stored candidate)."""
    return conn.scalar(sa.text("SELECT seq FROM newsdesk.load_lock WHERE id = 1"))


def hash_key(body_hash: str) -> int:
    """A body hash as a number (its first 60 bits)."""
    return int(body_hash[:15], 16) if body_hash else 0


def note(conn: Connection, texts: Sequence[Text], stories: Iterable[int] = ()) -> int:
    """List the keys and body hashes of the articles a load files, and the
    stories whose summed vectors it read or writes (before the lock: others see
    the row only once the load commits); the row's token."""
    story, owner = [], []
    for position, text in enumerate(texts):
        story += text.keys.story_keys
        owner += [position] * len(text.keys.story_keys)
    return conn.scalar(
        sa.text(
            "INSERT INTO newsdesk.load_changes (near, story, story_owner, hashes, stories)"
            " VALUES (CAST(:near AS bigint[]), CAST(:story AS bigint[]), CAST(:owner AS int[]), CAST(:hashes AS bigint[]),"
            " CAST(:stories AS bigint[]))"
            " RETURNING token"
        ),
        {
            "near": number_array(sorted({key for text in texts for key in text.keys.near_keys})),
            "story": number_array(story),
            "owner": number_array(owner),
            "hashes": number_array(sorted({hash_key(text.body_hash) for text in texts})),
            "stories": number_array(sorted(set(stories))),
        },
    )


def add_gone(
    conn: Connection,
    token: int,
    seq: int,
    *,
    gone: Sequence[int] = (),
    gone_hashes: Sequence[str] = (),
    stories: Iterable[int] | None = None,
) -> None:
    """Add to the load's row (numbered as it took the lock, `hold_load_lock`) the
    versions it replaced (ids and body hashes) and the stories it merged away,
    and set the stories whose sums it read or wrote as finally decided (None:
    as noted); now and then, delete the rows of holders older than the last KEPT."""
    if gone or gone_hashes or stories is not None:
        conn.execute(
            sa.text(
                "UPDATE newsdesk.load_changes SET gone = CAST(:gone AS bigint[]),"
                " hashes = hashes || CAST(:hashes AS bigint[]),"
                " stories = coalesce(CAST(:stories AS bigint[]), stories) WHERE token = :token"
            ),
            {
                "token": token,
                "gone": number_array(sorted(set(gone))),
                "hashes": number_array(sorted({hash_key(h) for h in gone_hashes if h})),
                "stories": number_array(sorted(set(stories))) if stories is not None else None,
            },
        )
    if seq % PRUNE_EVERY == 0:
        conn.execute(sa.text("DELETE FROM newsdesk.load_changes WHERE seq <= :last"), {"last": seq - KEPT})
        conn.execute(
            sa.text("UPDATE newsdesk.load_lock SET changes_from = greatest(changes_from, :first) WHERE id = 1"),
            {"first": seq - KEPT + 1},
        )


@dataclass
class Since:
    """What the holders after a load's read changed that meets the load's own
    listed changes; `anything`: not listed (re-check everything)."""

    anything: bool = False
    near: set[int] = field(default_factory=set)  # the load's near keys that they filed too
    hashes: set[int] = field(default_factory=set)  # the load's body hashes that they filed or replaced
    story: set[int] = field(default_factory=set)  # positions sharing `minimum` story keys with one of their articles
    gone: set[int] = field(default_factory=set)  # versions they replaced, stories they merged away
    stories: set[int] = field(default_factory=set)  # stories whose sums both read or wrote

    @property
    def empty(self) -> bool:
        return not (self.anything or self.near or self.hashes or self.story or self.gone or self.stories)


_SINCE = """
WITH newer AS (SELECT * FROM newsdesk.load_changes WHERE seq > :seen AND seq < :seq),
mine AS (SELECT * FROM newsdesk.load_changes WHERE token = :token)
SELECT
  coalesce((SELECT bool_or(anything) FROM newer), false) AS anything,
  ARRAY(SELECT k FROM mine, unnest(mine.near) k INTERSECT SELECT k FROM newer, unnest(newer.near) k) AS near,
  ARRAY(SELECT k FROM mine, unnest(mine.hashes) k INTERSECT SELECT k FROM newer, unnest(newer.hashes) k) AS hashes,
  ARRAY(
    SELECT DISTINCT m.owner FROM (
      SELECT m.owner, t.token, t.owner AS theirs FROM mine, unnest(mine.story, mine.story_owner) m(key, owner)
      JOIN (SELECT n.token, t.key, t.owner FROM newer n, unnest(n.story, n.story_owner) t(key, owner)) t ON t.key = m.key
      GROUP BY m.owner, t.token, t.owner HAVING count(*) >= :minimum
    ) m
  ) AS story,
  ARRAY(SELECT DISTINCT g FROM newer, unnest(newer.gone) g) AS gone,
  ARRAY(SELECT k FROM mine, unnest(mine.stories) k INTERSECT SELECT k FROM newer, unnest(newer.stories) k) AS stories
"""


def since(conn: Connection, token: int, seen_seq: int, seq: int, changes_from: int, minimum_story: int = 2) -> Since:
    """What the holders numbered after `seen_seq` and before `seq` (this holder's)
    changed that meets the changes listed in row `token` (compared in the database:
    only what they share comes back)."""
    if seq == seen_seq + 1:
        return Since()
    if seen_seq + 1 < changes_from:
        return Since(anything=True)
    row = conn.execute(sa.text(_SINCE), {"seen": seen_seq, "seq": seq, "token": token, "minimum": minimum_story}).one()
    if row.anything:
        return Since(anything=True)
    return Since(False, set(row.near), set(row.hashes), set(row.story), set(row.gone), set(row.stories))


def affected(texts: Sequence[Text], stored: Stored, keep: dict[int, Link], changed: Since) -> set[int]:
    """Positions of the batch whose stored candidates may differ from those read
    before the lock (all of them when the changes were not listed)."""
    if changed.anything:
        return set(range(len(texts)))
    gone = changed.gone
    positions = set(changed.story)
    for position, text in enumerate(texts):
        if position in positions:
            continue
        if changed.stories and (
            text.story_id in changed.stories
            or any(c.story_id in changed.stories for c in stored.story.get(position, ()))
        ):
            positions.add(position)
            continue
        if (changed.hashes and hash_key(text.body_hash) in changed.hashes) or (
            changed.near and not changed.near.isdisjoint(text.keys.near_keys)
        ):
            positions.add(position)
        elif gone:
            exact = stored.exact.get(text.body_hash)
            candidates = [*stored.near.get(position, ()), *stored.story.get(position, ())]
            if (
                (exact is not None and not gone.isdisjoint(exact))
                or any(c.article_id in gone or c.story_id in gone or c.root() in gone for c in candidates)
                or (position in keep and keep[position].story_id in gone)
            ):
                positions.add(position)
    return positions
