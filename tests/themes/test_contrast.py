"""The default theme's outline buttons reach 4.5:1 (WCAG 1.4.3) on white and on the page's
background: Bootstrap's own outline colours reach only about 4.2:1 on #f5f6fa."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parents[2] / "themes/default/static/panel.css").read_text()
BACKGROUNDS = ("#ffffff", "#f5f6fa")  # cards, and the body (panel.css: body { background })


def luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_page_background_is_what_the_check_assumes():
    assert re.search(r"body \{ background: #f5f6fa; \}", CSS)


@pytest.mark.parametrize("variant", ["primary", "secondary", "danger", "success", "warning"])
def test_outline_button_text_reaches_4_5_to_1(variant):
    rule = re.search(rf"\.btn-outline-{variant} \{{([^}}]*)\}}", CSS)
    assert rule, f"panel.css does not set .btn-outline-{variant}"
    colour = re.search(r"--bs-btn-color: (#[0-9a-f]{6})", rule.group(1)).group(1)
    for background in BACKGROUNDS:
        assert contrast(colour, background) >= 4.5, (variant, colour, background)


def test_bootstraps_own_colours_would_fail():
    """The check can fail: Bootstrap's outline-primary blue on the page background."""
    assert contrast("#0d6efd", "#f5f6fa") < 4.5
