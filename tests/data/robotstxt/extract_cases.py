"""Extract the user-agent cases of Google's robots.txt tests into cases.json.

Run by hand against a checkout of github.com/google/robotstxt:

    python tests/data/robotstxt/extract_cases.py path/to/robots_test.cc > tests/data/robotstxt/cases.json

Every `EXPECT_TRUE/EXPECT_FALSE(IsUserAgentAllowed(robotstxt, agent, url))`
whose three arguments are string literals, or variables defined from string
literals in the same test, becomes one case: {test, robotstxt, agent, url,
allowed}. Cases built at run time (absl::StrCat/StrAppend, long lines) are
counted in `skipped`. Only data leaves Google's file; its code stays there.
"""

from __future__ import annotations

import json
import re
import sys

TOKEN = re.compile(
    r'(?P<str>"(?:\\.|[^"\\])*")|(?P<comment>//[^\n]*|/\*.*?\*/)|(?P<id>[A-Za-z_:][A-Za-z0-9_:]*)|(?P<ws>\s+)|(?P<p>.)',
    re.S,
)
ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|.)")
SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0"}


def unescape(literal: str) -> bytes:
    out = bytearray()
    body = literal[1:-1]
    pos = 0
    for match in ESCAPE.finditer(body):
        out += body[pos : match.start()].encode("utf-8")
        code = match.group(1)
        if code[0] == "x":
            out.append(int(code[1:], 16))
        elif code[0] in "01234567":
            out.append(int(code, 8))
        else:
            out += SIMPLE[code].encode()
        pos = match.end()
    out += body[pos:].encode("utf-8")
    return bytes(out)


def tokens(source: str) -> list[tuple[str, str]]:
    found = []
    for match in TOKEN.finditer(source):
        kind = match.lastgroup
        if kind in ("ws", "comment"):
            continue
        found.append((kind, match.group()))
    return found


def value(toks: list[tuple[str, str]], variables: dict[str, bytes | None]) -> bytes | None:
    """A literal concatenation or one variable; None for anything computed."""
    if toks and all(kind == "str" for kind, _ in toks):
        return b"".join(unescape(text) for _, text in toks)
    if len(toks) == 1 and toks[0][0] == "id":
        return variables.get(toks[0][1])
    return None


def split_args(toks: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    args, depth, current = [], 0, []
    for tok in toks:
        if tok[1] in "([{" and tok[0] == "p":
            depth += 1
        elif tok[1] in ")]}" and tok[0] == "p":
            depth -= 1
        if depth == 0 and tok == ("p", ","):
            args.append(current)
            current = []
        else:
            current.append(tok)
    args.append(current)
    return args


def main(path: str) -> None:
    with open(path, encoding="utf-8") as source:
        toks = tokens(source.read())
    cases, skipped, test = [], 0, ""
    variables: dict[str, bytes | None] = {}
    i = 0
    while i < len(toks):
        kind, text = toks[i]
        if text == "TEST" and toks[i + 1] == ("p", "("):
            test = toks[i + 4][1]
            variables = {}
        elif (
            kind == "id"
            and toks[i + 1][0] == "id"
            and toks[i + 2] == ("p", "=")
            and text.endswith(("string_view", "string"))
        ):
            end = i + 3
            while toks[end] != ("p", ";"):
                end += 1
            variables[toks[i + 1][1]] = value(toks[i + 3 : end], variables)
            i = end
        elif kind == "id" and toks[i + 1][0] == "id" and toks[i + 2] == ("p", "[") and text == "char":
            end = i + 6  # static const char NAME[] = "..." ...;
            while toks[end] != ("p", ";"):
                end += 1
            variables[toks[i + 1][1]] = value(toks[i + 5 : end], variables)
            i = end
        elif text in ("EXPECT_TRUE", "EXPECT_FALSE") and toks[i + 2] == ("id", "IsUserAgentAllowed"):
            start = i + 4
            end, depth = start, 1
            while depth:
                if toks[end] == ("p", "("):
                    depth += 1
                elif toks[end] == ("p", ")"):
                    depth -= 1
                end += 1
            args = [value(arg, variables) for arg in split_args(toks[start : end - 1])]
            if len(args) == 3 and all(arg is not None for arg in args):
                robotstxt, agent, url = args
                cases.append(
                    {
                        "test": test,
                        "robotstxt": robotstxt.decode("utf-8", errors="surrogateescape"),
                        "agent": agent.decode("utf-8"),
                        "url": url.decode("utf-8"),
                        "allowed": text == "EXPECT_TRUE",
                    }
                )
            else:
                skipped += 1
            i = end
        i += 1
    json.dump(
        {"source": "https://github.com/google/robotstxt robots_test.cc", "skipped": skipped, "cases": cases},
        sys.stdout,
        indent=1,
        ensure_ascii=True,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
