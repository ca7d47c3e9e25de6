"""The one sanitiser policy (lms_plugin.sanitize) against XSS vectors in the OWASP cheat-sheet style.

Every vector, if it ever ran, would set ``window.__xss`` and open an alert;
tests/e2e/test_xss.py posts the same corpus and watches a real browser.
"""
from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest

from lms_plugin.sanitize import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    URL_SCHEMES,
    clean_html,
    clean_post,
    render_markdown,
    to_text,
)

JS = "window.__xss=1;alert(1)"
XSS_VECTORS = [
    # script elements, plain and disguised
    f"<script>{JS}</script>",
    "<SCRIPT SRC=//xss.invalid/x.js></SCRIPT>",
    f"<ScRiPt>{JS}</sCrIpT>",
    f"<<script>script>{JS}//<</script>/script>",
    f"<scr<script>ipt>{JS}</script>",
    f'<script type="text/javascript">{JS}</script',
    f"<template><script>{JS}</script></template>",
    f"<noscript><p title=\"</noscript><img src=x onerror={JS}>\">",
    # event handlers
    f'<img src=x onerror="{JS}">',
    f"<img src=x onerror={JS}//",
    f"<svg/onload={JS}>",
    f'<svg onload="{JS}"></svg>',
    f'<body onload="{JS}">',
    f'<input autofocus onfocus="{JS}">',
    f'<details open ontoggle="{JS}"><summary>x</summary></details>',
    f'<video><source onerror="{JS}"></video>',
    f'<audio src=x onerror="{JS}"></audio>',
    f'<marquee onstart="{JS}">chạy</marquee>',
    f'<b onmouseover="{JS}">đậm</b>',
    f'<a href="https://example.com" onclick="{JS}">liên kết</a>',
    f'<p style="x" onpointerenter="{JS}">đoạn</p>',
    f'<table onmouseover="{JS}"><tr><td onclick="{JS}">ô</td></tr></table>',
    f'<x-widget onclick="{JS}">tự định nghĩa</x-widget>',
    # javascript:, data:, vbscript: URLs, with encodings
    "<a href=\"javascript:window.__xss=1\">bấm</a>",
    "<a href=\"JaVaScRiPt:window.__xss=1\">bấm</a>",
    "<a href=\" javascript:window.__xss=1\">bấm</a>",
    "<a href=\"jav&#x09;ascript:window.__xss=1\">bấm</a>",
    "<a href=\"jav&#10;ascript:window.__xss=1\">bấm</a>",
    "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;window.__xss=1\">bấm</a>",
    "<a href=\"&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;window.__xss=1\">bấm</a>",
    "<a href=\"" + "".join(f"&#{ord(c):07d}" for c in "javascript") + ":window.__xss=1\">b</a>",
    "<a href=\"javascript&colon;window.__xss=1\">bấm</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg==\">bấm</a>",
    "<a href=\"vbscript:msgbox(1)\">bấm</a>",
    "<IMG SRC=\"javascript:window.__xss=1;\">",
    "<img src=`javascript:window.__xss=1`>",
    f"<iframe src=\"javascript:{JS}\"></iframe>",
    f"<iframe srcdoc=\"&lt;script&gt;parent.{JS}&lt;/script&gt;\"></iframe>",
    "<object data=\"javascript:window.__xss=1\"></object>",
    "<embed src=\"data:text/html,<script>parent.window.__xss=1</script>\">",
    "<form action=\"javascript:window.__xss=1\"><button>gửi</button></form>",
    "<button formaction=\"javascript:window.__xss=1\">gửi</button>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:window.__xss=1\">",
    "<base href=\"javascript:window.__xss=1//\">",
    "<link rel=stylesheet href=\"javascript:window.__xss=1\">",
    # SVG and MathML
    f"<svg><script>{JS}</script></svg>",
    f"<svg><animate onbegin=\"{JS}\" attributeName=x dur=1s></svg>",
    "<svg><a xlink:href=\"javascript:window.__xss=1\"><text x=20 y=20>XSS</text></a></svg>",
    f"<svg><foreignObject><img src=x onerror=\"{JS}\"></foreignObject></svg>",
    "<math href=\"javascript:window.__xss=1\">bấm</math>",
    f"<math><mtext><table><mglyph><style><img src=x onerror=\"{JS}\">",
    f"<math><mi xlink:href=\"data:x,<script>{JS}</script>\">x</mi></math>",
    # styles
    "<div style=\"background:url(javascript:window.__xss=1)\">nền</div>",
    "<div style=\"width: expression(window.__xss=1)\">rộng</div>",
    "<p style=\"x:expr/**/ession(window.__xss=1)\">đoạn</p>",
    "<style>@import 'javascript:window.__xss=1';</style>",
    f"<style>*{{background:url(\"javascript:{JS}\")}}</style><p>x</p>",
    # broken, nested and comment tricks
    f"\"><script>{JS}</script>",
    f"'><img src=x onerror={JS}>",
    f"<img \"\"\"><script>{JS}</script>\">",
    f"<!--<img src=\"--><img src=x onerror=\"{JS}//\">",
    f"<![CDATA[<script>{JS}</script>]]>",
    f"<a href=\"https://example.com\"<img src=x onerror={JS}>>liên kết</a>",
    f"<p>đoạn <b>đậm <i>nghiêng</b> <img/src/onerror={JS}></p>",
    f"<div><p title=\"--><script>{JS}</script>\">x</p></div>",
    # text that only looks dangerous stays text
    "&lt;script&gt;window.__xss=1&lt;/script&gt;",
    "%3Cscript%3Ewindow.__xss%3D1%3C%2Fscript%3E",
]

