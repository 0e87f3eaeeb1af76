"""sources.toml: validation with clear errors, and file discovery."""

from pathlib import Path

import pytest

from newsdesk.tasks.files import discover_files, list_files
from newsdesk.tasks.sources import SourceError, load_sources


def write(tmp_path, text):
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_all_kinds_parse(tmp_path):
    sources = load_sources(
        write(
            tmp_path,
            """
[[source]]
name = "local"
kind = "files"
path = "articles"
include = "**/*.md"
[[source]]
name = "pages"
kind = "page"
urls = ["https://example.org/a"]
[[source]]
name = "feed"
kind = "feed"
url = "https://example.org/feed.xml"
[[source]]
name = "map"
kind = "sitemap"
url = "https://example.org/sitemap.xml"
""",
        )
    )
    assert [s.kind for s in sources] == ["files", "page", "feed", "sitemap"]
    assert sources[0].path == str((tmp_path / "articles").resolve())
    assert sources[0].include == "**/*.md"
    assert sources[1].urls == ("https://example.org/a",)


@pytest.mark.parametrize(
    "text, lines",
    [
        ("", ['sources.toml: no [[source]] tables: add one, e.g. [[source]] name = "mine" kind = "files" path = "."']),
        ("[[source]]\nkind = 'files'\npath = '.'", ['sources.toml:1: source #1: a files source needs name = "mine"']),
        (
            "[[source]]\nname = 'a'\nkind = 'feeds'\nurl = 'https://example.org/f'",
            [
                "sources.toml:3: source 'a': kind must be one of files, page, feed, sitemap, got 'feeds' (did you mean 'feed'?)"
            ],
        ),
        ("[[source]]\nname = 'a'", ["sources.toml:1: source 'a': needs a kind: one of files, page, feed, sitemap"]),
        (
            "[[source]]\nname = 'a'\nkinf = 'feed'",
            [
                "sources.toml:1: source 'a': needs a kind: one of files, page, feed, sitemap",
                "sources.toml:3: source 'a': unknown key 'kinf' (did you mean 'kind'?)",
            ],
        ),
        (
            "[[source]]\nname = 'a'\nkind = 'files'\npaht = 'notes'",
            [
                "sources.toml:1: source 'a': a files source needs path = \"articles\" (a folder, relative to the sources file)",
                "sources.toml:4: source 'a': unknown key 'paht' (did you mean 'path'?)",
            ],
        ),
        (
            "[[source]]\nname = 'a'\nkind = 'files'\npath = '.'\nurl = 'https://example.org/'",
            [
                "sources.toml:5: source 'a': 'url' is not used by a files source (it takes name, kind, path, include, follow_links)"
            ],
        ),
        (
            "[[source]]\nname = 'a'\nkind = 'files'\npath = 3",
            ["sources.toml:4: source 'a': path must be a string, got 3"],
        ),
        (
            "[[source]]\nname = 'a'\nkind = 'page'\nurls = 'x'",
            ["sources.toml:4: source 'a': urls must be a list, got 'x'"],
        ),
        (
            "[[source]]\nname = 'a'\nkind = 'page'\nurls = []",
            [
                "sources.toml:4: source 'a': urls must list at least one URL: urls = [\"https://example.org/story.html\"]"
            ],
        ),
        (
            "[[source]]\nname = 'a'\nkind = 'feed'",
            ["sources.toml:1: source 'a': a feed source needs url = \"https://example.org/feed.xml\""],
        ),
        (
            # issue 27, finding 7: a crash in hosts_of, now a line
            "[[source]]\nname = 'p'\nkind = 'page'\nurls = ['http://[::1']",
            ["sources.toml:4: source 'p': urls: 'http://[::1' is not a valid URL (Invalid IPv6 URL)"],
        ),
        (
            "[[source]]\nname = 'a'\nkind = 'feed'\nurl = 'http://example.org:port/f'",
            [
                "sources.toml:4: source 'a': url 'http://example.org:port/f' is not a valid URL"
                " (Port could not be cast to integer value as 'port')"
            ],
        ),
        # issue 27, finding 7: an AttributeError, now a line
        ("source = ['a']", ["sources.toml:1: `source` must be [[source]] tables, one per source"]),
        (
            "[[sources]]\nname = 'a'\nkind = 'files'\npath = '.'",
            ["sources.toml:1: unknown [[sources]] (did you mean [[source]]?)"],
        ),
        (
            # a name that would forge lines in tables and logs
            "[[source]]\nname = \"a\\nb\"\nkind = 'files'\npath = '.'",
            ["sources.toml:2: source #1: name must be printable, got 'a\\nb' (no control characters such as '\\n')"],
        ),
        (
            "[[source]]\nname = 'a'\nkind = 'files'\npath = '.'\n\n[[source]]\nname = 'a'\nkind = 'files'\npath = '.'",
            ["sources.toml:6: source name 'a' repeated (first at line 1): names must be unique"],
        ),
        (
            '[[source]]\nname = "a\nkind = "files"',
            ["sources.toml:2: not valid TOML: Illegal character '\\n' (column 10)"],
        ),
    ],
)
def test_invalid_files_say_what_is_wrong_line_by_line(tmp_path, text, lines):
    with pytest.raises(SourceError) as raised:
        load_sources(write(tmp_path, text))
    assert [line.replace(f"{tmp_path}/", "") for line in raised.value.problems] == lines


