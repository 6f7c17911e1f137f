"""``pteroca demo``: a complete panel to try on one machine, with nothing else installed.

It migrates the database, enables every builtin plugin (each scanned by the gate first), makes
an admin and a customer account, credits the customer's wallet through the ledger, and lets
each plugin seed its sample data through the ``demo_seed`` hook (the demo's panel plugin,
Pterodactyl or with ``--panel pelican`` Pelican, is pointed at its simulator and fills the
store's catalog from it; the Stripe plugin is pointed at the
Stripe-shaped simulator, see ``simulators/demo.py``). Mail goes to an outbox file in the
instance that the admin reads in the browser (the email log keeps the text of each message).
Running it again keeps what is there:
the accounts, their passwords and the catalog are made once.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask

ADMIN_EMAIL = "admin@example.com"
CUSTOMER_EMAIL = "customer@example.com"
WELCOME_BALANCE = 10000  # minor units credited once to the demo customer
CREDENTIALS_FILE = "demo-credentials.json"
OUTBOX_FILE = "demo-outbox.mbox"


class DemoError(Exception):
    """The demo could not be prepared; the message says what to do."""


@dataclass
class DemoReport:
    admin: tuple[str, str]
    customer: tuple[str, str]
    enabled: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # plugin -> why it stays off
    lines: list[str] = field(default_factory=list)  # what the plugins' demo_seed said


def local_settings(config, base_url: str) -> dict[str, str]:
    """What the demo changes in the configuration so everything happens on this machine:
    links in mails point where the demo serves, and mail that would only be logged (the
    ``console://`` default) goes to an outbox file. Settings the user chose are kept."""
    out = {}
    if not os.environ.get("PTEROCA_BASE_URL"):
        out["BASE_URL"] = base_url
    if str(config.get("MAIL_URL") or "console://").startswith("console:"):
        out["MAIL_URL"] = f"file://{Path(config['INSTANCE_PATH']) / OUTBOX_FILE}"
    return out


def mail_whereabouts(mail_url: str, base_url: str) -> str:
    """One line saying where the demo's mail can be read."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(mail_url)
    where = (
        f"the outbox file {unquote(parts.path)}"
        if parts.scheme == "file"
        else f"{parts.scheme}://{parts.hostname or ''}"
    )
    return (
        f"mail:     {where}; read every message, links included, in the admin's email log "
        f"->  {base_url}/admin/emails/"
    )


def builtin_plugins() -> list[str]:
    """The plugins that ship with pteroca (entry points of this distribution)."""
    from kernel.plugin_lifecycle.services import discover_all

    return sorted(
        name
        for name, plugin in discover_all().items()
        if plugin.source == "entry_point" and plugin.module.startswith("builtin_plugins.")
    )


def enable_builtins(echo: Callable[[str], None]) -> tuple[list[str], dict[str, str]]:
    """Enable every builtin plugin through the scan gate.

    Offline, the advisory service cannot be asked and a plugin with Python dependencies gets a
    single HIGH ``not audited`` finding; the demo accepts that one, and the HIGH findings of the
    builtin plugins' sensitive capabilities (the Pterodactyl plugin pushes new passwords to the
    panel), and says so. Any other HIGH or a CRITICAL finding keeps the plugin off, as it would
    for an admin.
    """
    from kernel.plugin_lifecycle import services
    from kernel.plugins.deps import DependencyError
    from kernel.security import ConfirmationRequired, GateRefused, Severity
    from kernel.security.policy import NOT_AUDITED_RULE

    DEMO_ACCEPTS = {
        NOT_AUDITED_RULE: "its dependencies could not be audited (no advisory service reachable)",
        "sensitive-capability": "",
    }
    enabled, skipped = [], {}
    for name in builtin_plugins():
        if name in services.enabled_names():  # on already, or as a dependency just now
            enabled.append(name)
            continue
        try:
            try:
                services.enable(name, with_dependencies=True, actor="demo")
            except ConfirmationRequired as exc:
                high = exc.record.at_least(Severity.HIGH)
                if not all(f.rule in DEMO_ACCEPTS for f in high):
                    raise
                for finding in high:
                    echo(
                        f"  {name}: {DEMO_ACCEPTS[finding.rule] or finding.message}; accepted "
                        "for the demo"
                    )
                services.enable(name, with_dependencies=True, accept_risk=True, actor="demo")
        except (GateRefused, DependencyError) as exc:
            skipped[name] = str(exc)
            continue
        enabled.append(name)
    return enabled, skipped


def _credentials(instance: Path) -> dict:
    path = instance / CREDENTIALS_FILE
    if path.exists():
        try:
            return json.loads(path.read_text())
        except ValueError:
            raise DemoError(
                f"{path} is not valid JSON; delete it to make new demo passwords"
            ) from None
    data = {ADMIN_EMAIL: secrets.token_urlsafe(10), CUSTOMER_EMAIL: secrets.token_urlsafe(10)}
    instance.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out, indent=2)
    return data


def _account(email: str, password: str, *, role: str, name: str):
    from kernel.accounts.services import create_user, find_user, set_password, verify_password

    user = find_user(email)
    if user is None:
        return create_user(email, password, name=name, role=role, actor="demo", verified=True)
    if not verify_password(user, password):
        set_password(user, password)  # the printed password always works
    return user


PANELS = ("pterodactyl", "pelican")  # the panels the demo can simulate (simulators/demo.py)


def seed(
    app: Flask,
    echo: Callable[[str], None] = print,
    balance: int = WELCOME_BALANCE,
    settings: dict | None = None,
    panel: str = "pterodactyl",
) -> DemoReport:
    """Everything but serving: run inside ``app``'s context; returns what to print.
    ``settings`` (:func:`local_settings`) apply to the app the plugins seed in; ``panel`` is
    the panel plugin whose simulator the demo runs (one of PANELS)."""
    from kernel.plugin_lifecycle.services import upgrade_all

    if panel not in PANELS:
        raise DemoError(f"unknown panel {panel!r}: choose one of {', '.join(PANELS)}")
    upgrade_all()
    enabled, skipped = enable_builtins(echo)
    upgrade_all()
    return _seed_with_plugins(app, enabled, skipped, balance, settings or {}, panel)


def _seed_with_plugins(
    app: Flask, enabled, skipped, balance, settings: dict, panel: str = "pterodactyl"
) -> DemoReport:
    """Build an app that has the plugins just enabled and let them seed."""
    from kernel.app import create_app
    from kernel.extensions import db
    from kernel.payments import ledger

    built = dict(app.config.get("PTEROCA_BUILD_CONFIG") or {})
    config = {**built, **settings}
    fresh = create_app(config or None)
    if built:
        fresh.config["PTEROCA_BUILD_CONFIG"] = config
    with fresh.app_context():
        passwords = _credentials(Path(fresh.instance_path))
        admin = _account(ADMIN_EMAIL, passwords[ADMIN_EMAIL], role="admin", name="Demo admin")
        customer = _account(
            CUSTOMER_EMAIL, passwords[CUSTOMER_EMAIL], role="customer", name="Demo customer"
        )
        if balance > 0:
            ledger.credit(
                customer.id,
                balance,
                "adjustment",
                "demo:welcome-balance",
                {"reason": "demo welcome balance"},
            )
        lines: list[str] = []
        from kernel.hooks import call_hook
        from kernel.plugins.host import plugin_manager
        from simulators.demo import DemoServices

        plugin_manager(fresh).register(DemoServices(panel), name="simulators")
        for result in call_hook("demo_seed", admin=admin, customer=customer):
            lines.extend(str(line) for line in (result or []))
        db.session.commit()
        return DemoReport(
            admin=(ADMIN_EMAIL, passwords[ADMIN_EMAIL]),
            customer=(CUSTOMER_EMAIL, passwords[CUSTOMER_EMAIL]),
            enabled=enabled,
            skipped=skipped,
            lines=lines,
        )
