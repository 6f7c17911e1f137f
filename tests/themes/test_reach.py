"""A hostile theme author against every page of the client area, the landing page and emails.

The survey visits every client page of a populated panel (all builtin plugins, a Pterodactyl
simulator, configured payment providers) as the customer ``bob`` and as a visitor, and sends
emails. For every theme template rendered it then does, inside that request, what a hostile
template could do with exactly the variables the template received:

* walk everything reachable through the sandbox (attributes, items, calls) and look for
  forbidden objects (ORM session, query, engine, metadata, the app, its config, the request),
  secrets (database URL, password and 2FA hashes, plugin secrets, the secret key, another
  customer's voucher) and another customer's rows;
* render the attack test's expressions (and more) on every variable, and check the output and
  that the database is unchanged afterwards.

It runs on SQLite in ``make test`` and on PostgreSQL in ``make test-postgres``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from flask import has_request_context, request, template_rendered
from jinja2.exceptions import SecurityError, UndefinedError
from sqlalchemy import inspect as sa_inspect

from kernel.extensions import db
from kernel.testing import login
from tests.themes.reach import TooMuchReachable, forbidden_types, reachable, snapshot, text_of
from tests.themes.world import PASSWORD, PUBLIC, World, build_world

# The attack test's expressions, for any variable X a template receives.
ISSUE_EXPRESSIONS = [
    "{{ X.query.session.get_bind().url.render_as_string(hide_password=False) }}",
    "{{ X.query.all() }}",
    "{% for u in X.query.all() %}{{ u.password_hash }}{% endfor %}",
    "{{ X.registry.mappers }}",
    "{% for m in X.registry.mappers %}{{ m.class_.query.all() }}{% endfor %}",
    "{{ X.metadata.tables }}",
    "{% set t = X.metadata.tables['user'] %}"
    "{{ X.query.session.execute(t.update().values(role_name='admin')) }}"
    "{{ X.query.session.commit() }}",
]
# More of the same class: other spellings, other ways in, mutations.
MORE_EXPRESSIONS = [
    "{{ X.__class__.query.all() }}",
    "{{ X._sa_instance_state.session }}",
    "{{ X|attr('query') }}",
    "{{ X|attr('metadata') }}",
    "{{ X['query'] }}",
    "{{ '{0.query.session}'.format(X) }}",
    "{{ '%s'|format(X.query) }}",
    "{{ [X]|map(attribute='password_hash')|list }}",
    "{{ [X]|sort(attribute='query')|first }}",
    "{{ X|tojson }}",
    "{{ X.password_hash }}",
    "{{ X.totp_secret }}",
    "{{ X.token_version }}",
    "{{ X.role.permissions }}",
    "{{ X.user_id }}",
    "{{ X.meta }}",
    "{{ X.options }}",
    "{{ X.provisioner_settings }}",
    "{{ X.external_id }}",
    "{{ X.purchase_token }}",
    "{{ X.service.user_id }}",
    "{{ X.product.plans[0].product.provisioner_settings }}",
    "{{ X.environ }}",
    "{{ X.application }}",
    "{{ X.get_data() }}",
    "{{ X.cookies }}",
    "{{ X.items()|list }}",
    "{{ X.update({'role_name': 'admin'}) }}",
    "{{ X.clear() }}",
    "{{ X.append(1) }}",
    "{{ X.pop() }}",
    "{{ X.__self__ }}",
    "{{ X.__globals__ }}",
    "{{ X.__init__.__globals__ }}",
    "{{ X.__func__.__globals__ }}",
    "{{ X.get_bind() }}",
    "{{ X.session }}",
    "{{ X.config }}",
    "{{ X.app }}",
]
EXPRESSIONS = ISSUE_EXPRESSIONS + MORE_EXPRESSIONS
MARKERS = ("sqlalchemy", "Engine(", "<Mapper", "$argon2", "Traceback")


@dataclass
class Survey:
    world: World
    secrets: dict[str, str]
    victim_id: int
    status: dict[str, int] = field(default_factory=dict)
    rendered: list[tuple[str, str]] = field(default_factory=list)
    reached: int = 0
    largest: int = 0
    forbidden: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    others_rows: list[str] = field(default_factory=list)
    hostile_leaks: list[str] = field(default_factory=list)
    hostile_refused: int = 0
    database_changes: list[str] = field(default_factory=list)
    compiled: dict[str, object] = field(default_factory=dict)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from builtin_plugins.pterodactyl.client import PanelClient
    from simulators.pterodactyl import Simulator
    from tests.fakes.osv_server import FakeOsv

    sim = Simulator(seed=True, install_seconds=0, power_seconds=0, backup_seconds=0)
    sim.start()
    instance = tmp_path_factory.mktemp("hostile-theme") / "instance"
    try:
        with FakeOsv() as osv, PanelClient(sim.url, sim.application_key, sim.client_key) as panel:
            built = build_world(instance, sim, panel, osv.url)
        built.panel_keys = (sim.application_key, sim.client_key)
        yield built
    finally:
        sim.stop()


def _survey_render(survey: Survey, template, context) -> None:
    env = template.environment
    if (template.name or "").startswith("admin/"):
        return  # the admin environment's (trusted templates; docs/themes.md)
    jinja_context = template.new_context(dict(context))
    roots = jinja_context.get_all()
    endpoint = request.endpoint if has_request_context() else "(no request)"
    survey.rendered.append((endpoint, template.name))
    where = f"{endpoint} {template.name}"
    banned = forbidden_types()
    try:
        values = reachable(env, jinja_context, roots, stop=banned + (type,))
    except TooMuchReachable as exc:
        survey.forbidden.append(f"{where}: {exc}")
        values = []
    survey.largest = max(survey.largest, len(values))
    for path, value in values:
        survey.reached += 1
        if isinstance(value, banned) or (
            isinstance(value, type)
            and value is not dict
            and not value.__module__.startswith("jinja2")
        ):
            survey.forbidden.append(f"{where}: {path} is a {type(value).__name__}")
            continue
        text = text_of(value)
        survey.leaks += [
            f"{where}: {path} shows the {name}"
            for name, secret in survey.secrets.items()
            if secret in text
        ]
        state = sa_inspect(value, raiseerr=False)
        if state is not None and getattr(state, "mapper", None) is not None:
            owner = value.id if type(value).__name__ == "User" else vars(value).get("user_id")
            if owner == survey.victim_id:
                survey.others_rows.append(f"{where}: {path} is a row of the victim")
    before = snapshot(db.session)
    for name in roots:
        for expression in EXPRESSIONS:
            source = expression.replace("X", name)
            compiled = survey.compiled.get(source)
            if compiled is None:
                compiled = survey.compiled[source] = env.from_string(source)
            try:
                output = compiled.render(roots)
            except (SecurityError, UndefinedError):
                survey.hostile_refused += 1
                continue
            except Exception:  # noqa: BLE001 - a TypeError of a plain value: nothing reached
                continue
            found = [k for k, v in survey.secrets.items() if v in output]
            found += [m for m in MARKERS if m in output]
            if found:
                survey.hostile_leaks.append(f"{where}: {source} -> {found}")
    after = snapshot(db.session)
    if after != before:
        changed = sorted(t for t in after if after[t] != before.get(t))
        survey.database_changes.append(f"{where}: tables {changed} changed")


@pytest.fixture(scope="module")
def survey(world):
    from builtin_plugins.store.models import Service
    from kernel.accounts.models import User

    with world.app.app_context():
        victim_id = db.session.scalar(db.select(User.id).where(User.email == world.victim))
        expires = db.session.get(Service, world.ids["server"]).expires_at.isoformat()
        db.session.remove()
    secrets = world.secrets()
    secrets.update({f"panel key {n}": k for n, k in enumerate(world.panel_keys)})
    found = Survey(world, secrets, victim_id)

    def on_render(sender, template, context, **extra):
        _survey_render(found, template, context)

    visitor, bob = world.app.test_client(), login(world.app, world.viewer, PASSWORD)
    with template_rendered.connected_to(on_render, world.app):
        for endpoint, urls in world.pages().items():
            for url in urls:
                clients = (
                    (("bob", bob), ("visitor", visitor)) if endpoint in PUBLIC else (("bob", bob),)
                )
                for who, client in clients:
                    found.status[f"{who} {url}"] = client.get(url).status_code
        found.status["bob /no-such-page"] = bob.get("/no-such-page").status_code
        found.status["bob /admin/"] = bob.get("/admin/").status_code
        # emails: a password reset, a renewal
        found.status["visitor POST /forgot-password"] = visitor.post(
            "/forgot-password", data={"email": world.viewer}
        ).status_code
        found.status["bob POST renew"] = bob.post(
            f"/servers/{world.ids['server']}/renew", data={"expires": expires}
        ).status_code
    return found


def test_the_survey_covers_every_client_page(world):
    assert world.missing_pages() == set()


def test_every_page_renders(survey):
    bad = {url: status for url, status in survey.status.items() if status >= 500}
    assert bad == {}
    pages = {
        f"bob {url}"
        for endpoint, urls in survey.world.pages().items()
        for url in urls
        if endpoint not in PUBLIC
    } | {f"visitor {url}" for endpoint in PUBLIC for url in survey.world.pages()[endpoint]}
    assert {page: survey.status[page] for page in pages if survey.status[page] != 200} == {}
    assert survey.status["bob /no-such-page"] == 404 and survey.status["bob /admin/"] == 403
    rendered = {name for _endpoint, name in survey.rendered}
    for name in (
        "panel/dashboard.html",
        "landing/index.html",
        "panel/wallet.html",
        "store/checkout.html",
        "store/servers.html",
        "panel_kit/tabs/console.html",
        "panel_kit/tabs/schedule.html",
        "hello_world/index.html",
        "email/password_reset.txt",
        "email/password_reset.html",
        "email/store/server_renewed.txt",
        "errors/error.html",
    ):
        assert name in rendered, name
    pages = [url for url, status in survey.status.items() if status == 200]
    assert len(pages) >= 35, pages
    assert survey.reached > 2000  # the walk went deep, not just around the roots
    print(f"largest walk: {survey.largest} values")


def test_no_template_reaches_the_orm_the_app_or_the_request(survey):
    assert survey.forbidden == []


def test_no_template_reaches_a_secret(survey):
    assert survey.leaks == []


def test_no_template_reaches_another_customers_rows(survey):
    assert survey.others_rows == []


def test_the_attack_expressions_are_refused_everywhere(survey):
    assert survey.hostile_leaks == []
    assert survey.hostile_refused > 1000


def test_the_database_is_unchanged_by_hostile_templates(survey, world):
    from kernel.accounts.models import User

    assert survey.database_changes == []
    with world.app.app_context():
        roles = dict(db.session.execute(db.select(User.email, User.role_name)).all())
        db.session.remove()
    assert roles[world.viewer] == "customer" and roles[world.victim] == "customer"


def test_every_client_page_has_a_skip_link_and_a_main_landmark(world):
    """Keyboard and screen-reader users jump past the navigation (WCAG 2.4.1): the first link
    of every page leads to its one ``<main id="main">``."""
    import re

    bob, visitor = login(world.app, world.viewer), world.app.test_client()
    missing = {}
    for endpoint, urls in world.pages().items():
        for url in urls:
            for who, client in (
                ("bob", bob),
                *((("visitor", visitor),) if endpoint in PUBLIC else ()),
            ):
                response = client.get(url)
                if response.status_code != 200 or "<html" not in response.text:
                    continue  # a fragment or a download
                first_link = re.search(r"<a\b[^>]*>", response.text)
                if (
                    response.text.count("<main") != 1
                    or '<main id="main"' not in response.text
                    or first_link is None
                    or 'href="#main"' not in first_link.group(0)
                ):
                    missing[f"{who} {url}"] = first_link.group(0) if first_link else None
    assert missing == {}
