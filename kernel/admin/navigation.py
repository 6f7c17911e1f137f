"""The admin navigation: Flask-Admin's menu and the ``admin_menu_items`` hook as one grouped list.

Why one list: a plugin may both register an admin view and answer ``admin_menu_items`` with the
same page (to carry a badge, say). Shown side by side, the page appeared twice ("Greetings",
"Greetings"). Here an item whose URL is already a view's menu entry only lends it its badge.
Grouping (categories become drop-downs) keeps the bar on one line at 1280 px.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class NavItem:
    label: str
    url: str = ""
    active: bool = False
    badge: str | int | None = None
    children: list[NavItem] = field(default_factory=list)

    @property
    def is_group(self) -> bool:
        return bool(self.children)


def _same(url_a: str, url_b: str) -> bool:
    return url_a.rstrip("/") == url_b.rstrip("/")


def _from_menu(item, admin_view) -> NavItem | None:
    """One Flask-Admin menu entry (a view, a link or a category) the user may see, or None."""
    if item.is_category():
        children = [
            c
            for c in (_from_menu(child, admin_view) for child in item.get_children())
            if c is not None
        ]
        if not children:
            return None
        return NavItem(item.name, active=any(c.active for c in children), children=children)
    if not (item.is_accessible() and item.is_visible()):
        return None
    return NavItem(item.name, url=item.get_url(), active=bool(item.is_active(admin_view)))


def _flatten(items: list[NavItem]) -> list[NavItem]:
    return [leaf for item in items for leaf in (item.children if item.is_group else [item])]


def build(menu, admin_view, hook_items: list[dict], request_path: str = "") -> list[NavItem]:
    """The grouped navigation for ``admin_view``: Flask-Admin's ``menu`` then the hook's items.

    ``hook_items`` are ``admin_menu_items`` answers already filtered by permission; those
    pointing at a page the menu already has give it their badge instead of a second entry.
    """
    nav = [entry for entry in (_from_menu(item, admin_view) for item in menu) if entry is not None]
    leaves = _flatten(nav)
    for extra in hook_items:
        url = str(extra.get("url", ""))
        twin = next((leaf for leaf in leaves if _same(leaf.url, url)), None)
        if twin is not None:
            twin.badge = twin.badge or extra.get("badge")
            continue
        item = NavItem(
            str(extra.get("label", "")),
            url=url,
            badge=extra.get("badge"),
            active=bool(request_path) and _same(request_path, url),
        )
        nav.append(item)
        leaves.append(item)
    return nav
