"""The plugin's settings (plugin.toml), read once per use and held to sane bounds."""

from __future__ import annotations

from dataclasses import dataclass

from kernel import settings_for

MAX_ATTACHMENT_KB = 51200  # 50 MiB: whatever the setting says, never more per file
MAX_FILES = 20
FORM_ROOM = 1024 * 1024  # the text fields and multipart boundaries around the files


@dataclass(frozen=True)
class SupportSettings:
    team_email: str
    max_open_tickets: int
    max_attachment_bytes: int
    max_attachments: int
    allowed_extensions: frozenset[str]
    reply_link_days: int
    sla_warn_hours: int
    sla_breach_hours: int
    autoclose_days: int


def _extensions(text: str) -> frozenset[str]:
    return frozenset(
        part.strip().lower().lstrip(".") for part in (text or "").split(",") if part.strip()
    )


def load() -> SupportSettings:
    raw = settings_for("support")
    warn = max(0, int(raw["sla_warn_hours"] or 0))
    return SupportSettings(
        team_email=(raw["team_email"] or "").strip(),
        max_open_tickets=max(0, int(raw["max_open_tickets"] or 0)),
        max_attachment_bytes=min(max(1, int(raw["max_attachment_kb"] or 1)), MAX_ATTACHMENT_KB)
        * 1024,
        max_attachments=min(max(0, int(raw["max_attachments"] or 0)), MAX_FILES),
        allowed_extensions=_extensions(raw["allowed_extensions"]),
        reply_link_days=max(1, int(raw["reply_link_days"] or 1)),
        sla_warn_hours=warn,
        sla_breach_hours=max(warn, int(raw["sla_breach_hours"] or 0)),
        autoclose_days=max(0, int(raw["autoclose_days"] or 0)),
    )


def request_limit() -> int:
    """The largest request a form with files takes (kernel ``request_body_limit``): every
    file at its limit plus the form around them; a bigger body is refused before it is read."""
    settings = load()
    return settings.max_attachments * settings.max_attachment_bytes + FORM_ROOM
