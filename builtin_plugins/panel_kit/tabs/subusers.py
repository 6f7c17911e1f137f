"""The users tab: sharing a server with other local accounts as panel subusers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from builtin_plugins.panel_kit import errors
from builtin_plugins.panel_kit.tabs.access import Access, forget, subuser_row
from builtin_plugins.panel_kit.tabs.actions import (
    MAX_NAME,
    UUID,
    TabError,
    key_input,
    record,
    require,
    with_client,
)
from builtin_plugins.panel_kit.tabs.adapter import PanelTabs
from kernel import db

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _permissions(access: Access, chosen: Iterable[str]) -> list[str]:
    known = access.panel.permissions
    wanted = sorted(
        {str(p).strip() for p in chosen if str(p).strip()} - access.panel.always_permissions
    )
    unknown = [p for p in wanted if p not in known]
    if unknown:
        raise TabError(_("Unknown permission: %(names)s.", names=", ".join(unknown)[:200]))
    if not wanted:
        raise TabError(_("Choose at least one permission."))
    beyond = [p for p in wanted if p not in access.granted]
    if beyond:
        raise TabError(
            _(
                "You cannot grant permissions you do not have yourself: %(names)s.",
                names=", ".join(beyond),
            ),
            403,
        )
    return wanted


def _subuser_uuid(value: str) -> str:
    return key_input(value, UUID, _("There is no such subuser."), lower=True)


def _own_panel_uuid(access: Access) -> str:
    if access.owner:
        return ""
    row = subuser_row(access.panel, access.service.id, access.user_id)
    return row.panel_uuid if row else ""


def subusers(access: Access) -> dict[str, Any]:
    """The panel's subusers of the server, each with the local account it maps to."""
    require(access, "user.read")
    from kernel import User

    Subuser = access.panel.subuser_model
    always = access.panel.always_permissions
    items = with_client(access, lambda c: c.client.list_subusers(access.identifier))
    service = access.service
    rows = {
        r.panel_uuid: r
        for r in db.session.scalars(db.select(Subuser).where(Subuser.service_id == service.id))
    }
    adopted = False
    for item in items:
        uuid = str(item.get("uuid") or "")
        row = rows.get(uuid)
        if row is None:  # added in the panel itself: adopt it when it is one of our accounts
            user_id = access.panel.local_user_id(item)
            if user_id is not None and user_id != service.user_id:
                row = Subuser(service_id=service.id, user_id=user_id, panel_uuid=uuid)
                db.session.add(row)
                rows[uuid] = row
                adopted = True
        item["local_user"] = db.session.get(User, row.user_id) if row is not None else None
        held = set(item.get("permissions") or []) - always
        item["retired"] = [
            {"name": old, "now": new}
            for old, new in access.panel.retired_permissions
            if old in held
        ]
        item["permissions"] = sorted(held - {r["name"] for r in item["retired"]})
    known = {str(i.get("uuid")) for i in items}
    for uuid, row in list(rows.items()):
        if uuid not in known and row.id is not None:  # removed in the panel
            db.session.delete(row)
            adopted = True
    if adopted:
        try:
            db.session.commit()
        except IntegrityError:  # adopted by a concurrent request: theirs stands
            db.session.rollback()
        forget()
    return {"items": items, "me": _own_panel_uuid(access)}


def not_granted(chosen: Iterable[str], answer: dict[str, Any]) -> list[str]:
    """The chosen permissions the panel's answer does not list: a panel that drops what it
    does not know (or what the granter lacks) silently, as Pelican does, answers 200 with
    fewer permissions than were sent."""
    given = answer.get("permissions") if isinstance(answer, dict) else None
    if not isinstance(given, list):
        return []  # an answer without the list tells nothing
    return sorted(set(chosen) - {str(p) for p in given})


