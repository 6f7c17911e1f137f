"""Plugin operations shared by the CLI, the admin UI, cron tasks and tests.

Every refusal raises a :class:`PluginError` (or a subclass from deps, states,
security or migrations) whose message is one line a user can act on.
"""

from __future__ import annotations

import shutil
from typing import Any

from flask import current_app

from kernel import __version__, audit
from kernel.extensions import db
from kernel.generation import bump_generation
from kernel.plugin_lifecycle.admission import NotAdmitted, admission_for, admission_from_scan
from kernel.plugins import deps, health, verified
from kernel.plugins.discovery import DiscoveredPlugin, discover
from kernel.plugins.host import HOST_KEY
from kernel.plugins.migrations import MigrationError, upgrade
from kernel.plugins.models import PluginRecord, PluginSetting
from kernel.plugins.states import IllegalTransition, State, check_transition


class PluginError(Exception):
    """A plugin operation was refused; the message says why in one line."""


# Every exception a plugin operation raises for a user's mistake or a refused rule.
def user_errors() -> tuple[type[Exception], ...]:
    from kernel.security import GateRefused

    return (
        PluginError,
        deps.DependencyError,
        IllegalTransition,
        GateRefused,
        MigrationError,
        verified.PluginImportRefused,
    )


# --- discovery and state --------------------------------------------------------


def discover_all() -> dict[str, DiscoveredPlugin]:
    return discover(current_app.config["PLUGINS_DIR"])


def get_plugin(name: str, plugins: dict[str, DiscoveredPlugin] | None = None) -> DiscoveredPlugin:
    plugins = discover_all() if plugins is None else plugins
    plugin = plugins.get(name)
    if plugin is None:
        known = ", ".join(sorted(plugins)) or "none"
        raise PluginError(f"no plugin named {name!r} (installed: {known})")
    if not plugin.ok:
        raise PluginError(
            f"plugin {name!r} has an invalid manifest: " + "; ".join(map(str, plugin.errors))
        )
    return plugin


def get_record(name: str) -> PluginRecord:
    record = db.session.get(PluginRecord, name)
    if record is None:
        record = PluginRecord(name=name, state=State.DISCOVERED)
        db.session.add(record)
        db.session.flush()
    return record


def enabled_names() -> set[str]:
    return set(
        db.session.scalars(db.select(PluginRecord.name).where(PluginRecord.state == State.ENABLED))
    )


def _set_state(record: PluginRecord, target: State, reason: str = "") -> None:
    check_transition(record.name, record.state, target)
    record.state, record.reason = target, reason


# --- enabling -------------------------------------------------------------------


def enable(
    name: str,
    *,
    with_dependencies: bool = False,
    accept_risk: bool = False,
    actor: str | None = None,
    progress=None,
) -> list[str]:
    """Enable ``name`` (and, if asked, its dependencies first). Return the names enabled."""
    plugins = discover_all()
    get_plugin(name, plugins)
    order = deps.enable_order(plugins, name)
    already = enabled_names()
    if name in already:
        check_transition(name, State.ENABLED, State.ENABLED)
    todo = [n for n in order if n not in already]
    needed = [n for n in todo if n != name]
    if needed and not with_dependencies:
        raise deps.DependencyError(
            f"plugin {name!r} requires {', '.join(needed)}, not enabled; "
            "enable them first or use --with-dependencies"
        )
    for position, current in enumerate(todo, 1):
        if progress:
            progress(position, len(todo), current)
        _enable_one(plugins[current], accept_risk=accept_risk, actor=actor)
    bump_generation()
    for current in todo:
        notify("plugin_enabled", current, extra=[plugins[current]])
    return todo


def _enable_one(plugin: DiscoveredPlugin, *, accept_risk: bool, actor: str | None) -> None:
    from kernel.security import ScanBlocked, check_gate

    record = get_record(plugin.name)
    check_transition(plugin.name, record.state, State.ENABLED)
    deps.check_kernel_range(plugin, __version__)
    try:
        scan = check_gate(plugin, accept_risk=accept_risk, actor=actor)
    except ScanBlocked as exc:
        record = get_record(plugin.name)
        if record.state != State.BLOCKED:
            _set_state(record, State.BLOCKED, str(exc))
            db.session.commit()
        raise
    try:  # the files must still be the ones the scan read (the audit can take seconds)
        admission = admission_from_scan(plugin, scan)
    except NotAdmitted as exc:
        raise PluginError(f"plugin {plugin.name!r} {exc.reason}") from None
    try:
        tables = migrate_plugin(plugin, admission, recorded=get_record(plugin.name).tables)
    except BaseException:
        verified.revoke(plugin.module)
        raise
    record = get_record(plugin.name)
    _set_state(record, State.ENABLED)
    record.content_hash, record.version = scan.content_hash, plugin.version
    record.files, record.scan_id, record.tables = dict(scan.files), scan.id, tables
    health.reset(plugin.name)  # enabled again after a fault: its failures in a row start over
    db.session.commit()
    audit.record(
        "plugin.enabled",
        plugin.name,
        {"version": plugin.version, "hash": scan.content_hash, "scan_id": scan.id},
        actor=actor,
    )


