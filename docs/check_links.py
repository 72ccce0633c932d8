# -*- coding: utf-8 -*-
# Copyright: netplumb contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""make docs-check: every internal link and anchor of the built site, offline.

Every .html file under HTML_DIR is parsed (html.parser) once; each one's
anchors are the id of any element and the name of any <a name=...>. Then every
href and src of <a>, <link>, <img> and <script> is checked:
  - a relative URL must resolve to a file inside the site (a URL that names a
    directory means its index.html); its query (Sphinx's "?v=..." on CSS and
    JS) is ignored;
  - a #fragment must be an anchor of the target page (of the page itself for
    "#x"); "#" and "#top" are the top of any page (HTML standard). Fragments
    are checked on .html targets only;
  - a file: URL, an absolute path (the site must work wherever it is served or
    opened from) and a relative URL that climbs out of HTML_DIR are errors;
  - http:, https:, mailto: and other external URLs are not fetched (the check
    runs offline) and are only counted.
Each broken link is printed as "page: href (why)", the page relative to
HTML_DIR, and the exit status is 1; otherwise one line with the counts, exit 0.
A HTML_DIR that is missing or holds no .html file exits 2.

Usage: python docs/check_links.py [HTML_DIR]
"""

from __future__ import absolute_import, division, print_function

import os
import sys
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

# The elements and attributes that are links.
LINK_ATTRS = {
    "a": ("href",),
    "link": ("href",),
    "img": ("src",),
    "script": ("src",),
}
EXTERNAL = "external"  # what check_link returns for a URL it does not check


class _PageParser(HTMLParser):
    """Collects one page's anchors and links (tag, attribute, URL)."""

    def __init__(self):
        HTMLParser.__init__(self, convert_charrefs=True)
        self.anchors = set()
        self.links = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name == "id" or (tag == "a" and name == "name"):
                self.anchors.add(value)
            elif name in LINK_ATTRS.get(tag, ()):
                self.links.append((tag, name, value))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)


def parse_page(path):
    """(anchors, links) of one HTML file."""
    parser = _PageParser()
    with open(path, encoding="utf-8", errors="replace") as handle:
        parser.feed(handle.read())
    parser.close()
    return parser.anchors, parser.links


def html_files(html_dir):
    """Every .html file under html_dir, as absolute paths, sorted."""
    found = []
    for dirpath, dirnames, filenames in os.walk(html_dir):
        dirnames.sort()
        found.extend(os.path.join(dirpath, name) for name in sorted(filenames) if name.endswith(".html"))
    return found


def _inside(path, root):
    return os.path.commonpath([path, root]) == root


def _has_anchor(anchors, fragment):
    """Whether fragment names an anchor of a page, as a browser finds it: the
    fragment as written, then percent-decoded; "" and "top" are the top."""
    if fragment == "" or fragment.lower() == "top":
        return True
    return fragment in anchors or unquote(fragment) in anchors


def check_link(html_dir, page, url, pages):
    """None when url (found on page, an absolute path under html_dir) is fine,
    EXTERNAL when it is not checked (offline), else why it is broken.
    pages maps each HTML file's absolute path to its set of anchors."""
    parts = urlsplit(url.strip())
    if parts.scheme == "file":
        return "a file: URL, it leaves the site"
    if parts.scheme or parts.netloc:
        # http:, https:, mailto:, //host/...: not fetched, the check is offline.
        return EXTERNAL
    if parts.path.startswith("/"):
        return "an absolute path, it leaves the site"
    if parts.path:
        target = os.path.normpath(os.path.join(os.path.dirname(page), unquote(parts.path)))
    else:
        target = page  # "#x" or "?q" alone: this page
    if not _inside(target, html_dir):
        return "leaves the site"
    if os.path.isdir(target):
        target = os.path.join(target, "index.html")
    if not os.path.isfile(target):
        return "no such file: %s" % os.path.relpath(target, html_dir)
    if parts.fragment and target in pages and not _has_anchor(pages[target], parts.fragment):
        if target == page:
            return "no anchor #%s on this page" % parts.fragment
        return "no anchor #%s in %s" % (parts.fragment, os.path.relpath(target, html_dir))
    return None


def check_site(html_dir):
    """(pages, links checked, external links, problems) of the site in
    html_dir; each problem is "page: href (why)"."""
    html_dir = os.path.abspath(html_dir)
    files = html_files(html_dir)
    parsed = {path: parse_page(path) for path in files}
    pages = {path: anchors for path, (anchors, _links) in parsed.items()}
    checked = external = 0
    problems = []
    for path in files:
        for _tag, _attr, url in parsed[path][1]:
            why = check_link(html_dir, path, url, pages)
            if why == EXTERNAL:
                external += 1
                continue
            checked += 1
            if why:
                problems.append("%s: %s (%s)" % (os.path.relpath(path, html_dir), url, why))
    return len(files), checked, external, problems


def main(argv):
    html_dir = argv[1] if len(argv) > 1 else ".build/docs/html"
    if not os.path.isdir(html_dir):
        print("check_links: %s is not a directory (run make docs first)" % html_dir, file=sys.stderr)
        return 2
    count, checked, external, problems = check_site(html_dir)
    if not count:
        print("check_links: no .html files under %s" % html_dir, file=sys.stderr)
        return 2
    if problems:
        print("\n".join(problems))
        print("check_links: %d broken links in %d pages (%d links checked)" % (len(problems), count, checked))
        return 1
    print("check_links: %d pages, %d links checked (%d external, not fetched)" % (count, checked, external))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
