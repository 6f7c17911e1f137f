"""Enable, disable, dependencies, kernel range, update_pending, faults and safe mode."""

from __future__ import annotations

import json

from kernel.testing import HEALTH_HEADERS, build_app
from tests.helpers import page_plugin, write_plugin


def state_of(cli, name):
    return json.loads(cli("plugin", "info", name, "--json").output)["state"]


def test_enable_and_disable_change_what_is_served(app, plugins_dir, cli, fresh):
    page_plugin(plugins_dir, "pager")
    assert fresh(app).test_client().get("/plugins/pager/").status_code == 404
    result = cli("plugin", "enable", "pager")
    assert result.exit_code == 0, result.output
    assert "enabled: pager" in result.output
    served = fresh(app).test_client().get("/plugins/pager/")
    assert served.status_code == 200 and served.text == "hello from pager"
    assert cli("plugin", "disable", "pager").exit_code == 0
    assert fresh(app).test_client().get("/plugins/pager/").status_code == 404
    assert state_of(cli, "pager") == "disabled"


def test_unknown_plugin_is_one_clear_line(cli):
    result = cli("plugin", "enable", "nope")
    assert result.exit_code == 1
    assert result.output.strip().startswith("error: no plugin named 'nope'")
    assert "Traceback" not in result.output


def test_enabling_twice_is_refused(app, plugins_dir, cli):
    page_plugin(plugins_dir, "twice")
    cli("plugin", "enable", "twice")
    result = cli("plugin", "enable", "twice")
    assert result.exit_code == 1 and "already enabled" in result.output


def test_missing_dependency_is_refused_then_enabled_with_dependencies(app, plugins_dir, cli, fresh):
    page_plugin(plugins_dir, "base")
    page_plugin(plugins_dir, "middle", requires={"base": ">=1.0"})
    page_plugin(plugins_dir, "top", requires={"middle": ">=1.0"})
    refused = cli("plugin", "enable", "top")
    assert refused.exit_code == 1
    assert "requires base, middle, not enabled" in refused.output
    result = cli("plugin", "enable", "top", "--with-dependencies", "--yes")
    assert result.exit_code == 0, result.output
    assert "enabled: base, middle, top" in result.output  # topological order
    client = fresh(app).test_client()
    assert all(client.get(f"/plugins/{n}/").status_code == 200 for n in ("base", "middle", "top"))


def test_with_dependencies_asks_first(app, plugins_dir, cli):
    page_plugin(plugins_dir, "dep")
    page_plugin(plugins_dir, "user_of_dep", requires={"dep": ""})
    result = cli("plugin", "enable", "user_of_dep", "--with-dependencies", input="n\n")
    assert result.exit_code == 1 and "cancelled" in result.output
    assert state_of(cli, "dep") == "discovered"


def test_dependency_version_out_of_range(app, plugins_dir, cli):
    page_plugin(plugins_dir, "old", version="0.9.0")
    page_plugin(plugins_dir, "needs_new", requires={"old": ">=1.0"})
    result = cli("plugin", "enable", "needs_new", "--with-dependencies", "--yes")
    assert result.exit_code == 1
    assert "requires old >=1.0, but 0.9.0 is installed" in result.output


def test_cycle_is_named(app, plugins_dir, cli):
    page_plugin(plugins_dir, "aa", requires={"bb": ""})
    page_plugin(plugins_dir, "bb", requires={"aa": ""})
    result = cli("plugin", "enable", "aa", "--with-dependencies", "--yes")
    assert result.exit_code == 1
    assert "dependency cycle: aa -> bb -> aa" in result.output


def test_disable_refuses_with_dependents_and_cascades(app, plugins_dir, cli, fresh):
    page_plugin(plugins_dir, "core_lib")
    page_plugin(plugins_dir, "feature", requires={"core_lib": ""})
    cli("plugin", "enable", "feature", "--with-dependencies", "--yes")
    refused = cli("plugin", "disable", "core_lib")
    assert refused.exit_code == 1
    assert "feature depends on 'core_lib'" in refused.output and "--cascade" in refused.output
    result = cli("plugin", "disable", "core_lib", "--cascade")
    assert result.exit_code == 0
    assert "disabled: feature, core_lib" in result.output
    assert fresh(app).test_client().get("/plugins/feature/").status_code == 404


def test_kernel_range_refusal(app, plugins_dir, cli):
    page_plugin(plugins_dir, "future", kernel=">=99")
    result = cli("plugin", "enable", "future")
    assert result.exit_code == 1
    assert "needs kernel >=99 but this is pteroca 0.1.0" in result.output