def test_every_problem_is_found_at_once(tmp_path):
    text = "[[source]]\nname = 'a'\nkind = 'feeds'\n[[source]]\nname = 'b'\nkind = 'files'\npaht = 'x'\n"
    with pytest.raises(SourceError) as raised:
        load_sources(write(tmp_path, text))
    assert len(raised.value.problems) == 3
    assert str(raised.value) == "\n".join(raised.value.problems)


def test_a_missing_sources_file(tmp_path):
    with pytest.raises(SourceError, match="not found"):
        load_sources(tmp_path / "nope.toml")


def test_discovery_is_sorted_skips_hidden_and_unsupported_by_default(tmp_path):
    for name in ["b.txt", "a.md", "sub/c.html", ".hidden.txt", ".git/x.txt", "image.png", "notes.htm"]:
        path = tmp_path / "articles" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    [source] = load_sources(write(tmp_path, "[[source]]\nname = 'l'\nkind = 'files'\npath = 'articles'"))
    found = [p.rsplit("articles/", 1)[1] for p in discover_files(source)]
    assert found == ["a.md", "b.txt", "notes.htm", "sub/c.html"]


def test_an_include_glob_yields_every_match(tmp_path):
    (tmp_path / "in").mkdir()
    for name in ["a.txt", "b.pdf", "c.md"]:
        (tmp_path / "in" / name).write_text("x")
    [source] = load_sources(write(tmp_path, "[[source]]\nname = 'l'\nkind = 'files'\npath = 'in'\ninclude = '*.[tp]*'"))
    assert [p.rsplit("/", 1)[1] for p in discover_files(source)] == ["a.txt", "b.pdf"]


def test_a_missing_folder(tmp_path):
    [source] = load_sources(write(tmp_path, "[[source]]\nname = 'l'\nkind = 'files'\npath = 'gone'"))
    with pytest.raises(SourceError, match="folder not found"):
        list(discover_files(source))


@pytest.mark.parametrize(
    "include", [None, "*.txt", "**/*.txt", "**/*", "sub/*", "sub/**/*.md", "*/*", "**/deep/*", "[ab]*"]
)
def test_listing_streams_in_the_order_and_with_the_matches_of_pathlib_glob(tmp_path, include):
    names = [
        "b.txt",
        "a.md",
        "a.txt",
        "sub/c.txt",
        "sub/x/deep/d.md",
        "sub/deep/e.txt",
        "sub.txt",
        "z/deep/f.html",
        "B.txt",
        "sub/.hid/g.txt",
        "h.pdf",
    ]
    root = tmp_path / "in"
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    line = f"\ninclude = '{include}'" if include else ""
    [source] = load_sources(write(tmp_path, f"[[source]]\nname = 'l'\nkind = 'files'\npath = 'in'{line}"))
    expected = [
        str(p)
        for p in sorted(root.glob(include or "**/*"))
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
        and (include or p.suffix in (".txt", ".md", ".html"))
    ]
    listed = list(list_files(source))
    assert [entry.path for entry in listed] == expected
    assert all(entry.size == len(Path(entry.path).relative_to(root).as_posix()) for entry in listed)


def test_listing_is_lazy_one_folder_at_a_time(tmp_path):
    root = tmp_path / "in"
    for folder in ("a", "b"):
        (root / folder).mkdir(parents=True)
        (root / folder / "1.txt").write_text("x")
    [source] = load_sources(write(tmp_path, "[[source]]\nname = 'l'\nkind = 'files'\npath = 'in'"))
    listing = list_files(source)
    assert next(listing).path.endswith("a/1.txt")
    (root / "b" / "2.txt").write_text("added after the walk began")  # folder b is not read yet
    assert [e.path.rsplit("/", 2)[-2:] for e in listing] == [["b", "1.txt"], ["b", "2.txt"]]
