"""robots.txt read as RFC 9309 says, through Protego. Pure: bytes in, rules out.

Protego (Scrapy's parser) reads the rules and matches paths; before it sees
a file, newsdesk rewrites the file so that the parts Protego reads otherwise
than RFC 9309 come out right:

- a UTF-8 byte order mark, whole or cut short as Google tolerates it, is
  dropped (else the first line, often `User-agent: *`, is lost with its group);
- only the lines a group is made of (`User-agent`, `Allow`, `Disallow`,
  `Crawl-delay`) are kept: any other line (`Sitemap`, a typo, an extension)
  must not end a group (section 2.2.4), and in Protego an unknown one did;
- a group applies to newsdesk only when its `User-agent` value (up to its
  first space, as Google reads `Googlebot Images`) equals the product token
  case-insensitively (section 2.2.1), or is `*`; the value of every other
  group is replaced by one that matches nothing, since Protego matches a
  value found at the start of the name it is given (`news` in `newsdesk`).

The choice of parser, and the test cases behind it (Google's, from its
reference parser), are in docs/decisions.md.
"""

from __future__ import annotations

import re

from protego import Protego

# RFC 9309, 2.2.1: a product token is letters, "_" and "-".
_PRODUCT_TOKEN = re.compile(r"[A-Za-z_-]+")
# A line's field and value: `field: value`, or `field value` for the group
# lines written without their colon (Google reads `disallow /` as meant).
_LINE = re.compile(
    r"\s*(?P<field>user-?agent|user agent|allow|disallow|crawl-delay)\s*(?::|\s)\s*(?P<value>.*)$", re.IGNORECASE
)
_FIELDS = {"user-agent": "User-agent", "useragent": "User-agent", "user agent": "User-agent"}
# A group value that no product token equals (a token has no spaces or dots).
_OTHER_AGENT = "other.agents"
# A UTF-8 byte order mark, or its first two or one bytes (RFC 9309 readers
# such as Google's skip each).
_BOMS = (b"\xef\xbb\xbf", b"\xef\xbb", b"\xef")


def product_token(user_agent: str) -> str:
    """The product token robots.txt groups are matched against: the leading
    letters, `_` and `-` of the User-Agent (`newsdesk` of `newsdesk/1.2 (…)`)."""
    match = _PRODUCT_TOKEN.match(user_agent.strip())
    return match.group() if match else user_agent.strip()


def group_lines(text: str, token: str) -> str:
    """The file as Protego should read it for `token` (see the module docstring)."""
    token = token.lower()
    kept = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0]
        match = _LINE.match(line)
        if match is None:
            continue
        field = match.group("field").lower()
        value = match.group("value").strip()
        if field in _FIELDS:
            agent = value.split(None, 1)[0] if value else ""
            if agent != "*" and agent.lower() != token:
                agent = _OTHER_AGENT
            kept.append(f"User-agent: {agent}")
        else:
            kept.append(f"{field}: {value}")
    return "\n".join(kept) + "\n"


def decode(body: bytes) -> str:
    """A robots.txt's text: UTF-8 (RFC 9309, 2.3), a byte order mark dropped,
    what does not decode replaced (it matches no URL)."""
    for bom in _BOMS:
        if body.startswith(bom):
            body = body[len(bom) :]
            break
    return body.decode("utf-8", errors="replace")


class Rules:
    """A site's robots.txt as it applies to one product token."""

    def __init__(self, body: bytes | str, token: str):
        text = decode(body) if isinstance(body, bytes) else body
        self.token = token
        self._parsed = Protego.parse(group_lines(text, token))

    def allowed(self, url: str) -> bool:
        """Whether the product token may fetch `url`."""
        return self._parsed.can_fetch(url, self.token)

    def crawl_delay(self) -> float | None:
        """The group's Crawl-delay, in seconds, if it gives one."""
        delay = self._parsed.crawl_delay(self.token)
        return float(delay) if delay is not None else None


def disallow_all(token: str) -> Rules:
    """Rules that allow nothing (a robots.txt that exists but cannot be read)."""
    return Rules("User-agent: *\nDisallow: /\n", token)
