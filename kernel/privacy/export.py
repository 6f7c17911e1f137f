"""Right of access: one customer's data as a ZIP, built by a job and mailed as a link.

The ZIP holds a readme and one JSON file per area: the kernel's own (account, wallet,
payments, audit log, email log, privacy requests) and, under ``plugins/<name>/``, whatever each
enabled plugin answers to ``personal_data(user)``. It is written to the exports folder
(``PTEROCA_EXPORTS_DIR``, default ``<instance>/exports``: never under a web root) with a
random name, mode 0600, and deleted when its link expires (:func:`expire_exports`, run by the
``kernel.privacy`` cron task).

The link carries a signed token (the export and the account, expiring with the export); the
download also needs the account's own session, so a forwarded link is useless to others.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import zipfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import current_app, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from kernel import audit, clock, site_settings
from kernel.accounts.models import User
from kernel.accounts.services import AccountError
from kernel.extensions import db
from kernel.hooks import answers, report_failure
from kernel.jobs import enqueue, job
from kernel.mail import send_email
from kernel.privacy import kernel_data
from kernel.privacy.models import EXPIRED, FAILED, QUEUED, READY, DataExport

SALT = "pteroca-privacy-export"
AREA_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
RESEND_AFTER = timedelta(minutes=10)  # a new export is refused this soon after the last one
STUCK_AFTER = timedelta(hours=6)  # a queued export older than this failed (its job was lost)


class ExportError(AccountError):
    """An export request or download refused; the message is shown as is, with ``status``."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def exports_dir() -> Path:
    path = Path(current_app.config["EXPORTS_DIR"])
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def link_hours() -> int:
    return max(1, int(site_settings.get("export_link_hours") or 72))


# --- requesting ------------------------------------------------------------------------------


def latest(user: User) -> DataExport | None:
    return db.session.scalar(
        db.select(DataExport)
        .where(DataExport.user_id == user.id)
        .order_by(DataExport.id.desc())
        .limit(1)
    )


def request_export(user: User) -> DataExport:
    """Queue an export of ``user``'s data; refused while one is being prepared or was just sent."""
    last = latest(user)
    now = clock.now()
    if last is not None and last.status == QUEUED and now - last.created_at < STUCK_AFTER:
        raise ExportError(
            _("Your data export is being prepared; we email you the link when it is ready.")
        )
    if last is not None and last.status == READY and now - last.created_at < RESEND_AFTER:
        raise ExportError(
            _(
                "We emailed you a download link a few minutes ago; check your "
                "inbox (and the spam folder) before asking for another."
            )
        )
    for old in db.session.scalars(
        db.select(DataExport).where(DataExport.user_id == user.id, DataExport.status == READY)
    ):
        _delete_file(old)  # a new export supersedes the previous link
        old.status = EXPIRED
    export = DataExport(user_id=user.id, status=QUEUED, filename="", missing="", size=0)
    db.session.add(export)
    db.session.commit()
    audit.record("privacy.export_requested", user.email, {"export": export.id})
    enqueue(build_export, export.id)
    return export


# --- building ----------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value, key=str) if isinstance(value, (set, frozenset)) else list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_json(data: Any) -> str:
    return json.dumps(data, default=_json_default, indent=2, ensure_ascii=False, sort_keys=True)


def plugin_areas(user: User) -> tuple[dict[str, str], list[str]]:
    """``({"plugins/<plugin>/<area>.json": json text}, [what is missing])`` from every plugin's
    ``personal_data``; a plugin that raises or answers nonsense is listed as missing."""
    files: dict[str, str] = {}
    missing: list[str] = []
    for plugin, answer, error in answers("personal_data", user=user):
        if error is not None:
            missing.append(plugin)
            continue
        if not answer:
            continue
        if not isinstance(answer, dict):
            report_failure(
                plugin,
                "personal_data",
                TypeError(f"personal_data must return a dict of area -> data, not {answer!r:.200}"),
            )
            missing.append(plugin)
            continue
        for area, data in answer.items():
            if not isinstance(area, str) or not AREA_NAME.match(area):
                report_failure(
                    plugin,
                    "personal_data",
                    ValueError(
                        f"personal_data area {area!r:.80} is not a name of a-z, 0-9, _ and -"
                    ),
                )
                missing.append(f"{plugin}/{str(area)[:64]}")
                continue
            try:
                files[f"plugins/{plugin}/{area}.json"] = to_json(data)
            except (TypeError, ValueError) as exc:
                report_failure(plugin, "personal_data", exc)
                missing.append(f"{plugin}/{area}")
    return files, missing


