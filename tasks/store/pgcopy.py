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
    driver = conn.connection.driver_connection
    assert driver is not None  # a live connection always has its psycopg connection
    cursor = driver.cursor()
    with cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types([pg_type for _, pg_type in columns])
        for row in rows:
            copy.write_row(row)


def number_array(values) -> str:
    """A PostgreSQL array literal of integers (or ISO dates), to pass as one text
    parameter and CAST in SQL: psycopg adapts a Python list element by element,
    in Python, which for the ~30,000 keys of a batch costs more than the query."""
    return "{" + ",".join(map(str, values)) + "}"
