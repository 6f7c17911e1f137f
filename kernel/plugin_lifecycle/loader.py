"""Loading enabled plugins into a pluggy manager, one build of the app at a time.

Only plugins that are enabled *and* admitted (:mod:`kernel.plugin_lifecycle.admission`:
a current verdict whose file list matches every file on disk) are imported, and
only through the verified loader (:mod:`kernel.plugins.verified`), which
compiles nothing but those verified bytes. Any failure (missing package, changed
files, import error, hooks without a declared capability, unknown hooks, a
raising ``startup``) faults that plugin alone; the app is still built.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pluggy
from flask import Flask

import kernel
from kernel import hookspecs
from kernel.extensions import db
from kernel.generation import read_generation
from kernel.plugin_lifecycle.admission import NotAdmitted, admission_for
from kernel.plugins import verified
from kernel.plugins.capabilities import uncovered_hooks
from kernel.plugins.deps import DependencyError, check_kernel_range, enabled_order
from kernel.plugins.discovery import DiscoveredPlugin, discover
from kernel.plugins.host import PluginHost
from kernel.plugins.models import PluginRecord
from kernel.plugins.states import State

PROJECT = "pteroca"


def new_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def _forget_tables(module: str) -> None:
    """Drop the tables of the plugin's models from the shared metadata before re-importing it."""
    registry = db.Model.registry
    for mapper in list(registry.mappers):
        owner = mapper.class_.__module__
        if owner != module and not owner.startswith(module + "."):
            continue
        if mapper.local_table.name in db.metadata.tables:
            db.metadata.remove(mapper.local_table)
        # forget the class name too, or string relationships ("Category") become ambiguous
        registry._dispose_cls(mapper.class_)


def import_plugin(plugin: DiscoveredPlugin, admission: verified.Admission) -> object:
    """Import a plugin's package (its ``__init__``) from its admission; return the object.

    Modules of the package left from another admission (an earlier generation, another
    folder, or imported before the guard) are dropped first, tables included.
    """
    verified.admit(admission, forget=_forget_tables)
    return importlib.import_module(plugin.module)


def _hook_names(pm: pluggy.PluginManager, obj: object) -> list[str]:
    return [caller.name for caller in (pm.get_hookcallers(obj) or [])]


def _persist_state(name: str, state: State, reason: str) -> None:
    record = db.session.get(PluginRecord, name)
    if record is not None and record.state == State.ENABLED:
        record.state, record.reason = state, reason
        db.session.commit()


def fault_plugin(host: PluginHost, name: str, reason: str, state: State = State.FAULTED) -> None:
    """Take ``name`` out of this build (unregistered, its reason kept) and store the state."""
    obj = host.loaded.pop(name, None)
    if obj is not None and host.pm.is_registered(obj):
        host.pm.unregister(obj)
    host.problems[name] = reason
    _persist_state(name, state, reason)


def load_plugins(app: Flask, *, plugins_dir: Path, safe_mode: bool) -> PluginHost:
    """Build the PluginHost for ``app`` (an app context must be active)."""

    pm = new_plugin_manager()
    host = PluginHost(pm=pm, discovered=discover(plugins_dir))
    host.generation = read_generation()
    if safe_mode:
        app.logger.warning("PTEROCA_SAFE_MODE is on: no plugins are loaded")
        verified.retain(set())
        return host

    records = {
        r.name: r
        for r in db.session.scalars(
            db.select(PluginRecord).where(PluginRecord.state == State.ENABLED)
        )
    }
    for name in enabled_order(host.discovered, set(records)):
        plugin = host.discovered.get(name)
        record = records[name]
        if plugin is None or not plugin.ok:
            why = "; ".join(map(str, plugin.errors)) if plugin else "no longer installed"
            fault_plugin(host, name, f"cannot load: {why}")
            continue
        try:  # the kernel may have been upgraded since the plugin was enabled
            check_kernel_range(plugin, kernel.__version__)
        except DependencyError as exc:
            fault_plugin(host, name, f"cannot load: {exc}")
            continue
        missing = [d for d in plugin.manifest.requires if d not in host.loaded]
        if missing:
            fault_plugin(host, name, f"required plugin {', '.join(missing)} is not loaded")
            continue
        try:
            admission = admission_for(plugin, record)
        except NotAdmitted as exc:
            fault_plugin(host, name, exc.reason, exc.state)
            continue
        try:
            obj = import_plugin(plugin, admission)
            pm.register(obj, name=name)
        except verified.PluginImportRefused as exc:  # a file changed after the check above
            fault_plugin(host, name, exc.reason, State.UPDATE_PENDING)
            continue
        except Exception as exc:  # noqa: BLE001 - any import error faults only this plugin
            fault_plugin(host, name, f"import failed: {type(exc).__name__}: {exc}")
            continue
        host.loaded[name] = obj

    _add_plugin_hookspecs(host)
    _check_hooks(host)
    _run_startup(app, host)
    # What this build did not load may not be imported any more (modules already imported
    # stay referenced by the previous app while its requests finish).
    verified.retain({host.discovered[n].module for n in host.loaded})
    return host


def _add_plugin_hookspecs(host: PluginHost) -> None:
    for impl in host.pm.hook.register_hookspecs.get_hookimpls():
        try:
            for spec in impl.function() or []:
                host.pm.add_hookspecs(spec)
        except Exception as exc:  # noqa: BLE001
            fault_plugin(
                host, impl.plugin_name, f"register_hookspecs failed: {type(exc).__name__}: {exc}"
            )


def _check_hooks(host: PluginHost) -> None:
    for name, obj in list(host.loaded.items()):
        names = _hook_names(host.pm, obj)
        unknown = [
            h
            for h in names
            if not getattr(host.pm.hook, h).has_spec() and not _is_optional(host.pm, h, name)
        ]
        if unknown:
            fault_plugin(host, name, f"implements unknown hooks: {', '.join(sorted(unknown))}")
            continue
        uncovered = uncovered_hooks(names, host.discovered[name].manifest.capabilities)
        if uncovered:
            fault_plugin(
                host, name, "hooks not covered by declared capabilities: " + ", ".join(uncovered)
            )
            continue
        from kernel.hooks import (
            wrapper_hooks,  # the error boundary calls one implementation at a time
        )

        wrappers = wrapper_hooks(host.pm, name)
        if wrappers:
            fault_plugin(
                host,
                name,
                "hook wrappers are not supported (each implementation runs in its "
                "own error boundary): " + ", ".join(wrappers),
            )


def _is_optional(pm: pluggy.PluginManager, hook: str, plugin: str) -> bool:
    return any(
        i.plugin_name == plugin and i.optionalhook for i in getattr(pm.hook, hook).get_hookimpls()
    )


def _run_startup(app: Flask, host: PluginHost) -> None:
    for impl in host.pm.hook.startup.get_hookimpls():
        try:
            impl.function(**{a: app for a in impl.argnames if a == "app"})
        except Exception as exc:  # noqa: BLE001
            fault_plugin(host, impl.plugin_name, f"startup failed: {type(exc).__name__}: {exc}")
