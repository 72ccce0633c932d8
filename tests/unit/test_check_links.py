"""docs/check_links.py, the link and anchor check of the built docs site (make docs-check),
on tiny fake sites in tmp_path. No Sphinx, no network, no root."""

import importlib.util
import os

import pytest

CHECKER = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "docs", "check_links.py")


def _load_checker():
    # docs/ is not a package: load the script by its path.
    spec = importlib.util.spec_from_file_location("netplumb_docs_check_links", CHECKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check_links = _load_checker()

GOOD = {
    "index.html": '<html><head><link rel="stylesheet" href="_static/site.css?v=1a2b">'
                  '<script src="_static/site.js"></script></head><body>'
                  '<h1 id="top-title">Home</h1>'
                  '<a href="guide.html">guide</a> <a href="guide.html#install">install</a>'
                  ' <a href="#top-title">here</a> <a href="#">top</a> <a href="">self</a>'
                  ' <a href="reference/">reference</a> <a href="reference/mod.html#old-name">named anchor</a>'
                  ' <img src="_images/plot.png" alt="plot">'
                  ' <a href="https://example.com/missing.html#nowhere">external</a>'
                  ' <a href="mailto:someone@example.com">mail</a> <a href="//example.com/x">no scheme</a>'
                  '</body></html>',
    "guide.html": '<html><body><section id="install"><h2>Install</h2></section>'
                  '<a href="index.html#top-title">home</a> <a href="guide.html?highlight=x#install">again</a>'
                  '</body></html>',
    "reference/index.html": '<html><body><a href="../index.html">up</a> <a href="mod.html">mod</a>'
                            ' <a href="./../guide.html#install">guide</a></body></html>',
    "reference/mod.html": '<html><body><a name="old-name"></a><span id="a%20b">x</span>'
                          '<a href="#a%20b">as written</a> <a href="../_static/site.css">css</a>'
                          '<br/></body></html>',
    "_static/site.css": "body {}\n",
    "_static/site.js": "\n",
    "_images/plot.png": "not really a png\n",
}


def _site(root, files):
    for name, text in files.items():
        path = root.joinpath(*name.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return str(root)


def _with(extra_html_on_page, page="reference/mod.html"):
    """GOOD with extra_html appended to the body of page."""
    files = dict(GOOD)
    files[page] = files[page].replace("</body>", extra_html_on_page + "</body>")
    return files


def test_a_good_site_passes_and_counts_its_links(tmp_path, capsys):
    html_dir = _site(tmp_path / "html", GOOD)
    pages, checked, external, problems = check_links.check_site(html_dir)
    assert problems == []
    assert (pages, checked, external) == (4, 17, 3)
    assert check_links.main(["check_links.py", html_dir]) == 0
    assert capsys.readouterr().out == "check_links: 4 pages, 17 links checked (3 external, not fetched)\n"


@pytest.mark.parametrize("extra, page, problem", [
    ('<a href="../gone.html">gone</a>', "reference/mod.html",
     "reference/mod.html: ../gone.html (no such file: gone.html)"),
    ('<img src="_images/none.png">', "index.html",
     "index.html: _images/none.png (no such file: _images/none.png)"),
    ('<script src="../_static/none.js"></script>', "reference/index.html",
     "reference/index.html: ../_static/none.js (no such file: _static/none.js)"),
    ('<a href="empty/">a directory without index.html</a>', "index.html",
     "index.html: empty/ (no such file: empty/index.html)"),
    ('<a href="../guide.html#uninstall">x</a>', "reference/mod.html",
     "reference/mod.html: ../guide.html#uninstall (no anchor #uninstall in guide.html)"),
    ('<a href="reference/#old-name">x</a>', "index.html",
     "index.html: reference/#old-name (no anchor #old-name in reference/index.html)"),
    ('<a href="#nowhere">x</a>', "guide.html",
     "guide.html: #nowhere (no anchor #nowhere on this page)"),
    ('<a href="mod.html#missing">x</a>', "reference/mod.html",
     "reference/mod.html: mod.html#missing (no anchor #missing on this page)"),
    ('<a href="../../outside.html">x</a>', "reference/mod.html",
     "reference/mod.html: ../../outside.html (leaves the site)"),
    ('<link rel="stylesheet" href="/etc/site.css">', "index.html",
     "index.html: /etc/site.css (an absolute path, it leaves the site)"),
    ('<a href="file:///etc/passwd">x</a>', "guide.html",
     "guide.html: file:///etc/passwd (a file: URL, it leaves the site)"),
])
def test_a_broken_link_fails_naming_its_page(tmp_path, capsys, extra, page, problem):
    files = _with(extra, page)
    if "empty/" in extra:
        files["empty/notes.txt"] = "no index here\n"
    html_dir = _site(tmp_path / "html", files)
    (tmp_path / "outside.html").write_text("<html></html>", encoding="utf-8")
    assert check_links.check_site(html_dir)[3] == [problem]
    assert check_links.main(["check_links.py", html_dir]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == problem
    assert out[1].startswith("check_links: 1 broken links in 4 pages")


def test_every_broken_link_is_reported_not_just_the_first(tmp_path):
    files = _with('<a href="../gone.html">x</a><a href="#nowhere">y</a>')
    files["index.html"] = files["index.html"].replace("</body>", '<a href="guide.html#nope">z</a></body>')
    problems = check_links.check_site(_site(tmp_path / "html", files))[3]
    assert sorted(problems) == ["index.html: guide.html#nope (no anchor #nope in guide.html)",
                                "reference/mod.html: #nowhere (no anchor #nowhere on this page)",
                                "reference/mod.html: ../gone.html (no such file: gone.html)"]


def test_an_empty_or_missing_directory_fails(tmp_path):
    assert check_links.main(["check_links.py", str(tmp_path / "nothing")]) != 0
    (tmp_path / "empty").mkdir()
    assert check_links.main(["check_links.py", str(tmp_path / "empty")]) != 0
