"""The page that warms an extraction worker goes all the way through `prepare`
(a forkserver ignores a preload that fails, so a broken one would go unseen)."""

from __future__ import annotations

import sys

from newsdesk.tasks.records import Prepared
from newsdesk.tasks.web.pages import WARM_MODULE


def test_the_warming_page_is_prepared_as_an_article():
    from newsdesk.tasks.extract import warm

    assert WARM_MODULE in sys.modules
    prepared = warm.warm()
    assert isinstance(prepared, Prepared), prepared
    assert prepared.article.title == "Ferry service extended"
    assert prepared.article.language == "en"
    assert "harbour ferry" in prepared.article.body
