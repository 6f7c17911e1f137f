"""The one hook caller: every plugin's implementation runs inside its own error boundary.

pluggy calls a hook's implementations in one loop and lets the first exception escape, so one
failing plugin would break the page, the registration or the payment that fired the hook.
Every call site in the kernel (and every plugin calling its own hookspecs) goes through the
functions below instead; each implementation is called separately, in pluggy's order, and
what happens when one raises depends on the kind of hook:

- **events and collections** (:func:`call_hook`, :func:`collect`): the exception is logged with
  the plugin's name, counted in the plugin's health, and the other plugins and the core flow go
  on. A collection (menus, widgets, assets) whose implementation raises or answers something
  that is not a list of the right items leaves that plugin's part of the slot empty.
- **vetoes** (:func:`call_veto`): all must agree. Every plugin is asked in turn; ``None``,
  ``False`` and ``""`` mean "no objection"; the first refusal wins (its reason string is shown);
  a veto that raises refuses with :data:`GENERIC_REFUSAL` (and the log line says why).
- **first answer** (:func:`call_first`): the first non-None answer; one that raises is skipped.

The kernel's own implementations (registered as ``kernel.<concern>``, :mod:`kernel.defaults`)
are not guarded: their exceptions are kernel bugs and surface as such. Failures are counted by
:mod:`kernel.plugins.health`, which faults a plugin that keeps failing, cluster-wide.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pluggy
from flask import Flask, current_app
from flask_babel import lazy_gettext as _l

from kernel.plugins import health
from kernel.plugins.host import HOST_KEY

KERNEL = "kernel"

# What a refusing veto that raised says to the person whose action it refused.
GENERIC_REFUSAL = _l("This action could not be checked right now; please try again later.")

# Events the kernel fires after its own transaction committed: an implementation that raises
# has its uncommitted changes rolled back, so the core flow goes on with a clean session.
AFTER_COMMIT_EVENTS = frozenset(
    {
        "plugin_enabled",
        "plugin_disabled",
        "user_registered",
        "user_logged_in",
        "user_updated",
        "user_password_changed",
        "payment_settled",
        "payment_refunded",
        "wallet_changed",
        "erase_personal_data",
    }
)


class HookCallError(TypeError):
    """A call site did not pass an argument that an implementation asks for (a kernel bug)."""


def is_kernel(plugin: str) -> bool:
    """True for the kernel's own implementations (``kernel`` and ``kernel.<concern>``, see
    :mod:`kernel.defaults`): they run outside the error boundary. A plugin's name has no dot."""
    return plugin == KERNEL or plugin.startswith(KERNEL + ".")


def _arguments(hook: str, impl: pluggy.HookImpl, kwargs: dict[str, Any]) -> list[Any]:
    try:
        return [kwargs[name] for name in impl.argnames]
    except KeyError as missing:
        raise HookCallError(
            f"{hook} called without {missing}, which {impl.plugin_name} takes"
        ) from None


def _failed(app: Flask, hook: str, plugin: str, exc: BaseException) -> None:
    """Log, count and (for after-commit events) roll back one implementation's failure."""
    app.logger.error(
        "plugin %s: %s raised %s: %s", plugin, hook, type(exc).__name__, exc, exc_info=exc
    )
    from kernel.extensions import db

    if "sqlalchemy" in app.extensions:  # an app without a database (a bare test app) has none
        session = db.session()
        if hook in AFTER_COMMIT_EVENTS or not session.is_active:
            session.rollback()
    health.tracker(app).failed(app, plugin, hook, exc)


def wrapper_hooks(pm: pluggy.PluginManager, plugin: str) -> list[str]:
    """Hooks ``plugin`` implements as a pluggy wrapper: the caller runs each implementation on
    its own, so a wrapper would never wrap anything; the loader refuses them."""
    return sorted(
        caller.name
        for caller in pm.get_hookcallers(pm.get_plugin(plugin)) or []
        for impl in caller.get_hookimpls()
        if impl.plugin_name == plugin and (impl.hookwrapper or impl.wrapper)
    )


def report_failure(plugin: str, hook: str, exc: Exception) -> None:
    """Count a failure the call site found in a plugin's answer (a wrong type, say)."""
    app = current_app._get_current_object()
    if is_kernel(plugin):
        raise exc
    _failed(app, hook, plugin, exc)