def invite_subuser(access: Access, email: str, permissions: Iterable[str]) -> dict[str, Any]:
    """Share the server with the local account ``email`` as a panel subuser; the answer's
    ``not_granted`` lists the chosen permissions the panel left out."""
    require(access, "user.create")
    from kernel import User

    Subuser = access.panel.subuser_model
    address = str(email or "").strip()
    if not EMAIL.match(address) or len(address) > MAX_NAME:
        raise TabError(_("Enter the email address of the account to invite."))
    chosen = _permissions(access, permissions)
    user = db.session.scalar(db.select(User).where(db.func.lower(User.email) == address.lower()))
    if user is None:
        raise TabError(
            _(
                "No account here uses %(email)s. Ask them to register first, then "
                "invite them again.",
                email=address,
            )
        )
    if user.id == access.service.user_id:
        raise TabError(_("%(email)s owns this server already.", email=address))
    if subuser_row(access.panel, access.service.id, user.id) is not None:
        raise TabError(
            _("%(email)s has access already; change their permissions below.", email=address)
        )

    def invite(client) -> dict[str, Any]:
        email = access.panel.panel_email(client, user)
        return client.client.create_subuser(access.identifier, email, chosen)

    created = with_client(access, invite)
    db.session.add(
        Subuser(
            service_id=access.service.id, user_id=user.id, panel_uuid=str(created.get("uuid") or "")
        )
    )
    try:
        db.session.commit()
    except IntegrityError:  # the same invitation, sent twice at once
        db.session.rollback()
        raise TabError(
            _("%(email)s has access already; change their permissions below.", email=address)
        ) from None
    forget()
    dropped = not_granted(chosen, created)
    record(access, "subuser_invite", email=user.email, permissions=chosen, not_granted=dropped)
    return {**created, "not_granted": dropped}


def update_subuser(access: Access, uuid: str, permissions: Iterable[str]) -> list[str]:
    """Set a subuser's permissions; the chosen ones the panel left out (see not_granted)."""
    require(access, "user.update")
    target = _subuser_uuid(uuid)
    if target == _own_panel_uuid(access):
        raise TabError(_("You cannot change your own permissions."), 403)
    chosen = _permissions(access, permissions)
    answer = with_client(
        access, lambda c: c.client.update_subuser(access.identifier, target, chosen)
    )
    forget()
    dropped = not_granted(chosen, answer)
    record(access, "subuser_update", subuser=target, permissions=chosen, not_granted=dropped)
    return dropped


def remove_subuser(access: Access, uuid: str) -> None:
    require(access, "user.delete")
    Subuser = access.panel.subuser_model

    target = _subuser_uuid(uuid)
    if target == _own_panel_uuid(access):
        raise TabError(_("You cannot remove yourself; ask the server's owner."), 403)

    def remove(client):
        try:
            client.client.delete_subuser(access.identifier, target)
        except errors.NotFound:
            pass  # gone in the panel already: forget it here too

    with_client(access, remove)
    db.session.execute(
        db.delete(Subuser).where(
            Subuser.service_id == access.service.id, Subuser.panel_uuid == target
        )
    )
    db.session.commit()
    forget()
    record(access, "subuser_remove", subuser=target)


def shares(panel: PanelTabs, user):
    """The query of live services of ``panel`` shared with ``user`` as a subuser (newest
    first). Only this panel's services count: a share row pointing at another panel's
    service (a moved product, a forged row) shows nothing here, as its tabs answer 404."""
    Subuser = panel.subuser_model
    store = panel.store
    return (
        db.select(store.Service)
        .join(Subuser, Subuser.service_id == store.Service.id)
        .join(store.Product, store.Product.id == store.Service.product_id)
        .where(
            Subuser.user_id == user.id,
            store.Service.state != store.TERMINATED,
            store.Product.provisioner == panel.provisioner,
        )
        .order_by(Subuser.id.desc())
    )


def shared_with(panel: PanelTabs, user) -> list:
    """Live store services of ``panel`` shared with ``user`` as a subuser (newest first)."""
    return list(db.session.scalars(shares(panel, user)))
