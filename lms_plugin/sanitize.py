"""The one sanitiser policy (DESIGN §8): every piece of HTML a person wrote goes through here, and every
cell of a spreadsheet the app writes (``spreadsheet_cell``).

nh3 (ammonia) does the cleaning. bleach is unmaintained since June 2026, so it
is used only for what nh3 lacks, turning pasted URLs in posts into links, and
its output is cleaned by nh3 like everything else.
"""
from __future__ import annotations

import html as _html
from functools import lru_cache

import bleach
import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table",
    "tbody", "td", "th", "thead", "tr", "u", "ul",
})
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})

_markdown = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table")


def clean_html(html: str) -> str:
    """Keep formatting, drop anything that can run script or load content."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


@lru_cache(maxsize=2048)
def render_markdown(text: str) -> str:
    """Markdown (with inline HTML) from scenario files to safe HTML."""
    return clean_html(_markdown.render(text or ""))


def clean_post(text: str) -> str:
    """A discussion post or group report: rich text from the editor, URLs made links."""
    linked = bleach.linkify(text or "", parse_email=False)
    return clean_html(linked)


def to_text(html: str) -> str:
    """Visible text of sanitised HTML, for word counts and similarity."""
    return _html.unescape(nh3.clean(html or "", tags=set(), strip_comments=True))


# What a spreadsheet reads as the start of a formula (or, for tab/CR/LF, lets one through after it);
# full-width = + - @ too, which some spreadsheets in East Asian locales read the same way.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def spreadsheet_cell(value):
    """A cell for CSV, XLSX and zip manifests: text that a spreadsheet would run as a formula gets a leading
    single quote (OWASP, CSV injection), so it shows as text; numbers and empty cells are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
