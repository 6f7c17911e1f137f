"""Admin: servers (filter by state) and what staff do to them: expiry, suspension, deletion,
retrying a failed creation, creating one for a customer."""

from __future__ import annotations

from datetime import datetime

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user

from builtin_plugins.store import reconciler, services, staff
from builtin_plugins.store.lifecycle import TRANSITIONS, IllegalMove
from builtin_plugins.store.models import PricePlan, Product, Service
from builtin_plugins.store.services import StoreError
from kernel import (
    PagingError,
    ProtectedBaseView,
    db,
    keyset_page_url,
    site_setting,
    wallet_balance,
)

PERMISSION = "store.manage"


def _user(user_id: int):
    from kernel import User

    return db.session.get(User, user_id)


def _users(user_ids) -> dict:
    """The accounts of a page's rows in one query (``{id: User}``; a missing id maps to None)."""
    from kernel import User

    ids = sorted(set(user_ids))
    found = (
        {u.id: u for u in db.session.scalars(db.select(User).where(User.id.in_(ids)))}
        if ids
        else {}
    )
    return {i: found.get(i) for i in ids}


def _checked(name: str) -> bool:
    return request.form.get(name, "") not in ("", "0", "false", "off")


class ServersView(ProtectedBaseView):
    permission = PERMISSION

    def __init__(self):
        super().__init__(
            name="Servers", endpoint="store_servers", url="/admin/store/servers", category="Store"
        )

    def _service(self, service_id: int) -> Service:
        return db.session.get(Service, service_id) or abort(404)

    @expose("/")
    def index(self):
        state = request.args.get("state", "")
        email = request.args.get("email", "")
        state = state if state in TRANSITIONS else ""
        status = 200
        try:
            page = staff.list_servers(state, email, request.args)
        except PagingError as exc:
            flash(f"{exc}; showing the newest servers", "error")
            page, status = staff.list_servers(state, email), 400
        users = _users(s.user_id for s in page.items)
        return self.render(
            "admin/store/servers.html",
            rows=page.items,
            users=users,
            states=TRANSITIONS,
            state=state,
            email=email,
            keyset=page,
            keyset_url=keyset_page_url,
            currency=site_setting("currency"),
        ), status

    @expose("/<int:service_id>")
    def detail(self, service_id: int, status: int = 200):
        service = self._service(service_id)
        user = _user(service.user_id)
        return self.render(
            "admin/store/server.html",
            service=service,
            user=user,
            balance=wallet_balance(service.user_id),
            history=reconciler.history(service.id),
            currency=site_setting("currency"),
        ), status

    def _act(self, service_id: int, action, done: str):
        service = self._service(service_id)
        try:
            action(service)
        except (StoreError, IllegalMove) as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return self.detail(service_id, status=400)
        flash(done, "success")
        return redirect(url_for(".detail", service_id=service_id), 303)

    @expose("/<int:service_id>/expiry", methods=("POST",))
    def expiry(self, service_id: int):
        def move(service):
            text = request.form.get("expires_at", "").strip()
            try:
                when = datetime.fromisoformat(text)
            except ValueError:
                raise StoreError(f"{text!r} is not a date and time (YYYY-MM-DD HH:MM)") from None
            staff.set_expiry(
                service,
                when.replace(tzinfo=None, second=0, microsecond=0),
                actor=current_user.email,
            )

        return self._act(service_id, move, "Expiry changed")

    @expose("/<int:service_id>/suspend", methods=("POST",))
    def suspend(self, service_id: int):
        reason = request.form.get("reason", "").strip() or "staff"
        return self._act(
            service_id,
            lambda s: services.suspend(s, manual=True, reason=reason, actor=current_user.email),
            "Suspended by staff: a payment will not lift it",
        )

    @expose("/<int:service_id>/unsuspend", methods=("POST",))
    def unsuspend(self, service_id: int):
        return self._act(
            service_id,
            lambda s: services.unsuspend(s, manual=True, actor=current_user.email),
            "Unsuspended",
        )

    @expose("/<int:service_id>/delete", methods=("POST",))
    def delete(self, service_id: int):
        force = _checked("force")
        return self._act(
            service_id,
            lambda s: services.terminate(s, actor=current_user.email, force=force),
            "Server deleted",
        )

    @expose("/<int:service_id>/retry", methods=("POST",))
    def retry(self, service_id: int):
        charge = _checked("charge")

        def again(service):
            services.retry_provisioning(service, charge=charge, actor=current_user.email)
            db.session.refresh(service)
            if service.state == "provisioning_failed":
                raise StoreError(f"provisioning failed again: {service.last_error}")

        return self._act(
            service_id,
            again,
            "Provisioning retried" + (" and charged" if charge else " without charging"),
        )

    @expose("/new", methods=("GET", "POST"))
    def new(self):
        products = list(db.session.scalars(db.select(Product).order_by(Product.name)))
        form = {"email": request.values.get("email", ""), "plan": "", "name": "", "slots": "1"}
        status = 200
        if request.method == "POST":
            form = {k: request.form.get(k, "").strip() for k in ("email", "plan", "name", "slots")}
            try:
                user = staff.find_user(form["email"])
                plan = db.session.get(PricePlan, int(form["plan"] or 0))
                if plan is None:
                    raise StoreError("choose a product and plan")
                service = staff.create_for_user(
                    current_user,
                    user,
                    plan.product,
                    plan,
                    name=form["name"],
                    slots=int(form["slots"] or 1),
                    free=not _checked("charge"),
                )
            except (StoreError, ValueError) as exc:
                db.session.rollback()
                flash(str(exc), "error")
                status = 400
            else:
                flash(f"Server #{service.id} created for {user.email}", "success")
                return redirect(url_for(".detail", service_id=service.id), 303)
        return self.render(
            "admin/store/server_new.html",
            products=products,
            form=form,
            currency=site_setting("currency"),
        ), status
