"""The fixtures plugin authors get from ``kernel.pytest_plugin`` (the ``pytest11`` entry point)."""

from __future__ import annotations

import inspect
import socket
from pathlib import Path

import pytest
from markupsafe import Markup

import kernel.pytest_plugin as plugin_module
from kernel import hookimpl
from kernel.plugin_lifecycle import loader
from kernel.pytest_plugin import PterocaTestInstance
from kernel.testing import NO_OSV
from tests.devkit.conftest import PAGE_CODE, plugin_files


def write_drop_in(folder: Path, name: str, files: dict[str, str]) -> None:
    for rel, content in files.items():
        path = folder / name / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def test_registered_through_the_entry_point(pytestconfig):
    from importlib.metadata import entry_points

    [ep] = [e for e in entry_points(group="pytest11") if e.name == "pteroca"]
    assert ep.value == "kernel.pytest_plugin"
    assert pytestconfig.pluginmanager.hasplugin("pteroca")


def test_no_autouse_fixtures_and_no_import_time_work():
    source = inspect.getsource(plugin_module)
    assert "autouse" not in source.replace("no autouse fixtures", "")
    top_level = [n for n in vars(plugin_module).values() if isinstance(n, PterocaTestInstance)]
    assert top_level == []


def test_instance_is_isolated_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PTEROCA_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("PTEROCA_REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("PTEROCA_MAIL_URL", "smtp://127.0.0.1:1")
    monkeypatch.setenv("PTEROCA_SAFE_MODE", "1")
    monkeypatch.setenv("PTEROCA_OSV_URL", "https://api.osv.dev")
    monkeypatch.setenv("PTEROCA_REQUIRE_AUDIT", "1")
    instance = PterocaTestInstance(tmp_path / "iso", {}, monkeypatch)
    cfg = instance.app.config
    from kernel import testing

    if getattr(testing, "database_for_instance", None) is None:
        assert cfg["DATABASE_URL"] == f"sqlite:///{tmp_path / 'iso' / 'pteroca.db'}"
    assert cfg["REDIS_URL"] == "" and cfg["SAFE_MODE"] is False
    assert cfg["MAIL_URL"] == f"file://{tmp_path / 'iso' / 'outbox.txt'}"
    assert cfg["OSV_URL"] == NO_OSV and cfg["REQUIRE_AUDIT"] is False  # offline
    assert instance.rebuild().config["OSV_URL"] == NO_OSV  # and every rebuilt app too
    assert cfg["PLUGINS_DIR"] == str(tmp_path / "iso" / "plugins")
    assert cfg["INSTANCE_PATH"] == str(tmp_path / "iso")


def test_config_fixture_overrides(tmp_path, monkeypatch):
    instance = PterocaTestInstance(
        tmp_path / "cfg", {"RATELIMIT_LOGIN": "2 per minute"}, monkeypatch
    )
    assert instance.app.config["RATELIMIT_LOGIN"] == "2 per minute"


def test_client_follows_enable_like_a_browser(app, client, enable_plugin, login_as):
    assert client.get("/plugins/hello_world/").status_code == 404
    rebuilt = enable_plugin("hello_world", accept_risk=True)  # passwords, outgoing_mail: HIGH
    assert rebuilt is not app and "hello_world" in rebuilt.extensions["pteroca"].loaded
    assert client.get("/plugins/hello_world/").status_code == 302  # now served: login first
    customer = login_as("customer")
    assert customer.user.role == "customer"
    assert "Hello from hello_world" in customer.get("/plugins/hello_world/").text


def test_login_as_roles(login_as):
    admin, support, customer = login_as("admin"), login_as("support"), login_as("customer")
    assert admin.get("/admin/plugins/").status_code == 200
    assert support.get("/admin/plugins/").status_code == 403
    assert customer.get("/admin/").status_code == 403
    assert len({admin.user.email, support.user.email, customer.user.email}) == 3


def test_make_user_and_login_as_that_user(make_user, login_as, app):
    user = make_user("Someone@Example.com", name="Someone", role="support")
    assert user.email == "someone@example.com" and user.role == "support"
    client = login_as(user=user)
    assert client.user == user
    assert "Someone" in client.get("/dashboard").text
    with app.app_context():
        from kernel.accounts.models import User
        from kernel.extensions import db

        assert db.session.get(User, user.id).email == user.email


def test_login_failure_is_explained(register_test_plugin, login_as):
    class Maintenance:
        @hookimpl
        def veto_login(self, user):
            return "Closed for maintenance"

    register_test_plugin(Maintenance())
    with pytest.raises(AssertionError, match="failed with 400: Closed for maintenance"):
        login_as("customer")


def test_register_test_plugin_joins_every_app_of_the_test(
    register_test_plugin, login_as, enable_plugin
):
    class Widget:
        @hookimpl
        def dashboard_widgets(self, user):
            return [{"title": "From a test", "html": Markup(f"<b>hi {user.email}</b>")}]

    register_test_plugin(Widget(), name="widget_for_test")
    client = login_as("customer")
    assert f"<b>hi {client.user.email}</b>" in client.get("/dashboard").text
    enable_plugin("hello_world", accept_risk=True)  # a rebuild keeps the test plugin
    page = client.get("/dashboard").text
    assert "From a test" in page and "greetings so far" in page


def test_register_test_plugin_refuses_mistakes(register_test_plugin):
    class Typo:
        @hookimpl
        def dashbord_widgets(self, user):
            return []

    with pytest.raises(ValueError, match="implements dashbord_widgets, which no hookspec defines"):
        register_test_plugin(Typo())

    class Pages:
        @hookimpl
        def register_blueprints(self, app):
            return []

    with pytest.raises(ValueError, match="cannot add pages"):
        register_test_plugin(Pages())
    with pytest.raises(ValueError, match="has no function marked with kernel.hookimpl"):
        register_test_plugin(object())


def test_test_plugins_end_with_their_test(tmp_path):
    original = loader.new_plugin_manager
    with pytest.MonkeyPatch.context() as mp:
        instance = PterocaTestInstance(tmp_path / "scoped", {}, mp)

        class Menu:
            @hookimpl
            def client_menu_items(self, user):
                return [{"label": "Scoped", "url": "/scoped"}]

        instance.register(Menu())
        assert loader.new_plugin_manager is not original
    assert loader.new_plugin_manager is original
    names = {impl.plugin_name for impl in original().hook.client_menu_items.get_hookimpls()}
    assert names == set()  # the test's Menu is gone (the kernel's defaults come from create_app)


def test_runner_runs_the_cli_on_the_current_app(runner, client):
    listed = runner.invoke(args=["plugin", "list"])
    assert listed.exit_code == 0 and "hello_world" in listed.output
    result = runner.invoke(["plugin", "enable", "hello_world", "--accept-risk"])
    assert result.exit_code == 0, result.output
    assert client.get("/plugins/hello_world/").status_code == 302
    hello = runner.invoke(args=["hello", "--help"])  # a plugin's own command, now registered
    assert hello.exit_code == 0, hello.output


def test_enable_plugin_runs_the_real_gate(pteroca_instance, enable_plugin):
    from kernel.security import ConfirmationRequired, ScanBlocked

    code = PAGE_CODE.format(name="evil_one") + "\nvalue = eval('1')\n"
    write_drop_in(
        pteroca_instance.plugins_dir,
        "evil_one",
        plugin_files("evil_one", code=code, capabilities=("routes",)),
    )
    with pytest.raises(ScanBlocked, match="blocked by 1 CRITICAL finding: bandit B307"):
        enable_plugin("evil_one")

    code = "import pickle  # noqa\n" + PAGE_CODE.format(name="risky_one")
    write_drop_in(
        pteroca_instance.plugins_dir,
        "risky_one",
        plugin_files("risky_one", code=code, capabilities=("routes",)),
    )
    with pytest.raises(ConfirmationRequired, match="B403"):
        enable_plugin("risky_one")
    enable_plugin("risky_one", accept_risk=True)


def test_enable_plugin_accepts_only_the_offline_advisory_finding(
    pteroca_instance, enable_plugin, client
):
    # A dependency makes the advisory check run; offline it reports "not audited" (HIGH).
    write_drop_in(
        pteroca_instance.plugins_dir,
        "with_deps",
        plugin_files(
            "with_deps",
            code=PAGE_CODE.format(name="with_deps"),
            capabilities=("routes",),
            extra_manifest='python_dependencies = ["click"]\n',
        ),
    )
    report = pteroca_instance.scan("with_deps")
    assert report["verdict"] == "warn"
    assert {f["rule"] for f in report["findings"] if f["severity"] == "HIGH"} == {"not-audited"}
    enable_plugin("with_deps")
    assert client.get("/plugins/with_deps/").text == "uploaded page of with_deps"


def test_sent_mail(pteroca_instance, make_user, client):
    user = make_user()
    assert pteroca_instance.sent_mail() == []
    client.post("/forgot-password", data={"email": user.email})
    [message] = pteroca_instance.sent_mail()
    assert message["To"] == user.email and "/reset-password/" in message.get_body().get_content()


def test_pterodactyl_simulator(pterodactyl_simulator):
    with socket.create_connection(
        (pterodactyl_simulator.host, pterodactyl_simulator.port), timeout=5
    ):
        pass  # listening while the test runs


def test_plugins_are_guarded_from_the_start_of_a_test_session(tmp_path, monkeypatch):
    """An author's test that imports the plugin before enable_plugin() gets a clear refusal."""
    import importlib

    from kernel.plugins import verified
    from tests.security.scanlib import install_dist

    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    marker = tmp_path / "RAN"
    install_dist(
        site,
        "early-plugin",
        "1.0",
        plugin="early_plugin",
        package_files={
            "plugin.toml": 'name = "early_plugin"\nversion = "1.0"\nkernel = ">=0.1"\n',
            "__init__.py": f"open({str(marker)!r}, 'w').write('ran')\n",
        },
    )

    class Config:
        def addinivalue_line(self, name, line):
            pass

    plugin_module.pytest_configure(Config())
    try:
        with pytest.raises(verified.PluginImportRefused, match="enable it to scan it"):
            importlib.import_module("early_plugin")
    finally:
        verified.forget("early_plugin")
    assert not marker.exists()