def test_kernel_upgrade_outside_an_enabled_plugins_range_faults_it_at_load(
    app, plugins_dir, cli, fresh, monkeypatch
):
    import kernel

    page_plugin(plugins_dir, "pinned", kernel=">=0.1,<0.2")
    assert cli("plugin", "enable", "pinned").exit_code == 0
    assert fresh(app).test_client().get("/plugins/pinned/").status_code == 200
    monkeypatch.setattr(kernel, "__version__", "0.2.0")  # the kernel was upgraded
    assert fresh(app).test_client().get("/plugins/pinned/").status_code == 404
    info = json.loads(cli("plugin", "info", "pinned", "--json").output)
    assert info["state"] == "faulted"
    assert "needs kernel <0.2,>=0.1 but this is pteroca 0.2.0" in info["reason"]


def test_changed_plugin_becomes_update_pending(app, plugins_dir, cli, fresh):
    folder = page_plugin(plugins_dir, "edited")
    cli("plugin", "enable", "edited")
    assert fresh(app).test_client().get("/plugins/edited/").text == "hello from edited"
    init = folder / "__init__.py"
    init.write_text(init.read_text().replace("hello from", "changed by someone"))
    rebuilt = fresh(app)
    assert rebuilt.test_client().get("/plugins/edited/").status_code == 404
    assert state_of(cli, "edited") == "update_pending"
    result = cli("plugin", "enable", "edited")
    assert result.exit_code == 0, result.output
    assert fresh(app).test_client().get("/plugins/edited/").text == "changed by someone edited"


def test_faulted_plugin_does_not_stop_the_app(app, plugins_dir, cli, fresh):
    page_plugin(plugins_dir, "healthy")
    write_plugin(
        plugins_dir,
        "crashy",
        """
from kernel import hookimpl

@hookimpl
def startup(app):
    raise RuntimeError("database of crashy unreachable")
""",
        capabilities=["lifecycle"],
    )
    cli("plugin", "enable", "healthy")
    cli("plugin", "enable", "crashy")
    rebuilt = fresh(app)
    assert rebuilt.test_client().get("/plugins/healthy/").status_code == 200
    info = json.loads(cli("plugin", "info", "crashy", "--json").output)
    assert info["state"] == "faulted"
    assert "startup failed: RuntimeError: database of crashy unreachable" in info["reason"]
    health = rebuilt.test_client().get("/-/health", headers=HEALTH_HEADERS).get_json()
    assert "crashy" in health["plugin_problems"]


def test_import_error_faults(app, plugins_dir, cli, fresh):
    write_plugin(plugins_dir, "badimport", "import module_that_does_not_exist\n")
    result = cli("plugin", "enable", "badimport")
    assert result.exit_code == 1
    assert "import failed: ModuleNotFoundError" in result.output
    assert fresh(app).test_client().get("/-/health").status_code == 200
    info = json.loads(cli("plugin", "info", "badimport", "--json").output)
    assert info["state"] == "faulted" and "ModuleNotFoundError" in info["reason"]


def test_undeclared_capability_faults(app, plugins_dir, cli, fresh):
    page_plugin(plugins_dir, "sneaky", capabilities=[])
    result = cli("plugin", "enable", "sneaky", "--accept-risk")
    rebuilt = fresh(app)
    if result.exit_code == 0:  # the scan flags it; if accepted, the loader refuses it anyway
        assert rebuilt.test_client().get("/plugins/sneaky/").status_code == 404
        info = json.loads(cli("plugin", "info", "sneaky", "--json").output)
        assert info["state"] == "faulted"
        assert "register_blueprints" in info["reason"]
    else:
        assert "capabilit" in result.output


def test_safe_mode_loads_nothing(app, plugins_dir, cli, instance):
    page_plugin(plugins_dir, "normal")
    cli("plugin", "enable", "normal")
    safe = build_app(instance, SAFE_MODE=True)
    assert safe.extensions["pteroca"].loaded == {}
    assert safe.test_client().get("/plugins/normal/").status_code == 404
    assert build_app(instance).test_client().get("/plugins/normal/").status_code == 200


def test_uninstall_folder_plugin(app, plugins_dir, cli):
    folder = page_plugin(plugins_dir, "gone")
    cli("plugin", "enable", "gone")
    refused = cli("plugin", "uninstall", "gone", "--yes")
    assert refused.exit_code == 1 and "disable it first" in refused.output
    cli("plugin", "disable", "gone")
    result = cli("plugin", "uninstall", "gone", "--yes")
    assert result.exit_code == 0 and not folder.exists()
    assert "gone" not in cli("plugin", "list").output


def test_list_json(app, plugins_dir, cli):
    page_plugin(plugins_dir, "listed")
    rows = json.loads(cli("plugin", "list", "--json").output)
    row = next(r for r in rows if r["name"] == "listed")
    assert row["state"] == "discovered" and row["capabilities"] == ["routes"]
