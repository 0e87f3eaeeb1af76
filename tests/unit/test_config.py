"""Settings from the environment: defaults, and a clear error for a bad value."""

import pytest

from newsdesk.config import DEFAULT_BATCH_SIZE, Settings
from newsdesk.tasks.web.fetch import FetchSettings


def test_defaults():
    settings = Settings.from_env({})
    assert (settings.database_url, settings.batch_size, settings.per_host) == (None, DEFAULT_BATCH_SIZE, 2)
    assert FetchSettings.from_settings(settings).user_agent.startswith("newsdesk/")


def test_values_and_fetch_settings():
    settings = Settings.from_env(
        {"NEWSDESK_HOST_DELAY": "0", "NEWSDESK_USER_AGENT": "ua/1", "NEWSDESK_FETCH_TIMEOUT": "5"}
    )
    fetch = FetchSettings.from_settings(settings)
    assert (fetch.host_delay, fetch.user_agent, fetch.read_timeout, fetch.connect_timeout) == (0.0, "ua/1", 5.0, 5.0)


@pytest.mark.parametrize(
    "env, message",
    [
        ({"NEWSDESK_BATCH_SIZE": "0"}, "NEWSDESK_BATCH_SIZE must be positive"),
        ({"NEWSDESK_BATCH_SIZE": "many"}, "NEWSDESK_BATCH_SIZE must be a whole number"),
        ({"NEWSDESK_HOST_DELAY": "-1"}, "NEWSDESK_HOST_DELAY must be zero or more"),
        ({"NEWSDESK_FILE_CHECK": "mtime"}, "NEWSDESK_FILE_CHECK must be one of stat, content"),
    ],
)
def test_bad_values_say_which_setting(env, message):
    with pytest.raises(ValueError, match=message):
        Settings.from_env(env)
