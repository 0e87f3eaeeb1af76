"""Raw documents stored zstd-compressed by newsdesk (`tasks/packing.py`), with
`raw_encoding` saying which form a row holds, and no second compression by
PostgreSQL: on the embedded server, which has no lz4, pglz cost 2.4 ms of
server CPU a page. Rows stored before stay as they were (`identity`).

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ENCODING_COMMENT = (
    "How raw is stored: zstd (compressed by newsdesk; any zstd tool or library reads it, e.g. Python's"
    " zstandard.decompress, or `newsdesk raw LOCATOR`) or identity (the bytes as read, rows stored before"
    " migration 0012)."
)
RAW_COMMENT = (
    "The bytes as read, in the form raw_encoding names; byte_size and content_sha256 are of the bytes as read."
)


def _comment(column: str, text: str) -> str:
    return f"COMMENT ON COLUMN newsdesk.documents.{column} IS '{text.replace(chr(39), chr(39) * 2)}'"


def upgrade() -> None:
    op.execute(
        "ALTER TABLE newsdesk.documents ADD COLUMN raw_encoding text NOT NULL DEFAULT 'identity'"
        " CHECK (raw_encoding IN ('identity', 'zstd'))"
    )
    # Already compressed: PostgreSQL stores the bytes out of line as they come.
    op.execute("ALTER TABLE newsdesk.documents ALTER COLUMN raw SET STORAGE EXTERNAL")
    op.execute(_comment("raw_encoding", ENCODING_COMMENT))
    op.execute(_comment("raw", RAW_COMMENT))


def downgrade() -> None:
    """Every zstd row back to the bytes as read (PostgreSQL cannot decompress
    zstd itself), a thousand at a time, then the column as before."""
    import sqlalchemy as sa
    import zstandard

    conn = op.get_bind()
    select = sa.text(
        "SELECT id, raw FROM newsdesk.documents WHERE raw_encoding = 'zstd' AND id > :after ORDER BY id LIMIT 1000"
    )
    update = sa.text("UPDATE newsdesk.documents SET raw = :raw, raw_encoding = 'identity' WHERE id = :id")
    decompressor = zstandard.ZstdDecompressor()
    after = 0
    while rows := conn.execute(select, {"after": after}).all():
        conn.execute(update, [{"id": row.id, "raw": decompressor.decompress(bytes(row.raw))} for row in rows])
        after = rows[-1].id
    op.execute("ALTER TABLE newsdesk.documents ALTER COLUMN raw SET STORAGE extended")
    op.execute("ALTER TABLE newsdesk.documents DROP COLUMN raw_encoding")
    op.execute(_comment("raw", "The bytes as read; PostgreSQL compresses them (TOAST)."))
