"""Every route x every role, generated from the app's URL map and the permission rules.

The rules: a handful of public endpoints; everything under /admin needs ``admin.access`` plus
the view's own permission; everything under /api/ needs a bearer token (a session cookie,
whatever its role, gets 401: tests/api checks tokens and scopes); every other page needs a
login. Nothing ever answers 500. Every state-changing route refuses a request without a CSRF
token, except the API's, which a browser cannot call without the token.
"""

from __future__ import annotations

import re

import pytest

from kernel.testing import build_app, login, rebuild, run_cli
from tests.helpers import PASSWORD, make_user

ROLES = ("anonymous", "customer", "support", "admin")
PUBLIC = {
    "web.landing",
    "web.login",
    "web.logout",
    "web.health",
    "web.favicon",
    "web.theme_static",
    "web.plugin_static",
    "web.register",
    "web.forgot_password",
    "web.reset_password",
    "web.verify_email",
    "web.confirm_email_change",
    "web.login_2fa",
    "static",
    "admin.static",
    "store.store_index",
    "store.category",
    "store.product",
}
SKIP = {"static", "admin.static", "web.theme_static", "web.plugin_static"}  # files, not pages
WEBHOOK = re.compile(r"^/payments/<[^>]+>/webhook$")
API_PUBLIC = {"api-docs.openapi_json", "api_reference.reference", "api_reference.static"}


def fill(rule) -> str:
    """A concrete URL for ``rule``: numbers become 1, other parts a plausible word."""
    url = rule.rule
    for converter, name in re.findall(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", rule.rule):
        value = "1" if converter == "int" else "hello_world" if name in ("plugin", "name") else "x"
        url = re.sub(r"<[^>]*\b" + name + r">", value, url, count=1)
    return url


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    instance = tmp_path_factory.mktemp("matrix") / "instance"
    app = build_app(instance)

    for plugin in ("hello_world", "store"):
        result = run_cli(app, "plugin", "enable", plugin, "--accept-risk")
        assert result.exit_code == 0, result.output
    app = rebuild(app)
    with app.app_context():
        for role in ROLES[1:]:
            make_user(f"{role}@example.com", role=role)
    return app


def admin_permissions(app) -> dict[str, str | None]:
    """Endpoint prefix of every admin view -> the permission it needs beyond admin.access."""
    admin = (
        next(iter(app.extensions["admin"]))
        if isinstance(app.extensions.get("admin"), list)
        else app.extensions.get("admin")
    )
    views = admin._views if hasattr(admin, "_views") else []
    return {view.endpoint: getattr(view, "permission", None) for view in views}


def role_permissions(app, role: str) -> set[str]:
    from kernel.accounts.models import Role
    from kernel.extensions import db

    with app.app_context():
        return set(db.session.get(Role, role).permissions or [])


def expected(app, rule, role) -> str:
    """ "ok" (any non-error answer), "login" (sent to the login page) or "forbidden" (403)."""
    endpoint = rule.endpoint
    if endpoint in PUBLIC or endpoint in API_PUBLIC:
        return "ok"
    if rule.rule.startswith("/api/"):
        return "token"
    if role == "anonymous":
        return "login"
    if rule.rule.startswith("/admin"):
        perms = role_permissions(app, role)
        if "*" in perms:
            return "ok"
        if "admin.access" not in perms:
            return "forbidden"
        needed = admin_permissions(app).get(endpoint.split(".")[0])
        return "ok" if needed is None or needed in perms else "forbidden"
    return "ok"


def get_rules(app):
    return sorted(
        (r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint not in SKIP),
        key=lambda r: r.rule,
    )


def test_matrix_is_large(world):
    assert len(get_rules(world)) >= 30


@pytest.mark.parametrize("role", ROLES)
def test_every_get_route_for_role(world, role):
    client = world.test_client()
    if role != "anonymous":
        login(client, f"{role}@example.com", PASSWORD)
    problems = []
    for rule in get_rules(world):
        if rule.endpoint in ("web.logout",):
            continue
        url = fill(rule)
        response = client.get(url)
        want = expected(world, rule, role)
        status = response.status_code
        if status >= 500:
            problems.append(f"{url}: {status}")
        elif want == "login" and not (status in (302, 303) and "/login" in response.location):
            problems.append(f"{url}: {role} got {status}, expected a login redirect")
        elif want == "token" and status != 401:
            problems.append(f"{url}: {role} got {status}, expected 401 (the API takes tokens only)")
        elif want == "forbidden" and status != 403:
            problems.append(f"{url}: {role} got {status}, expected 403")
        elif want == "ok" and status in (401, 403):
            problems.append(f"{url}: {role} got {status}, expected access")
    assert problems == []


def test_every_post_route_refuses_a_missing_csrf_token(world):
    app = rebuild(world)
    client = app.test_client()
    login(client, "admin@example.com", PASSWORD)  # logged in first, so auth is not the refusal
    app.config["WTF_CSRF_ENABLED"] = True
    posts = [r for r in app.url_map.iter_rules() if "POST" in r.methods]
    assert len(posts) >= 15
    problems = []
    for rule in posts:
        if WEBHOOK.match(rule.rule):
            continue  # providers cannot send our token; webhooks verify signatures instead
        response = client.post(fill(rule), data={"x": "1"})
        if rule.rule.startswith("/api/"):  # no CSRF token: the bearer token, which the
            if response.status_code != 401:  # session cannot supply, is the refusal
                problems.append(f"{rule.rule}: {response.status_code} without a token")
            continue
        if response.status_code != 400 or "CSRF" not in response.get_data(as_text=True):
            problems.append(f"{rule.rule}: {response.status_code}")
    assert problems == []
