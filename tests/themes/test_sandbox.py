"""The theme sandbox's rules, one by one (kernel/theme_sandbox.py, kernel/theme_context.py)."""

from __future__ import annotations

import dataclasses

import jinja2
import pytest
from flask_login import login_user
from jinja2.exceptions import SecurityError

from kernel.accounts.models import LANGUAGES, RecoveryCode, User
from kernel.extensions import db
from kernel.testing import login
from tests.admin.conftest import PASSWORD


@pytest.fixture
def render(app, users):
    """Render a template string as a theme template, in a request of the logged-in customer."""
    contexts = []

    def do(source: str, **context) -> str:
        ctx = app.test_request_context("/dashboard?tab=one")
        ctx.push()
        contexts.append(ctx)
        user = db.session.scalar(db.select(User).where(User.email == users["customer"]))
        login_user(user)
        return app.jinja_env.from_string(source).render(user=user, **context)

    yield do
    for ctx in reversed(contexts):
        ctx.pop()


ISSUE = [
    "{{ current_user.query.session.get_bind().url.render_as_string(hide_password=False) }}",
    "{{ current_user.query.all() }}",
    "{{ current_user.registry.mappers }}",
    "{{ current_user.metadata.tables }}",
    "{{ current_user.query.session.commit() }}",
]


@pytest.mark.parametrize("source", ISSUE)
def test_the_attack_on_current_user_is_refused(render, source):
    with pytest.raises(SecurityError):
        render(source)


def test_a_model_shows_its_declared_fields_only(render):
    assert (
        render(
            "{{ user.email }}|{{ user.has_permission('admin.access') }}|{{ user.is_authenticated }}"
        )
        == "customer@example.com|False|True"
    )
    for name in (
        "password_hash",
        "totp_secret",
        "token_version",
        "role",
        "query",
        "_sa_instance_state",
        "get_id",
        "nonexistent",
    ):
        with pytest.raises(SecurityError):
            render("{{ user." + name + " }}")


def test_a_model_without_declaration_shows_nothing(render):
    code = RecoveryCode(user_id=1, code_hash="f" * 64)
    with pytest.raises(SecurityError):
        render("{{ code.id }}", code=code)
    with pytest.raises(SecurityError):
        render("{{ code.code_hash }}", code=code)


def test_classes_show_nothing_and_cannot_be_called(render):
    for source in ("{{ cls.query }}", "{{ cls.metadata }}", "{{ cls() }}", "{{ cls.__name__ }}"):
        with pytest.raises(SecurityError):
            render(source, cls=User)


@pytest.mark.parametrize(
    "source",
    [
        "{{ user|attr('query') }}",
        "{{ [user]|map(attribute='password_hash')|list }}",
        "{{ [user, user]|sort(attribute='password_hash')|first }}",
        "{{ [user]|selectattr('totp_secret')|list }}",
        "{{ [user]|groupby('password_hash') }}",
        "{{ '{0.password_hash}'.format(user) }}",
        "{{ '{u.query}'.format_map({'u': user}) }}",
        "{{ user['password_hash'] }}",
        "{{ [user]|sum(attribute='token_version') }}",
    ],
)
def test_filters_and_formatting_follow_the_same_rules(render, source):
    with pytest.raises(SecurityError):
        render(source)


def test_plain_values_work_as_usual(render):
    out = render(
        "{{ d.get('a') }} {{ d['b'] }} {{ d.b }}"
        " {% for k, v in d.items()|sort %}{{ k }}{% endfor %}"
        " {{ l.index(2) }} {{ 'abc'.upper() }} {{ '{} {}'.format('x', 1) }} {{ t.year }}"
        " {% set ns = namespace(n=1) %}{% set ns.n = 2 %}{{ ns.n }}"
        " {% macro m(x) %}<{{ x }}>{% endmacro %}{{ m(3) }}"
        " {% for i in range(2) %}{{ loop.index }}{{ loop.cycle('a', 'b') }}{% endfor %}"
        " {{ d.missing is defined }} {{ (1, 2)|join('-') }}",
        d={"a": 1, "b": 2},
        l=[1, 2],
        t=__import__("datetime").date(2026, 1, 2),
    )
    assert out == "1 2 2 ab 1 ABC x 1 2026 2 <3> 1a2b False 1-2"


@pytest.mark.parametrize(
    "source",
    [
        "{{ d.update({'x': 1}) }}",
        "{{ d.clear() }}",
        "{{ d.pop('en') }}",
        "{{ d.setdefault('x') }}",
        "{{ l.append(1) }}",
        "{{ l.sort() }}",
        "{{ s.add(1) }}",
    ],
)
def test_shared_values_cannot_be_changed(render, source):
    before = dict(LANGUAGES)
    with pytest.raises(SecurityError):
        render(source, d=LANGUAGES, l=[3, 1], s={1})
    assert LANGUAGES == before


