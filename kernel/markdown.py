"""Markdown that people type (tickets, announcements) turned into HTML that cannot run anything.

Two layers, so that a bug in one is caught by the other:

1. **markdown-it-py** renders CommonMark with raw HTML switched off: ``<script>`` typed in a
   message is text, not a tag. Images are switched off too (``![x](y)`` stays a link): an
   ``<img>`` fetched from anywhere tracks who read the message and can carry ``data:`` URLs.
2. **nh3** (the ammonia sanitiser) then keeps only the tags and attributes in the tables below
   and only links to ``http``, ``https`` and ``mailto``: ``javascript:``, ``data:`` and
   ``vbscript:`` URLs lose their ``href``, event attributes (``onerror``, ``onclick``) and
   ``style`` never survive, and every link gets ``rel="noopener nofollow noreferrer"``.

The result is :class:`markupsafe.Markup`, ready for a template. This module owns the rule;
plugins call it through ``kernel.render_markdown``.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

MAX_SOURCE = 200_000  # characters rendered; longer text is cut (a message is not a book)

TAGS = frozenset(
    {
        "p",
        "br",
        "hr",
        "strong",
        "em",
        "del",
        "s",
        "code",
        "pre",
        "blockquote",
        "ul",
        "ol",
        "li",
        "a",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    }
)
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener nofollow noreferrer"


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    parser.enable(["table", "strikethrough"])
    parser.disable("image")
    return parser


def sanitize_html(html: str) -> str:
    """Keep only the allowed tags, attributes and URL schemes of ``html`` (see the module doc)."""
    return nh3.clean(
        html,
        tags=set(TAGS),
        attributes={k: set(v) for k, v in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
        clean_content_tags={"script", "style"},
    )


def render_markdown(text: str | None) -> Markup:
    """Markdown typed by a person, as safe HTML: no raw HTML, no scripts, no unsafe links."""
    source = (text or "")[:MAX_SOURCE]
    return Markup(sanitize_html(_parser().render(source)))
