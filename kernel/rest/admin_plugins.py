"""Admin endpoints of plugins: list, scan, enable, disable, through the same gate as the
admin page. A HIGH finding needs ``accept_risk: true`` (409 with the findings otherwise),
a CRITICAL one cannot be accepted; disabling a plugin others need asks for ``cascade``."""

from __future__ import annotations

import marshmallow as ma
from flask_login import current_user

from kernel import audit
from kernel.plugin_lifecycle import services
from kernel.rest.errors import ApiError
from kernel.rest.framework import ApiBlueprint
from kernel.rest.schemas import StrictSchema

bp = ApiBlueprint("admin_plugins", __name__, description="Administration: plugins")

NAME = {"plugin": ma.fields.String(validate=ma.validate.Length(1, 100))}


class ScanOut(ma.Schema):
    name = ma.fields.String(required=True)
    verdict = ma.fields.String(required=True)
    findings = ma.fields.Dict(required=True, metadata={"description": "severity -> count"})


class PluginOut(ma.Schema):
    name = ma.fields.String(required=True)
    display_name = ma.fields.String(required=True)
    version = ma.fields.String(required=True)
    state = ma.fields.String(required=True)
    reason = ma.fields.String(required=True)
    verdict = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    capabilities = ma.fields.List(ma.fields.String(), required=True)
    requires = ma.fields.Dict(required=True)
    dependents = ma.fields.List(ma.fields.String(), required=True)


class EnableIn(StrictSchema):
    with_dependencies = ma.fields.Boolean(load_default=False)
    accept_risk = ma.fields.Boolean(
        load_default=False,
        metadata={
            "description": "accept HIGH findings (audited); CRITICAL ones are never accepted"
        },
    )


class DisableIn(StrictSchema):
    cascade = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "also disable the enabled plugins that require it"},
    )


class ChangedOut(ma.Schema):
    changed = ma.fields.List(ma.fields.String(), required=True)


def _refused(exc: Exception) -> ApiError:
    from kernel.extensions import db

    db.session.rollback()
    return ApiError(422, str(exc))


def _known(name: str) -> None:
    try:
        services.get_plugin(name)
    except services.user_errors():
        raise ApiError(404, f"No plugin named {name}.") from None


@bp.get("/admin/plugins")
@bp.scope("admin:plugins")
@bp.response(200, PluginOut(many=True))
def plugins():
    """Every plugin found or recorded, with its state and scan verdict."""
    return services.list_plugins()


@bp.post("/admin/plugins/<plugin>/scan")
@bp.scope("admin:plugins")
@bp.response(200, ScanOut)
def scan(plugin):
    """Scan now (bandit, the file rules, the advisory check)."""
    from kernel.plugin_lifecycle.rescan import scan_and_enforce

    _known(plugin)
    try:
        record = scan_and_enforce(services.get_plugin(plugin), force=True, actor=current_user.email)
    except services.user_errors() as exc:
        raise _refused(exc) from None
    audit.record(
        "plugin.scanned",
        plugin,
        {"verdict": record.verdict, "scan_id": record.id},
        actor=current_user.email,
    )
    return {"name": plugin, "verdict": record.verdict, "findings": record.counts()}


@bp.post("/admin/plugins/<plugin>/enable")
@bp.scope("admin:plugins")
@bp.arguments(EnableIn)
@bp.response(200, ChangedOut)
def enable(data, plugin):
    """Scan, migrate and enable; takes effect on every process without a restart."""
    from kernel.security import ConfirmationRequired, Severity

    _known(plugin)
    try:
        done = services.enable(
            plugin,
            with_dependencies=data["with_dependencies"],
            accept_risk=data["accept_risk"],
            actor=current_user.email,
        )
    except ConfirmationRequired as exc:
        findings = [
            f"{f.severity.name} {f.brief()}: {f.message}"[:300]
            for f in exc.record.at_least(Severity.HIGH)
        ]
        raise ApiError(
            409, str(exc), errors={"accept_risk": findings}, type="confirmation_required"
        ) from None
    except services.user_errors() as exc:
        raise _refused(exc) from None
    return {"changed": done}


@bp.post("/admin/plugins/<plugin>/disable")
@bp.scope("admin:plugins")
@bp.arguments(DisableIn)
@bp.response(200, ChangedOut)
def disable(data, plugin):
    """Disable (and with ``cascade`` the plugins that need it)."""
    _known(plugin)
    try:
        return {
            "changed": services.disable(plugin, cascade=data["cascade"], actor=current_user.email)
        }
    except services.user_errors() as exc:
        raise _refused(exc) from None
