"""Users and roles CRUD: no password hashes, no granting what you do not hold."""

from __future__ import annotations

from kernel.accounts.models import Role, User
from kernel.extensions import db


def user(app, email):
    with app.app_context():
        return db.session.scalars(db.select(User).where(User.email == email)).one_or_none()


def test_list_searches_and_never_shows_hashes(app, admin, users):
    page = admin.get("/admin/users/?search=support").get_data(as_text=True)
    assert "support@example.com" in page and "customer@example.com" not in page
    for url in ("/admin/users/", "/admin/users/edit/?id=1", "/admin/users/new/"):
        text = admin.get(url).get_data(as_text=True)
        assert "$argon2" not in text and "password_hash" not in text


def test_create_user_goes_through_create_user(app, admin, users):
    response = admin.post(
        "/admin/users/new/",
        data={
            "email": "New@Example.com",
            "name": "Newbie",
            "password": "long-enough-1",
            "role": "customer",
        },
    )
    assert response.status_code == 302
    created = user(app, "new@example.com")
    assert created is not None and created.role_name == "customer"
    assert created.password_hash.startswith("$argon2")
    response = admin.post(
        "/admin/users/new/",
        data={
            "email": "new@example.com",
            "name": "Again",
            "password": "long-enough-1",
            "role": "customer",
        },
    )
    assert "already exists" in response.get_data(as_text=True)


def test_edit_name_role_and_block(app, admin, users):
    target = user(app, users["customer"])
    response = admin.post(
        f"/admin/users/edit/?id={target.id}",
        data={"email": target.email, "name": "Renamed", "role": "support", "is_blocked": "y"},
    )
    assert response.status_code == 302
    changed = user(app, users["customer"])
    assert (changed.name, changed.role_name, changed.is_blocked) == ("Renamed", "support", True)


def test_admin_cannot_lock_themselves_out(app, admin, users):
    me = user(app, users["admin"])
    response = admin.post(
        f"/admin/users/edit/?id={me.id}",
        data={"email": me.email, "name": "Admin", "role": "customer"},
        follow_redirects=True,
    )
    assert "take away your own admin access" in response.get_data(as_text=True)
    assert user(app, users["admin"]).role_name == "admin"


def test_support_cannot_grant_admin(app, as_role, users):
    support = as_role("support")
    target = user(app, users["customer"])
    support.post(
        f"/admin/users/edit/?id={target.id}",
        data={"email": target.email, "name": "X", "role": "admin"},
    )
    assert user(app, users["customer"]).role_name == "customer"
    response = support.post(
        "/admin/users/new/",
        data={"email": "sneaky@example.com", "password": "long-enough-1", "role": "admin"},
    )
    assert "cannot give the role" in response.get_data(as_text=True)
    assert user(app, "sneaky@example.com") is None
    admin_user = user(app, users["admin"])
    support.post(
        f"/admin/users/edit/?id={admin_user.id}",
        data={"email": admin_user.email, "name": "Admin", "role": "admin", "is_blocked": "y"},
    )
    assert user(app, users["admin"]).is_blocked is False


def test_roles_pick_permissions_from_registry(app, admin, as_role):
    page = admin.get("/admin/roles/new/").get_data(as_text=True)
    assert 'value="admin.themes"' in page and 'value="admin.plugins"' in page
    response = admin.post(
        "/admin/roles/new/",
        data={
            "name": "billing",
            "description": "Billing desk",
            "permissions": ["admin.access", "admin.logs"],
        },
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Role, "billing").permissions == ["admin.access", "admin.logs"]
    response = as_role("support").post(
        "/admin/roles/new/", data={"name": "escalate", "permissions": ["*"]}, follow_redirects=True
    )
    assert "cannot grant permissions you do not hold" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Role, "escalate") is None


def test_role_in_use_cannot_be_deleted(app, admin, users):
    response = admin.post("/admin/roles/delete/", data={"id": "customer"}, follow_redirects=True)
    assert "still given to users" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Role, "customer") is not None


def test_audit_log_filters_by_action(app, admin, users):
    page = admin.get("/admin/audit/?search=user.created").get_data(as_text=True)
    assert "customer@example.com" in page
    assert admin.get("/admin/audit/new/").status_code in (302, 403, 404)  # read-only