def test_only_registered_callables_can_be_called(app, render):
    def helper():
        return "called"

    with pytest.raises(SecurityError):
        render("{{ f() }}", f=helper)
    with pytest.raises(SecurityError):
        render("{{ f() }}", f=db.session.commit)
    assert render("{{ url_for('web.login') }}|{{ money(1234, 'EUR') }}") == "/login|12.34 EUR"
    app.jinja_env.globals["registered_helper"] = helper
    try:
        assert render("{{ registered_helper() }}") == "called"
    finally:
        del app.jinja_env.globals["registered_helper"]


def test_the_globals_are_plain_views(app, render):
    assert (
        render("{{ request.path }}|{{ request.args.tab }}|{{ request.method }}")
        == "/dashboard|one|GET"
    )
    assert (
        render("{{ current_user.email }}|{{ session|length }}|{{ g|length }}")
        == "customer@example.com|0|0"
    )
    assert (
        render(
            "{{ config.TESTING }}|{{ config.SECRET_KEY }}|{{ config.get('DATABASE_URL') }}"
            "|{{ config|length }}"
        )
        == "True||None|4"
    )
    for source in (
        "{{ request.environ }}",
        "{{ request.application }}",
        "{{ request.cookies }}",
        "{{ session.get('_user_id') }}x",
        "{{ g.csp_nonce }}x",
        "{{ config.from_pyfile }}",
    ):
        result = None
        try:
            result = render(source)
        except SecurityError:
            continue
        assert result in ("", "x", "Nonex"), source  # absent, never a value


def test_tojson_writes_plain_values_only(render):
    @dataclasses.dataclass
    class Holder:  # a dataclass Flask would turn into a dict of every field
        secret: str = "hidden-value"

    assert render("{{ {'a': [1, 'x']}|tojson }}") == '{"a": [1, "x"]}'
    with pytest.raises(TypeError):
        render("{{ h|tojson }}", h=Holder())
    with pytest.raises(TypeError):
        render("{{ user|tojson }}")


@pytest.mark.parametrize(
    "name",
    [
        "admin/master.html",
        "./admin/master.html",
        "admin//pteroca/base.html",
        "admin/pteroca/overview.html",
    ],
)
def test_theme_templates_cannot_load_admin_templates(render, name):
    with pytest.raises(jinja2.TemplateNotFound):
        render('{% include "' + name + '" %}')
    with pytest.raises(jinja2.TemplateNotFound):
        render('{% extends "' + name + '" %}')


def test_admin_pages_render_in_the_admin_environment(app, users):
    client = app.test_client()
    login(client, users["admin"], PASSWORD)
    for url in ("/admin/", "/admin/users/", "/admin/plugins/", "/admin/themes/"):
        assert client.get(url).status_code == 200, url
    env = app.jinja_env
    assert env.admin is not None and env.admin.strict is False and env.strict is True
    template = env.get_template("admin/master.html")
    assert template.environment is env.admin


def test_declared_fields_exist_and_hold_no_secret():
    """Every model's ``__template_fields__`` names real attributes, and none of them is a
    credential, a hash, a token or settings a customer must not read."""
    import builtin_plugins.hello_world.models  # noqa: F401
    import builtin_plugins.pterodactyl.models  # noqa: F401
    import builtin_plugins.store.models  # noqa: F401
    from kernel.theme_sandbox import declared_fields

    never = {
        "password_hash",
        "totp_secret",
        "totp_last_counter",
        "token_version",
        "code_hash",
        "purchase_token",
        "provisioner_settings",
        "external_id",
        "meta",
        "reference",
        "options",
        "last_error",
        "user_id",
        "value",
        "encrypted",
        "query",
        "metadata",
        "registry",
        "details",
        "actor",
        "target",
    }
    declaring = 0
    for mapper in db.Model.registry.mappers:
        cls = mapper.class_
        fields = declared_fields(cls)
        declaring += bool(fields)
        for name in fields:
            assert hasattr(cls, name), f"{cls.__name__}.{name} does not exist"
        leaked = fields & never
        if cls.__name__ == "Voucher":
            leaked -= {"value"}  # a voucher's amount, shown to the customer who redeems it
        assert not leaked, f"{cls.__name__} shows {leaked}"
    assert declaring >= 10


def test_a_global_called_before_is_still_checked_on_every_call(app, render):
    """The sandbox remembers which globals it allowed (a page calls ``_`` and ``url_for``
    dozens of times); marking one unsafe, or removing it, still refuses the next call."""

    def helper():
        return "called"

    app.jinja_env.globals["registered_helper"] = helper
    try:
        assert render("{{ registered_helper() }}{{ registered_helper() }}") == "calledcalled"
        helper.unsafe_callable = True  # Jinja's mark for "never from a template"
        with pytest.raises(SecurityError):
            render("{{ registered_helper() }}")
        del helper.unsafe_callable
        assert render("{{ registered_helper() }}") == "called"
    finally:
        del app.jinja_env.globals["registered_helper"]
    with pytest.raises(SecurityError):  # a refused callable: the globals are read again
        render("{{ f() }}", f=db.session.commit)
    with pytest.raises(SecurityError):
        render("{{ f() }}", f=helper)  # no longer a global: refused like any function
