"""The admin navigation: Flask-Admin's menu grouped by category, plugin menu items merged into
the view they point at (badge kept) instead of shown twice, hidden and forbidden views left out."""

from __future__ import annotations

from kernel.admin.navigation import build


class View:
    def __init__(self, name, url, *, accessible=True, visible=True, active=False):
        self.name, self.url = name, url
        self.accessible, self.visible, self.active = accessible, visible, active

    def is_category(self):
        return False

    def is_accessible(self):
        return self.accessible

    def is_visible(self):
        return self.visible

    def get_url(self):
        return self.url

    def is_active(self, view):
        return self.active


class Category:
    def __init__(self, name, *children):
        self.name, self.children = name, list(children)

    def is_category(self):
        return True

    def get_children(self):
        return self.children


def test_categories_become_groups_and_inaccessible_entries_vanish():
    menu = [
        View("Overview", "/admin/"),
        Category(
            "Accounts",
            View("Users", "/admin/users/", active=True),
            View("Roles", "/admin/roles/", accessible=False),
        ),
        Category("Empty", View("Secret", "/admin/secret/", accessible=False)),
        View("Hidden", "/admin/users/account/", visible=False),
    ]
    nav = build(menu, None, [])
    assert [item.label for item in nav] == ["Overview", "Accounts"]
    accounts = nav[1]
    assert accounts.is_group and accounts.active
    assert [c.label for c in accounts.children] == ["Users"]


def test_a_plugin_item_for_a_page_already_in_the_menu_only_lends_its_badge():
    menu = [
        View("Greetings", "/admin/greetings/"),
        Category("Support", View("Tickets", "/admin/support/tickets/")),
    ]
    items = [
        {"label": "Greetings", "url": "/admin/greetings"},
        {"label": "Tickets", "url": "/admin/support/tickets/", "badge": 3},
        {"label": "Docs", "url": "/admin/docs/"},
    ]
    nav = build(menu, None, items, "/admin/docs/")
    labels = [item.label for item in nav]
    assert labels.count("Greetings") == 1 and labels == ["Greetings", "Support", "Docs"]
    assert nav[1].children[0].badge == 3
    assert nav[2].active and not nav[0].active
