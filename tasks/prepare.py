"""One file from path to a `Prepared` record (or the `Problem` that stopped it)."""

from __future__ import annotations

from tasks.acquire import declared_charset, decode, read_document
from tasks.clean import clean_document
from tasks.fingerprint import body_hash
from tasks.records import Prepared, Problem, Rejected, Unchanged


def prepare_file(path: str, *, max_bytes: int, stored_sha256: str | None = None) -> Prepared | Problem | Unchanged:
    """`stored_sha256` is the hash of the locator's current stored version, if
    any: the same bytes again need no cleaning (a rerun costs a read and a hash)."""
    stage = "acquire"
    try:
        document = read_document(path, max_bytes=max_bytes)
        if document.sha256 == stored_sha256:
            return Unchanged(path)
        stage = "decode"
        text, encoding = decode(document.raw, declared=declared_charset(document.raw, document.media_type))
        stage = "clean"
        article = clean_document(text, document.media_type)
        return Prepared(document=document, encoding=encoding, article=article, body_hash=body_hash(article.body))
    except Rejected as rejected:
        return Problem(path, "rejected", rejected.stage, rejected.reason)
    except RecursionError:
        return Problem(path, "rejected", stage, "document nested too deeply to parse")
    except Exception as exc:  # a bug or a library failure: this item fails, the batch goes on
        return Problem(path, "failed", stage, f"{type(exc).__name__}: {exc}")