# attributes that carry a URL, per allowed tag
HARMLESS_ANYWHERE = {"rel", "title", "lang"}    # nh3 keeps title/lang on any tag: text, never code
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "background", "poster"}
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):", re.I)
_INVISIBLE = re.compile(r"[\x00-\x20\x7f-\x9f\u200b-\u200d\u2060\ufeff]")


class _Inspector(HTMLParser):
    """Records everything in cleaned HTML that a browser could execute or load."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}>")
        for name, value in attrs:
            if name not in ALLOWED_ATTRIBUTES.get(tag, set()) | HARMLESS_ANYWHERE:
                self.problems.append(f"attribute {name} on <{tag}>")
            if name.startswith("on") or name == "style":
                self.problems.append(f"{name}= on <{tag}>")
            if name in URL_ATTRIBUTES and value is not None:
                plain = _INVISIBLE.sub("", value).lower()     # the parser has decoded entities, once
                scheme = _SCHEME.match(plain)
                if scheme and scheme.group(1) not in URL_SCHEMES:
                    self.problems.append(f"{name}={value!r} on <{tag}>")

    handle_startendtag = handle_starttag


def problems_in(cleaned: str) -> list[str]:
    inspector = _Inspector()
    inspector.feed(cleaned)
    inspector.close()
    return inspector.problems


@pytest.mark.parametrize("clean", [clean_html, clean_post, render_markdown], ids=["html", "post", "markdown"])
@pytest.mark.parametrize("vector", XSS_VECTORS)
def test_nothing_executable_survives(clean, vector):
    cleaned = clean(vector)
    assert not problems_in(cleaned), f"{vector!r} -> {cleaned!r}"
    lowered = cleaned.lower()
    for marker in ("<script", "<svg", "<math", "<iframe", "<object", "<embed", "<style", "<img", "<form",
                   "<base", "<meta", "<link", "javascript:", "vbscript:", "data:text"):
        assert marker not in lowered or marker in ("javascript:", "vbscript:", "data:text") and \
            _only_in_text(cleaned, marker), f"{marker} survives: {vector!r} -> {cleaned!r}"
    assert clean_html(cleaned) == cleaned, "cleaning again changes the output (mutation risk)"


def _only_in_text(cleaned: str, marker: str) -> bool:
    """A scheme name may stay as visible text (e.g. a link's label), never inside a tag."""
    return all(marker not in tag.lower() for tag in re.findall(r"<[^>]*>", cleaned))


@pytest.mark.parametrize("vector", XSS_VECTORS)
def test_to_text_gives_text_that_is_safe_once_escaped(vector):
    text = to_text(clean_post(vector))
    assert "<" not in html.escape(text) and isinstance(text, str)


FORMATTING = [
    ("<p><b>Đậm</b>, <strong>mạnh</strong>, <i>nghiêng</i>, <em>nhấn</em>, <u>gạch</u>, <s>bỏ</s></p>", None),
    ("<ul><li>Một</li><li>Hai</li></ul><ol><li>Ba</li></ol>", None),
    ("<h2>Kiến nghị, đề xuất</h2><blockquote>Trích dẫn</blockquote><pre><code>x = 1</code></pre>", None),
    ('<table><thead><tr><th colspan="2">Thôn</th></tr></thead><tbody><tr><td rowspan="2">A</td>'
     "<td>3</td></tr></tbody></table>", None),
    ("H<sub>2</sub>O và m<sup>2</sup><br>dòng mới<hr>", None),
    ('<a href="https://dichvucong.gov.vn/p/home" title="Cổng">Cổng dịch vụ công</a>',
     '<a href="https://dichvucong.gov.vn/p/home" title="Cổng" rel="noopener noreferrer nofollow">'
     "Cổng dịch vụ công</a>"),
    ('<a href="mailto:vanphong@tanhoa.gov.vn">Văn phòng</a>',
     '<a href="mailto:vanphong@tanhoa.gov.vn" rel="noopener noreferrer nofollow">Văn phòng</a>'),
    ('<abbr title="Ủy ban nhân dân">UBND</abbr> xã Tân Hòa', None),
]


@pytest.mark.parametrize("source,expected", FORMATTING)
def test_formatting_survives(source, expected):
    assert clean_html(source) == (expected or source)


def test_dropped_wrappers_keep_their_text_and_vietnamese_is_untouched():
    assert clean_html('<div class="x" style="color:red"><span id="y">Hồ sơ tồn đọng</span></div>') == \
        "<span>Hồ sơ tồn đọng</span>"
    assert clean_html("Xã Tân Hòa — 10.405 hồ sơ") == "Xã Tân Hòa — 10.405 hồ sơ"
    assert clean_html("<p>a < b & c > d</p>") == "<p>a &lt; b &amp; c &gt; d</p>"


def test_posts_turn_pasted_urls_into_safe_links():
    cleaned = clean_post("Xem https://dichvucong.gov.vn và javascript:window.__xss=1 nhé")
    assert '<a href="https://dichvucong.gov.vn" rel="noopener noreferrer nofollow">' in cleaned
    assert not problems_in(cleaned) and 'href="javascript' not in cleaned


def test_markdown_keeps_formatting_and_drops_script():
    rendered = render_markdown("**Đậm** và _nghiêng_\n\n- một\n- hai\n\n[x](javascript:window.__xss=1)\n\n"
                               "<script>window.__xss=1</script>")
    assert "<strong>Đậm</strong>" in rendered and "<em>nghiêng</em>" in rendered and "<li>một</li>" in rendered
    assert not problems_in(rendered) and "<script" not in rendered


def test_links_never_open_a_window_that_can_reach_back():
    cleaned = clean_html('<a href="https://example.com" target="_blank" rel="opener">x</a>')
    assert "target" not in cleaned and 'rel="noopener noreferrer nofollow"' in cleaned


TEXT_ONLY = {XSS_VECTORS[-1], XSS_VECTORS[-2]}
UNFINISHED = {f"<img src=x onerror={JS}//", f"<![CDATA[<script>{JS}</script>]]>"}   # the inspector can't parse these


def test_the_inspector_would_catch_the_corpus_uncleaned():
    """Guards the test itself: raw vectors are flagged, so a clean result means something."""
    missed = [v for v in XSS_VECTORS if v not in TEXT_ONLY | UNFINISHED and not problems_in(v)]
    assert not missed