def readme(user: User, files: list[str], missing: list[str]) -> str:
    site = site_settings.get("site_name") or "pteroca"
    lines = [
        f"Your personal data kept by {site}",
        "=" * 40,
        "",
        f"Account #{user.id}, exported {clock.now().replace(microsecond=0).isoformat()} UTC.",
        "",
        "Every file is JSON (UTF-8). Times are UTC. Amounts of money are integers in the",
        "smallest unit of the currency (cents): 1250 means 12.50.",
        "",
        "account.json    your profile: email, name, language, role, sign-in settings",
        "wallet.json     your balance and every movement of it (the wallet ledger)",
        "payments.json   your top-up payments and what the payment provider reported",
        "audit_log.json  what was done by or to your account, when and from which address",
        "email_log.json  the emails we sent you (subject, date, outcome; not their text)",
        "privacy.json    your data exports and deletion requests",
        "plugins/        what each feature of the site keeps about you, one folder each",
        "",
        "Files in this export:",
        *[f"  {name}" for name in sorted(files)],
    ]
    if missing:
        lines += [
            "",
            "Could not be gathered this time (ask support, or request a new export):",
            *[f"  {name}" for name in missing],
        ]
    return "\n".join(lines) + "\n"


@job(queue="default", retries=2, backoff=(60, 600))
def build_export(export_id: int) -> str:
    """Job: write the ZIP of one queued export and email its link; safe to run twice."""
    export = db.session.get(DataExport, export_id)
    if export is None or export.status != QUEUED:
        return "nothing to do"
    user = db.session.get(User, export.user_id)
    if user is None or user.is_erased:
        export.status = FAILED
        db.session.commit()
        return "account erased"
    files = {f"{area}.json": to_json(data) for area, data in kernel_data.collect(user).items()}
    from_plugins, missing = plugin_areas(user)
    files.update(from_plugins)
    files["README.txt"] = readme(user, list(files), missing)
    filename = f"{secrets.token_urlsafe(24)}.zip"
    size = _write_zip(exports_dir() / filename, files)
    now = clock.now()
    export.status, export.filename, export.size = READY, filename, size
    export.ready_at, export.expires_at = now, now + timedelta(hours=link_hours())
    export.missing = ", ".join(missing)[:2000]
    db.session.commit()
    audit.record(
        "privacy.export_ready",
        user.email,
        {"export": export.id, "bytes": size, "missing": missing},
        actor="system",
    )
    send_email(
        user.email,
        _("Your data export is ready"),
        "privacy_export",
        user=user,
        link=download_link(export),
        hours=link_hours(),
        missing=missing,
    )
    return "ready"


def _write_zip(path: Path, files: dict[str, str]) -> int:
    partial = path.with_suffix(".part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            archive.writestr(name, files[name])
    partial.replace(path)
    return path.stat().st_size


# --- the link ----------------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_token(export: DataExport) -> str:
    return _serializer().dumps({"x": export.id, "u": export.user_id})


def download_link(export: DataExport) -> str:
    base = str(current_app.config.get("BASE_URL") or "").rstrip("/")
    return base + url_for("web.privacy_export_download", token=make_token(export))


def open_download(token: str, user: User) -> tuple[Path, DataExport]:
    """The file of the export ``token`` names, for ``user`` only; ExportError otherwise."""
    try:
        claims = _serializer().loads(token, max_age=link_hours() * 3600)
    except SignatureExpired:
        raise ExportError(
            _("This download link has expired. Request a new export on your account page.")
        ) from None
    except BadSignature:
        raise ExportError(
            _("This download link is not valid. Check that you copied all of it.")
        ) from None
    if not isinstance(claims, dict) or claims.get("u") != user.id:
        raise ExportError(
            _(
                "This download link belongs to another account. Log in as the "
                "account that asked for the export."
            ),
            403,
        )
    export = db.session.get(DataExport, claims.get("x"))
    if (
        export is None
        or export.user_id != user.id
        or export.status != READY
        or export.expires_at is None
        or export.expires_at <= clock.now()
    ):
        raise ExportError(
            _("This export is no longer available. Request a new one on your account page."), 410
        )
    path = exports_dir() / export.filename
    if not export.filename or not path.is_file():
        raise ExportError(
            _(
                "This export file cannot be found on this server. Request a new "
                "export on your account page."
            )
        )
    audit.record("privacy.export_downloaded", user.email, {"export": export.id})
    return path, export


# --- housekeeping ------------------------------------------------------------------------------


def _delete_file(export: DataExport) -> None:
    if export.filename:
        try:
            (exports_dir() / export.filename).unlink(missing_ok=True)
        except OSError as exc:
            current_app.logger.warning("could not delete export %s: %s", export.id, exc)
        export.filename = ""


def delete_exports(user: User) -> int:
    """Delete every export of ``user`` (files and rows): part of an erasure."""
    rows = list(db.session.scalars(db.select(DataExport).where(DataExport.user_id == user.id)))
    for export in rows:
        _delete_file(export)
        db.session.delete(export)
    return len(rows)


def expire_exports(now: datetime | None = None) -> int:
    """Delete the files of exports whose link expired; fail exports whose job was lost."""
    now = now or clock.now()
    done = 0
    for export in db.session.scalars(
        db.select(DataExport).where(DataExport.status == READY, DataExport.expires_at <= now)
    ):
        _delete_file(export)
        export.status = EXPIRED
        done += 1
    for export in db.session.scalars(
        db.select(DataExport).where(
            DataExport.status == QUEUED, DataExport.created_at <= now - STUCK_AFTER
        )
    ):
        export.status = FAILED
        done += 1
    db.session.commit()
    return done
