"""sources.toml: validation with clear errors, and file discovery."""

import pytest

from tasks.sources import SourceError, discover_files, load_sources


def write(tmp_path, text):
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_all_kinds_parse(tmp_path):
    sources = load_sources(write(tmp_path, """
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
"""))
    assert [s.kind for s in sources] == ["files", "page", "feed", "sitemap"]
    assert sources[0].path == str((tmp_path / "articles").resolve())
    assert sources[0].include == "**/*.md"
    assert sources[1].urls == ("https://example.org/a",)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "no [[source]] tables"),
        ("[[source]]\nkind = 'files'\npath = '.'", "needs a name"),
        ("[[source]]\nname = 'a'\nkind = 'ftp'", "kind must be one of"),
        ("[[source]]\nname = 'a'\nkind = 'files'", "needs a path"),
        ("[[source]]\nname = 'a'\nkind = 'page'\nurls = 'x'", "needs urls"),
        ("[[source]]\nname = 'a'\nkind = 'feed'", "needs a url"),
        ("[[source]]\nname = 'a'\nkind = 'files'\npath = '.'\n[[source]]\nname = 'a'\nkind = 'files'\npath = '.'", "unique"),
        ("[[source]\nname = ", "not valid TOML"),
    ],
)
def test_invalid_files_say_what_is_wrong(tmp_path, text, message):
    with pytest.raises(SourceError, match=message.replace("[", r"\[")):
        load_sources(write(tmp_path, text))


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
