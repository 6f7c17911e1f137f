"""Menu items may carry a ``badge`` (a count or a short text), in the client and admin menus."""

from __future__ import annotations

import re

from kernel import hookimpl

ITEMS = [
    ("Three", 3),
    ("Zero", 0),
    ("Many", 150),
    ("Word", "new"),
    ("Long", "much too long"),
    ("Yes", True),
    ("Minus", -1),
    ("Odd", {"x": 1}),
    ("None", None),
]


class Badges:
    @hookimpl
    def client_menu_items(self, user):
        return [
            {"label": label, "url": f"/{label.lower()}", "badge": badge} for label, badge in ITEMS
        ]

    @hookimpl
    def admin_menu_items(self, user):
        return [
            {"label": f"Admin {label}", "url": f"/admin/{label.lower()}", "badge": badge}
            for label, badge in ITEMS
        ]


def badges(page: str, prefix: str = "") -> dict[str, str]:
    found = dict(
        re.findall(r">" + prefix + r"(\w+) <span class=\"badge[^\"]*menu-badge\">([^<]+)<", page)
    )
    return found


def test_badges_show_counts_and_short_texts(register_test_plugin, login_as):
    register_test_plugin(Badges())
    client = login_as("admin")
    expected = {"Three": "3", "Many": "99+", "Word": "new", "Long": "much too"}
    assert badges(client.get("/dashboard").text) == expected
    assert badges(client.get("/admin/").text, "Admin ") == expected