def plugin_migrations_dir(plugin: DiscoveredPlugin, admission: verified.Admission) -> str:
    """The plugin's migration folder relative to its root: its ``migrations_dir`` hook, else
    ``migrations``. Imports the plugin through the verified loader (admitted callers only)."""
    from kernel.plugin_lifecycle.loader import import_plugin, new_plugin_manager
    from kernel.plugin_lifecycle.plugin_migrations import migrations_rel

    pm = new_plugin_manager()
    try:
        pm.register(import_plugin(plugin, admission), name=plugin.name)
        custom = [
            i.function()
            for i in pm.hook.migrations_dir.get_hookimpls()
            if i.plugin_name == plugin.name
        ]
        directory = custom[0] if custom and custom[0] else plugin.path / "migrations"
        return migrations_rel(admission, directory)
    except Exception as exc:  # noqa: BLE001 - any error in plugin code faults the plugin
        reason = (
            exc.reason
            if isinstance(exc, verified.PluginImportRefused)
            else f"import failed: {type(exc).__name__}: {exc}"
        )
        record = get_record(plugin.name)
        if record.state != State.FAULTED:
            _set_state(record, State.FAULTED, reason)
        record.reason = reason
        db.session.commit()
        raise PluginError(f"plugin {plugin.name!r} {reason}") from None


def migrate_plugin(
    plugin: DiscoveredPlugin,
    admission: verified.Admission,
    recorded: list[str] | None = None,
    plugins: dict[str, DiscoveredPlugin] | None = None,
) -> list[str]:
    """Run the plugin's migrations (verified bytes) in the session's transaction (the caller
    commits); return the tables the plugin owns afterwards, to record for a later purge."""
    from kernel.plugin_lifecycle.plugin_migrations import upgrade_verified

    rel_dir = plugin_migrations_dir(plugin, admission)
    try:
        return upgrade_verified(
            db.session.connection(),
            admission,
            rel_dir,
            recorded,
            plugins if plugins is not None else discover_all(),
        )
    except MigrationError:
        db.session.rollback()
        raise
    except verified.PluginImportRefused as exc:  # a revision file changed since the scan
        db.session.rollback()
        raise PluginError(f"plugin {plugin.name!r} {exc.reason}") from None


def upgrade_all(progress=None) -> list[str]:
    """Upgrade the kernel's history, then every enabled plugin's (``pteroca db upgrade``)."""
    from kernel.plugins.migrations import KERNEL_MIGRATIONS

    upgrade(db.session.connection(), KERNEL_MIGRATIONS)
    db.session.commit()
    plugins = discover_all()
    done = ["kernel"]
    names = deps.enabled_order(plugins, enabled_names())
    for position, name in enumerate(names, 1):
        if progress:
            progress(position, len(names), name)
        plugin = plugins.get(name)
        record = db.session.get(PluginRecord, name)
        try:
            admission = admission_for(plugin, record)
        except NotAdmitted:
            continue  # the loader reports it; never import code without a current verdict
        record.tables = migrate_plugin(plugin, admission, recorded=record.tables, plugins=plugins)
        db.session.commit()
        done.append(name)
    return done


# --- disabling, blocking, uninstalling --------------------------------------------


def disable(name: str, *, cascade: bool = False, actor: str | None = None) -> list[str]:
    """Disable ``name`` (dependents first with ``cascade``). Return the names disabled."""
    plugins = discover_all()
    record = db.session.get(PluginRecord, name)
    if record is None:
        if name not in plugins:
            get_plugin(name, plugins)
        record = get_record(name)
    check_transition(name, record.state, State.DISABLED)
    users = deps.dependents(plugins, name, enabled_names())
    if users and not cascade:
        raise deps.DependencyError(
            f"{', '.join(users)} {'depends' if len(users) == 1 else 'depend'} on {name!r}; "
            "disable them first or use --cascade"
        )
    for current in users + [name]:
        _set_state(get_record(current), State.DISABLED)
        audit.record(
            "plugin.disabled",
            current,
            {"cascade_from": name} if current != name else {},
            actor=actor,
            commit=False,
        )
    db.session.commit()
    bump_generation()
    for current in users + [name]:
        notify(
            "plugin_disabled", current, extra=[plugins[n] for n in users + [name] if n in plugins]
        )
    return users + [name]


def block(name: str, reason: str, *, actor: str | None = None) -> None:
    """Move a plugin to ``blocked`` (a failed scan) and unload it everywhere."""
    record = get_record(name)
    _set_state(record, State.BLOCKED, reason)
    audit.record("plugin.blocked", name, {"reason": reason}, actor=actor, commit=False)
    db.session.commit()
    bump_generation()


