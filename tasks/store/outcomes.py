"""A batch's outcomes recorded: a `rejections` row per problem, and the counts
added to the run and to its row for the source."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from newsdesk.tasks.records import OUTCOMES, Problem
from newsdesk.tasks.store.storable import storable


def record_problems(conn: Connection, run_id: int, source: str, problems: Sequence[Problem]) -> None:
    record_source_problems(conn, run_id, [(source, problem) for problem in problems])


def record_source_problems(conn: Connection, run_id: int, problems: Sequence[tuple[str, Problem]]) -> None:
    """A `rejections` row for each problem, of the source it is paired with."""
    if not problems:
        return
    conn.execute(
        sa.text(
            "INSERT INTO newsdesk.rejections (run_id, source, locator, outcome, stage, reason)"
            " VALUES (:run_id, :source, :locator, :outcome, :stage, :reason)"
        ),
        [
            {
                "run_id": run_id,
                "source": source,
                "locator": p.locator,
                "outcome": p.outcome,
                "stage": p.stage,
                "reason": p.reason,
            }
            for source, p in problems
        ],
    )


def add_counts(conn: Connection, run_id: int, source: str, counts: Counter) -> None:
    """Add a batch's outcome counts to its run and to the run's row for the source."""
    add_counts_by_source(conn, run_id, {source: counts})


def _count_values(counts: Counter) -> dict[str, int]:
    """A batch's counts as the columns of `ingest_runs` and `ingest_run_sources` hold them."""
    values = {f"n_{outcome}": counts.get(outcome, 0) for outcome in OUTCOMES}
    values["n_discovered"] = sum(values.values())
    return values


# The count columns, in `_count_values`' order: names from OUTCOMES only.
_COUNTS = list(_count_values(Counter()))


def _add_counts_statement() -> str:
    """One statement adding per-source counts (each column an array, one value per
    source) to the run's row and to its row for each source."""
    names = ", ".join(_COUNTS)
    arrays = ", ".join(f"CAST(:{column} AS int[])" for column in _COUNTS)
    sums = ", ".join(f"sum({column}) AS {column}" for column in _COUNTS)
    to_run = ", ".join(f"{column} = r.{column} + s.{column}" for column in _COUNTS)
    to_source = ", ".join(f"{column} = newsdesk.ingest_run_sources.{column} + EXCLUDED.{column}" for column in _COUNTS)
    return (
        f"WITH batch AS (SELECT * FROM unnest(CAST(:sources AS text[]), {arrays}) AS b(source, {names})),"
        f" per_run AS (UPDATE newsdesk.ingest_runs r SET {to_run} FROM (SELECT {sums} FROM batch) s"
        " WHERE r.id = :run_id)"
        f" INSERT INTO newsdesk.ingest_run_sources (run_id, source, {names}) SELECT :run_id, source, {names} FROM batch"
        f" ON CONFLICT (run_id, source) DO UPDATE SET {to_source}"
    )


_ADD_COUNTS = _add_counts_statement()


def add_counts_by_source(conn: Connection, run_id: int, counts: dict[str, Counter]) -> None:
    """Add a batch's outcome counts, per source, to its run and to the run's row for
    each source, in one statement (loads run it under the load lock: one round trip)."""
    if not counts:
        return
    rows = [_count_values(of_source) for of_source in counts.values()]
    arrays = {column: [row[column] for row in rows] for column in _COUNTS}
    conn.execute(sa.text(_ADD_COUNTS), {**arrays, "sources": list(counts), "run_id": run_id})


def record_failed_batch(
    engine: Engine, *, run_id: int, source: str, locators: Sequence[str], stage: str, reason: str
) -> Counter:
    """Every item of a batch that could not be loaded becomes `failed`, with the
    reason (made storable: this is the load's boundary too, see `storable`)."""
    source, reason = storable(source), storable(reason)
    problems = [Problem(storable(locator), "failed", stage, reason) for locator in locators]
    counts = Counter(failed=len(problems))
    with engine.begin() as conn:
        record_problems(conn, run_id, source, problems)
        add_counts(conn, run_id, source, counts)
    return counts
