"""Expected failures as one line each, with the exit code the command ends with.

A command that fails for a reason the user can fix (a bad setting, a sources
file, a database that cannot be reached) prints one line saying what to check
and exits with its code; a traceback is only for `--debug` and real bugs.
"""

from __future__ import annotations

import re

from newsdesk.tasks.sources import SourceError

OK = 0
FAILED = 1  # the run or the command failed (a failed run, a failing source, a rejected file)
USAGE = 2  # bad configuration or usage: settings, sources file, options
DATABASE = 3  # the database cannot be reached or refuses us

EXIT_CODES = f"""exit codes:
  {OK}  done
  {FAILED}  the run or command failed (items failed, a source failing, a file rejected)
  {USAGE}  bad configuration or usage (a NEWSDESK_* setting, DATABASE_URL, the sources file, an option)
  {DATABASE}  PostgreSQL cannot be reached or refused the connection
  run with `newsdesk --debug COMMAND` to see the traceback of an error"""


class Expected(Exception):
    """A failure the user can fix: its lines are the whole message."""

    def __init__(self, code: int, *lines: str) -> None:
        super().__init__("\n".join(lines))
        self.code = code
        self.lines = list(lines)


def explain(exc: BaseException, *, database: str) -> Expected | None:
    """`exc` as one line with its exit code, when it is an expected failure;
    `database` names where newsdesk was connecting (URL masked, or the embedded server)."""
    for cause in _chain(exc):
        if isinstance(cause, Expected):
            return cause
        if isinstance(cause, SourceError):
            return Expected(USAGE, *cause.problems)
        if _is_connection_error(cause):
            return Expected(DATABASE, database_problem(str(cause), database))
    return None


def database_problem(message: str, database: str) -> str:
    """One line for a connection PostgreSQL refused or that never got there."""
    text = " ".join(message.split())
    fixes = [
        (r'role "([^"]+)" does not exist', "role {0!r} does not exist: create it, or fix the user in DATABASE_URL"),
        (r'password authentication failed for user "([^"]+)"', "wrong password for user {0!r}: fix DATABASE_URL"),
        (
            r'database "([^"]+)" does not exist',
            "database {0!r} does not exist: create it (createdb), or fix DATABASE_URL",
        ),
        (r"no password supplied", "the server wants a password: put it in DATABASE_URL or ~/.pgpass"),
        (r"Connection refused", "connection refused: is PostgreSQL running there, on that port?"),
        (r"could not translate host name \"([^\"]+)\"", "unknown host {0!r}: fix the host in DATABASE_URL"),
        (r"No such file or directory", "no server on that socket: is PostgreSQL running?"),
        (r"timeout expired|timed out", "no answer (timed out): is the host reachable, the port open?"),
        (r"too many connections|remaining connection slots", "the server has no connection slots left"),
    ]
    for pattern, fix in fixes:
        found = re.search(pattern, text)
        if found:
            reason = fix.format(*found.groups())
            break
    else:
        found = re.search(r"FATAL:\s*(.*)", text)
        reason = found.group(1) if found else text[:200]
    return f"cannot connect to PostgreSQL ({database}): {reason}"


def _is_connection_error(exc: BaseException) -> bool:
    import psycopg
    import sqlalchemy.exc

    if isinstance(exc, sqlalchemy.exc.OperationalError):
        return "connection" in str(exc).lower() or exc.connection_invalidated
    return isinstance(exc, psycopg.OperationalError) and "connection" in str(exc).lower()


def _chain(exc: BaseException):
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [current.__cause__, current.__context__, getattr(current, "orig", None)]