def _answers(
    hook: str, kwargs: dict[str, Any], pm: pluggy.PluginManager | None = None
) -> Iterator[tuple[str, Any, Exception | None]]:
    """``(plugin, answer, error)`` per implementation, in pluggy's call order."""
    app = current_app._get_current_object()
    caller = getattr((pm or app.extensions[HOST_KEY].pm).hook, hook)
    tracker = health.tracker(app)
    failing = tracker.failing.get(hook)
    for impl in reversed(caller.get_hookimpls()):
        args = _arguments(hook, impl, kwargs)
        name = impl.plugin_name
        if is_kernel(name):
            yield name, impl.function(*args), None
            continue
        try:
            answer = impl.function(*args)
        except Exception as exc:  # noqa: BLE001 - the error boundary of one plugin
            _failed(app, hook, name, exc)
            yield name, None, exc
            continue
        if failing and name in failing:
            tracker.succeeded(name, hook)
        yield name, answer, None


def call_hook(hook: str, /, **kwargs: Any) -> list[Any]:
    """Call every implementation of ``hook`` in its own error boundary; the non-None answers."""
    app = current_app._get_current_object()
    caller = getattr(app.extensions[HOST_KEY].pm.hook, hook)
    impls = caller.get_hookimpls()
    if not impls:
        return []
    tracker = health.tracker(app)
    failing = tracker.failing.get(hook)
    results: list[Any] = []
    for impl in reversed(impls):
        args = _arguments(hook, impl, kwargs)
        name = impl.plugin_name
        if is_kernel(name):
            result = impl.function(*args)
        else:
            try:
                result = impl.function(*args)
            except Exception as exc:  # noqa: BLE001 - the error boundary of one plugin
                _failed(app, hook, name, exc)
                continue
            if failing and name in failing:
                tracker.succeeded(name, hook)
        if result is not None:
            results.append(result)
    return results


def collect(hook: str, /, item_type: type | tuple[type, ...] = object, **kwargs: Any) -> list[Any]:
    """The items of a hook whose implementations return lists (menus, widgets, asset URLs).

    An implementation that raises, or answers anything but a list or tuple of ``item_type``,
    contributes nothing and counts as a failure of its plugin.
    """
    items: list[Any] = []
    for name, answer, error in _answers(hook, kwargs):
        if error is not None or not answer:
            continue
        if not isinstance(answer, (list, tuple)) or not all(
            isinstance(item, item_type) for item in answer
        ):
            report_failure(
                name,
                hook,
                TypeError(
                    f"{hook} must return a list of {_type_names(item_type)}, not {answer!r:.200}"
                ),
            )
            continue
        items.extend(answer)
    return items


def _type_names(item_type: type | tuple[type, ...]) -> str:
    types = item_type if isinstance(item_type, tuple) else (item_type,)
    return " or ".join(t.__name__ for t in types)


def call_first(hook: str, /, **kwargs: Any) -> Any:
    """The first non-None answer of ``hook`` (implementations that raise are skipped), or None."""
    for _name, answer, _error in _answers(hook, kwargs):
        if answer is not None:
            return answer
    return None


def is_objection(answer: Any) -> bool:
    """True when a veto answer refuses: anything but None, False and ``""``."""
    return not (answer is None or answer is False or answer == "")


def call_veto(hook: str, /, **kwargs: Any) -> str | None:
    """All must agree: the first refusal's reason, or None when no plugin objects.

    Every implementation is asked until one refuses: ``None``, ``False`` and ``""`` are no
    objection, a string is a refusal with that reason, any other true value (``True``) or an
    exception is a refusal with :data:`GENERIC_REFUSAL`.
    """
    for name, answer, error in _answers(hook, kwargs):
        if error is not None:
            return str(GENERIC_REFUSAL)
        if not is_objection(answer):
            continue
        if answer is True:
            current_app.logger.warning(
                "plugin %s: %s refused without a reason (return a string saying why)", name, hook
            )
            return str(GENERIC_REFUSAL)
        return str(answer)
    return None


def answers(hook: str, /, **kwargs: Any) -> Iterator[tuple[str, Any, Exception | None]]:
    """``(plugin, answer, error)`` for each implementation, each in its error boundary (``error``
    is the exception it raised, already logged and counted): for call sites with a policy of
    their own (``topup_adjustment``, mounting blueprints)."""
    return _answers(hook, kwargs)


def answers_from(
    pm: pluggy.PluginManager, hook: str, /, **kwargs: Any
) -> Iterator[tuple[str, Any, Exception | None]]:
    """:func:`answers` from another plugin manager than the app's (lifecycle events reach the
    plugin just enabled, which the current app has not loaded yet)."""
    return _answers(hook, kwargs, pm)