def uninstall(name: str, *, purge: bool = False, actor: str | None = None) -> str:
    """Forget a plugin that is not enabled; ``purge`` also reverts its migrations and settings.

    Returns a hint for what the user must still do (``pip uninstall`` for packages).
    """
    plugins = discover_all()
    record = db.session.get(PluginRecord, name)
    plugin = plugins.get(name)
    if plugin is None and record is None:
        get_plugin(name, plugins)
    if record is not None and record.state == State.ENABLED:
        raise PluginError(f"plugin {name!r} is enabled; disable it first")
    if purge:
        from kernel.plugin_lifecycle.plugin_migrations import purge_tables

        purge_tables(name, plugin, record, plugin_migrations_dir, discover_all())
        db.session.execute(db.delete(PluginSetting).where(PluginSetting.plugin == name))
    if record is not None:
        db.session.delete(record)
    audit.record("plugin.uninstalled", name, {"purge": purge}, actor=actor, commit=False)
    db.session.commit()
    if plugin is not None and plugin.source == "folder":
        shutil.rmtree(plugin.path)
        return f"removed {plugin.path}"
    if plugin is not None and plugin.distribution:
        return f"run 'pip uninstall {plugin.distribution}' to remove its files"
    return ""


# --- events and reporting ------------------------------------------------------------


def notify(hook: str, name: str, extra: list[DiscoveredPlugin] | None = None) -> None:
    """Call a lifecycle event on the current app's plugins (plus ``extra`` ones); log failures."""
    from kernel.plugin_lifecycle.loader import import_plugin, new_plugin_manager

    host = current_app.extensions.get(HOST_KEY)
    pm = new_plugin_manager()
    if host is not None:
        for other, obj in host.loaded.items():
            pm.register(obj, name=other)
    for plugin in extra or []:
        record = db.session.get(PluginRecord, plugin.name)
        if plugin.name in (host.loaded if host else {}) or record is None:
            continue
        try:
            admission = admission_for(plugin, record)
        except NotAdmitted:
            continue  # never import code without a current verdict
        try:
            pm.register(import_plugin(plugin, admission), name=plugin.name)
        except Exception:  # noqa: BLE001
            current_app.logger.exception("%s could not be imported for %s", plugin.name, hook)
    from kernel.hooks import answers_from

    for _plugin, _answer, _error in answers_from(pm, hook, name=name):
        pass  # each listener in its error boundary: logged and counted, the change stands


def describe(
    plugin: DiscoveredPlugin | None,
    record: PluginRecord | None,
    plugins: dict[str, DiscoveredPlugin],
    enabled: set[str],
) -> dict[str, Any]:
    """One row of ``plugin list``/``info`` and the admin page.

    ``state``, ``reason`` and ``verdict`` are what the loader enforces right now: an
    enabled plugin whose files no longer match its verdict shows ``update_pending`` and
    why, before any process has rebuilt. ``scan`` is the latest scan, whatever its files.
    """
    from kernel.plugin_lifecycle.admission import gate_status
    from kernel.security import latest_scan

    name = plugin.name if plugin else record.name
    manifest = plugin.manifest if plugin else None
    scan = latest_scan(name)
    state = record.state if record else State.DISCOVERED
    reason = record.reason if record else ""
    gate = gate_status(plugin, record)
    verdict = scan.verdict if scan else "not scanned"
    if state == State.ENABLED:
        verdict = "warn (accepted)" if gate.verdict == "warn" else gate.verdict or "none"
        if not gate.admitted:
            state, reason = State.UPDATE_PENDING, gate.reason
    if plugin is None:
        reason = reason or "no longer installed"
    elif not plugin.ok:
        reason = "; ".join(map(str, plugin.errors))
    return {
        "name": name,
        "display_name": manifest.display_name if manifest else name,
        "version": plugin.version if plugin else (record.version if record else ""),
        "state": str(state),
        "reason": reason,
        "verdict": verdict,
        "source": plugin.source if plugin else "missing",
        "path": str(plugin.path) if plugin and plugin.path else "",
        "description": manifest.description if manifest else "",
        "author": manifest.author if manifest else "",
        "license": manifest.license if manifest else "",
        "kernel": manifest.kernel if manifest else "",
        "capabilities": manifest.capabilities if manifest else [],
        "requires": manifest.requires if manifest else {},
        "dependents": [n for n, p in plugins.items() if p.manifest and name in p.manifest.requires],
        "settings": sorted(manifest.settings) if manifest else [],
        "errors": [str(e) for e in plugin.errors] if plugin else [],
        "warnings": plugin.warnings if plugin else [],
        "hook_errors": health.summary(name),
        "scan": {
            "verdict": scan.verdict,
            "at": scan.created_at.isoformat(timespec="seconds"),
            "findings": len(scan.findings or []),
        }
        if scan
        else None,
    }


def list_plugins() -> list[dict[str, Any]]:
    plugins = discover_all()
    records = {r.name: r for r in db.session.scalars(db.select(PluginRecord))}
    enabled = {n for n, r in records.items() if r.state == State.ENABLED}
    names = sorted(set(plugins) | set(records))
    return [describe(plugins.get(n), records.get(n), plugins, enabled) for n in names]


def info(name: str) -> dict[str, Any]:
    for row in list_plugins():
        if row["name"] == name:
            return row
    get_plugin(name)  # raises the "no plugin named" error
    raise PluginError(f"no plugin named {name!r}")
