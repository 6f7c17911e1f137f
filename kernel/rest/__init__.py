"""The REST API at ``/api/v1`` (docs/api.md): tokens, scopes, the one error shape, the
kernel's endpoints, and the ``register_api_blueprints`` hook through which plugins (the
store) add theirs to the same OpenAPI document.

This package is not the plugin API (that is the ``kernel`` package itself); plugins reach
the parts they need through it: ``ApiBlueprint``, ``ApiError``, ``api_idempotent``.
"""

from __future__ import annotations

from flask import Flask

from kernel.rest.framework import API_ROOT, ApiBlueprint, make_api


def _plugin_root(host, name: str, blueprint: ApiBlueprint) -> str:
    """Builtin plugins (shipped with pteroca) mount at /api/v1; others under
    /api/v1/plugins/<name>, so no installed plugin can shadow a kernel endpoint."""
    plugin = host.discovered.get(name)
    root = (
        API_ROOT
        if plugin is not None and plugin.distribution == "pteroca"
        else f"{API_ROOT}/plugins/{name}"
    )
    if blueprint.url_prefix:
        root = root.rstrip("/") + "/" + blueprint.url_prefix.strip("/")
    return root


def init_rest(app: Flask, host) -> None:
    """The API of this app generation: the kernel's blueprints, then each loaded plugin's.
    Call after every other route and error handler (kernel/app.py, ``_build_web``)."""
    from kernel.hooks import answers, is_kernel
    from kernel.plugin_lifecycle.loader import fault_plugin as _fault
    from kernel.rest import (
        admin_api,
        admin_plugins,
        admin_webhooks,
        auth,
        customer,
        docs,
        errors,
        token_pages,
    )

    csrf = app.extensions["csrf"]  # Flask-WTF's CSRFProtect, set up by create_app
    api = make_api(app)
    for blueprint in (customer.bp, admin_api.bp, admin_plugins.bp, admin_webhooks.bp):
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint, url_prefix=API_ROOT)
    app.register_blueprint(docs.bp)
    app.register_blueprint(token_pages.bp)
    with app.app_context():
        for name, blueprints, error in answers("register_api_blueprints"):
            if is_kernel(name):
                continue
            if error is not None:
                _fault(
                    host, name, f"register_api_blueprints failed: {type(error).__name__}: {error}"
                )
                continue
            try:
                for blueprint in blueprints or []:
                    if not isinstance(blueprint, ApiBlueprint):
                        raise TypeError(f"{blueprint!r} is not a kernel ApiBlueprint")
                    csrf.exempt(blueprint)
                    # named after the plugin: no plugin can take a kernel blueprint's name
                    api.register_blueprint(
                        blueprint,
                        url_prefix=_plugin_root(host, name, blueprint),
                        name=f"{name}-{blueprint.name}",
                    )
            except Exception as exc:  # noqa: BLE001
                _fault(host, name, f"register_api_blueprints failed: {type(exc).__name__}: {exc}")
    from kernel.rest.admin_tokens import ApiTokensView
    from kernel.rest.admin_webhook_pages import WebhooksView

    for admin in app.extensions.get("admin", []):
        admin.add_view(ApiTokensView())
        admin.add_view(WebhooksView())
    auth.init_auth(app)
    errors.install(app)
