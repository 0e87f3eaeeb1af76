"""One file from path to a `Prepared` record (or the `Problem` that stopped it)."""

from __future__ import annotations

from tasks.acquire import declared_charset, decode, read_document
from tasks.clean import clean_document
from tasks.fingerprint import body_hash
from tasks.records import Prepared, Problem, Rejected


def prepare_file(path: str, *, max_bytes: int) -> Prepared | Problem:
    stage = "acquire"
    try:
        document = read_document(path, max_bytes=max_bytes)
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
