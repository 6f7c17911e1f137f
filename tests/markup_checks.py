"""Reading rendered HTML as a browser would, to prove that typed Markdown stayed inert."""

from __future__ import annotations

from html.parser import HTMLParser

PAYLOADS = [
    "<script>alert('s1')</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "[click](javascript:alert('j1'))",
    "[click](JaVaScRiPt:alert('j2'))",
    "[click](java\tscript:alert('j3'))",
    "[click](&#106;avascript:alert('j4'))",
    "[click](  javascript:alert('j5'))",
    "<a href=\"javascript:alert('j6')\">x</a>",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![pic](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![pic](javascript:alert('i1'))",
    "<img src=x onerror=alert('e1')>",
    "<p onclick=\"alert('e2')\">hi</p>",
    "<div style=\"background:url(javascript:alert('e3'))\">x</div>",
    "<svg onload=alert('v1')><circle/></svg>",
    "<svg><script>alert('v2')</script></svg>",
    '<iframe src="https://evil.example"></iframe>',
    '<object data="x.swf"></object><embed src="x">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert('m1')>",
    "<details open ontoggle=alert('d1')>",
    "[x](vbscript:msgbox('vb'))",
    '<a href="data:text/html,<script>alert(1)</script>">d</a>',
    '[ok](https://example.com "title" onmouseover="alert(\'t1\')")',
    "<!-- <script>alert('c1')</script> -->",
    "```html\n<script>alert('code')</script>\n```",
    '<form action="https://evil.example"><input name=x></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="https://evil.example/">',
    '<link rel=stylesheet href="https://evil.example/x.css">',
]
SAFE_SCHEMES = ("http:", "https:", "mailto:")


class Inventory(HTMLParser):
    """Every start tag with its attributes, and the text outside tags."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k.lower(): (v or "") for k, v in attrs}))


def problems(html: str, *, allowed_scripts: tuple[str, ...] = ()) -> list[str]:
    """What in ``html`` could run or load something: event attributes, styles, unsafe URLs,
    inline or foreign scripts, frames, objects, SVG, forms to elsewhere, meta refresh."""
    inventory = Inventory()
    inventory.feed(html)
    found = []
    for tag, attrs in inventory.tags:
        for name, value in attrs.items():
            if name.startswith("on"):
                found.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action", "formaction", "data", "xlink:href"):
                url = "".join(value.split()).lower()
                if ":" in url.split("/", 1)[0] and not url.startswith(SAFE_SCHEMES):
                    found.append(f"<{tag} {name}={value!r}>")
        if tag == "script" and not (
            attrs.get("src", "").startswith(allowed_scripts) and allowed_scripts
        ):
            found.append(f"<script {attrs}>")
        if tag in ("iframe", "object", "embed", "svg", "math", "base", "meta", "img"):
            if tag != "meta" or "http-equiv" in attrs:
                found.append(f"<{tag}>")
        if tag == "form" and attrs.get("action", "").startswith(("http:", "https:", "//")):
            found.append("<form action=elsewhere>")
    return found
