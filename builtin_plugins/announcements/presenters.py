"""What templates see of an announcement: plain values and its body as sanitised HTML."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from builtin_plugins.announcements.models import Announcement
from kernel import render_markdown

ALERT = {"info": "info", "warning": "warning", "maintenance": "danger"}
ICON = {"info": "info-circle", "warning": "exclamation-triangle", "maintenance": "tools"}


@dataclass(frozen=True)
class AnnouncementView:
    id: int
    title: str
    html: Markup
    level: str
    alert: str  # the Bootstrap colour of its level
    icon: str
    starts: str
    ends: str
    dismissible: bool


def stamp(when) -> str:
    return when.strftime("%Y-%m-%d %H:%M") if when else ""


def view(a: Announcement) -> AnnouncementView:
    return AnnouncementView(
        id=a.id,
        title=a.title,
        html=render_markdown(a.body),
        level=a.level,
        alert=ALERT.get(a.level, "info"),
        icon=ICON.get(a.level, "info-circle"),
        starts=stamp(a.starts_at),
        ends=stamp(a.ends_at),
        dismissible=a.dismissible,
    )


def views(rows: list[Announcement]) -> list[AnnouncementView]:
    return [view(a) for a in rows]
