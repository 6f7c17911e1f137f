"""Every ``pattern`` attribute in the panel's templates is a regular expression Chromium accepts.

Browsers compile ``pattern`` with the ``v`` flag (unicode sets), where a ``-`` or ``|`` left
unescaped at the edge of a character class is a syntax error: Chromium then logs "Pattern
attribute value ... is not a valid regular expression" and validates nothing (the theme-name
field of /admin/themes/ did). The browser's own engine compiles each one here.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PATTERN = re.compile(r'\bpattern="([^"]*)"')


def template_patterns() -> dict[str, str]:
    found = {}
    for folder in ("kernel", "builtin_plugins", "themes"):
        for path in sorted((ROOT / folder).rglob("*.html")):
            for value in PATTERN.findall(path.read_text(encoding="utf-8")):
                if "{{" not in value:  # a pattern built by Jinja is checked where it renders
                    found[f"{path.relative_to(ROOT)}: {value}"] = html.unescape(value)
    return found


def test_every_template_pattern_compiles_with_the_v_flag(page):
    patterns = template_patterns()
    assert any("theme-name" in k or "a-z0-9_" in k for k in patterns), patterns  # found some
    page.set_content("<!doctype html><title>patterns</title>")
    bad = page.evaluate(
        """(patterns) => Object.entries(patterns).filter(([where, p]) => {
        try { new RegExp(p, "v"); return false; } catch (e) { return true; }
    }).map(([where]) => where)""",
        patterns,
    )
    assert bad == []


def test_the_checker_catches_the_old_theme_name_pattern(page):
    page.set_content("<!doctype html><title>patterns</title>")
    assert (
        page.evaluate("""() => { try { new RegExp("[a-z][a-z0-9_-]{1,47}", "v");
                                      return "compiled"; } catch (e) { return "refused"; } }""")
        == "refused"
    )
