"""kernel.render_markdown: what people type becomes HTML that cannot run or load anything."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kernel import render_markdown
from tests.markup_checks import PAYLOADS, problems


def test_every_payload_renders_inert():
    for payload in PAYLOADS:
        html = str(render_markdown(payload))
        assert problems(html) == [], (payload, html)  # read as a browser reads it


def test_formatting_still_works():
    html = str(
        render_markdown(
            "**bold** _it_ `code` ~~gone~~\n\n- a\n- b\n\n"
            "[site](https://example.com) <https://pteroca.example>\n\n"
            "| a | b |\n|---|---|\n| 1 | 2 |"
        )
    )
    for part in (
        "<strong>bold</strong>",
        "<em>it</em>",
        "<code>code</code>",
        "<s>gone</s>",
        "<li>a</li>",
        "<table>",
        "<td>1</td>",
        '<a href="https://example.com" rel="noopener nofollow noreferrer">site</a>',
        'href="https://pteroca.example"',
    ):
        assert part in html, (part, html)


def test_raw_html_is_shown_as_text_and_links_are_marked():
    assert str(render_markdown("<b>x</b>")) == "<p>&lt;b&gt;x&lt;/b&gt;</p>\n"
    assert 'rel="noopener nofollow noreferrer"' in str(render_markdown("[a](http://x.y)"))
    assert str(render_markdown(None)) == ""


def test_unsafe_link_targets_are_dropped_but_the_text_stays():
    html = str(render_markdown("[data](data:text/html,hi) [js](javascript:alert(1))"))
    assert "href" not in html and "data" in html and "js" in html


TOKENS = list("<>/\"'=:()[]!`*_ \n&#;") + [
    "script",
    "javascript",
    "onerror",
    "img",
    "svg",
    "a",
    "href",
    "src",
    "data",
    "on",
    "x",
    "&#106;",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map("".join))
def test_no_typed_text_ever_yields_a_live_tag_or_attribute(text):
    assert problems(str(render_markdown(text))) == []
