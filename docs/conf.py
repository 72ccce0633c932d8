# Sphinx configuration of the netplumb.linux docs site (make docs).
#
# make docs copies docs/ into .build/docs/src, generates the module, plugin
# and role reference there with antsibull-docs (reference/), and builds HTML
# into .build/docs/html with warnings as errors. Nothing here needs the
# network: no intersphinx, the theme ships its assets.
# pylint: disable=invalid-name

project = "netplumb.linux"
author = "netplumb contributors"
copyright = "netplumb contributors, GPL-3.0-or-later"  # noqa: A001  pylint: disable=redefined-builtin

extensions = [
    "myst_parser",  # the .md pages
    "sphinx_antsibull_ext",  # directives and roles of the generated reference
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "README.md"]
# Smart quotes, but no smart dashes: "--diff" and "--check" stay two hyphens
# (docutils' default "qDe" would make them an en dash).
smartquotes_action = "qe"
# Links to "#a-heading" inside and across the .md pages.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

html_theme = "sphinx_ansible_theme"
html_title = "netplumb.linux"
html_short_title = "netplumb.linux"
html_show_sphinx = False
html_theme_options = {
    "collapse_navigation": False,
    "navigation_depth": 3,
    # The theme's default top bar and side links point at Ansible's own sites.
    "topbar_links": {"Ansible documentation": "https://docs.ansible.com/"},
    "show_extranav": False,
    "show_rtd_ethical_ads": False,
    # Replaced on every page by a link relative to that page (see setup below).
    "documentation_home_url": "index.html",
}
html_context = {"display_github": False}
# Tables wider than the page scroll inside their own box instead of being clipped.
html_static_path = ["_static"]
html_css_files = ["netplumb.css"]

pygments_style = "ansible"
highlight_language = "YAML+Jinja"


def _home_link(app, pagename, templatename, context, doctree):  # pylint: disable=unused-argument
    """The theme writes documentation_home_url into the logo's href as it is:
    a fixed "index.html" breaks on pages one directory down (reference/,
    appendix/). Point it at the root document, relative to this page."""
    context["theme_documentation_home_url"] = context["pathto"](app.config.root_doc)


def setup(app):
    app.connect("html-page-context", _home_link)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
