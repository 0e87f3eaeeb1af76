"""Bulk inserts with binary COPY: one round trip per batch, not per row."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Connection


def copy_rows(conn: Connection, table: str, columns: Sequence[tuple[str, str]], rows: list[tuple]) -> None:
    """`columns` are (name, PostgreSQL type) pairs: binary COPY sends raw bytes as
    they are, where text COPY would hex-escape them."""
    if not rows:
        return
    names = ", ".join(name for name, _ in columns)
    cursor = conn.connection.driver_connection.cursor()
    with cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types([pg_type for _, pg_type in columns])
        for row in rows:
            copy.write_row(row)
