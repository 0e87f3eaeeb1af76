"""The temporary Prefect server a run starts when PREFECT_API_URL is unset:
how long it may take to start, and what to say when it did not.

Prefect gives it 20 s by default. On a busy machine (a load of 16 on two
cores) its start-up (imports, migrations, services) takes longer, and a run
would fail before it began; newsdesk gives it `STARTUP_SECONDS` unless
PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS says otherwise.
"""

from __future__ import annotations

import os

STARTUP_SETTING = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
STARTUP_SECONDS = 180
# How Prefect 3.8's SubprocessASGIServer.start says the budget was spent.
_TIMED_OUT = "Timed out while attempting to connect to ephemeral Prefect API server"


def allow_slow_startup(environ: dict[str, str] | None = None) -> None:
    """Give the temporary server `STARTUP_SECONDS` unless the operator chose a budget."""
    env = os.environ if environ is None else environ
    env.setdefault(STARTUP_SETTING, str(STARTUP_SECONDS))


def startup_failure(exc: BaseException) -> str | None:
    """One line for an error that is the temporary server not starting in
    time; None for any other error."""
    if not (isinstance(exc, RuntimeError) and str(exc).startswith(_TIMED_OUT)):
        return None
    budget = os.environ.get(STARTUP_SETTING, "20")
    return (
        f"the temporary Prefect server did not start within {budget} s (is the machine busy?):"
        f" raise {STARTUP_SETTING}, or set PREFECT_API_URL to a running Prefect server"
    )
