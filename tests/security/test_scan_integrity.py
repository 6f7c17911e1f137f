"""Only the bytes that were scanned are ever imported: the attacks of issue 14, as an author would
try them. Every payload writes a marker file if it runs; the marker must never appear."""

from __future__ import annotations

import importlib.util
import json
import marshal
import sys
from pathlib import Path

import pytest

from kernel.extensions import db
from kernel.models import AuditLog
from kernel.plugin_lifecycle.services import list_plugins
from kernel.plugins import verified
from kernel.plugins.models import PluginRecord
from kernel.testing import login
from tests.helpers import PAGE_PLUGIN, make_user, write_plugin
from tests.security.scanlib import install_dist


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "PAYLOAD_RAN"


def writes_marker(marker: Path) -> str:
    """Code no scanner objects to, that proves it ran."""
    return f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\n"


def shell_marker(marker: Path) -> str:
    """The issue's payload: a shell command."""
    return f"import os\nos.system('touch {marker}')\n"


def info(cli, name):
    result = cli("plugin", "info", name, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


LAZY_PAGE = (
    PAGE_PLUGIN
    + """

@bp.get("/lazy")
def lazy():
    try:
        from .{module} import VALUE
    except ImportError as exc:
        return "refused: " + str(exc)
    return "imported " + str(VALUE)
"""
)


# --- 1. a folder that used to be skipped ---------------------------------------------------------


@pytest.mark.parametrize("folder", ["__pycache__", "deep/__pycache__"])
def test_payload_in_a_pycache_folder_is_scanned_and_blocks(
    app, plugins_dir, cli, fresh, marker, folder
):
    package = folder.replace("/", ".")
    files = {f"{folder}/payload.py": shell_marker(marker)}
    if folder.startswith("deep"):
        files["deep/__init__.py"] = ""
    write_plugin(plugins_dir, "sneaky", f"from .{package} import payload  # noqa\n", files=files)
    scan = cli("plugin", "scan", "sneaky", "--json")
    assert scan.exit_code == 1  # blocked
    [record] = json.loads(scan.output)
    found = {(f["file"], f["rule"]) for f in record["findings"]}
    assert (f"{folder}/payload.py", "B605") in found
    result = cli("plugin", "enable", "sneaky")
    assert result.exit_code == 1 and "blocked" in result.output
    assert f"{folder}/payload.py" in result.output
    fresh(app).test_client().get("/")
    assert not marker.exists()
    assert info(cli, "sneaky")["state"] == "blocked"


def test_hidden_folder_payload_is_scanned_and_planted_imports_are_refused(
    app, plugins_dir, cli, fresh, marker
):
    # scanned: a shell payload in a hidden folder blocks like any other file
    write_plugin(plugins_dir, "hidden_shell", "", files={".git/hooks/x.py": shell_marker(marker)})
    result = cli("plugin", "enable", "hidden_shell")
    assert result.exit_code == 1 and ".git/hooks/x.py" in result.output
    # a payload nothing flags, reached through sys.path: the loader refuses the file
    code = (
        "import sys\nfrom pathlib import Path\n"
        "sys.path.insert(0, str(Path(__file__).parent / '.cache'))\nimport planted  # noqa\n"
    )
    write_plugin(
        plugins_dir, "hidden_path", code, files={".cache/planted.py": writes_marker(marker)}
    )
    result = cli("plugin", "enable", "hidden_path")
    assert result.exit_code == 1
    assert "under a name that is not its plugin's" in result.output
    fresh(app).test_client().get("/")
    assert not marker.exists()
    assert info(cli, "hidden_path")["state"] == "faulted"


@pytest.mark.parametrize("rel", ["__pycache__/payload.py", ".hidden/payload.py", "sub/payload.py"])
@pytest.mark.parametrize("how", ["added", "changed", "replaced"])
def test_file_touched_after_the_verdict_is_never_imported(
    app, plugins_dir, cli, fresh, marker, tmp_path, rel, how
):
    module = rel[:-3].replace("/", ".")
    importable = not rel.startswith(".")
    files = {"sub/__init__.py": "", "__pycache__/__init__.py": ""}
    if how != "added":
        files[rel] = "VALUE = 'scanned'\n"
    code = (
        LAZY_PAGE.format(name="touched", module=module)
        if importable
        else PAGE_PLUGIN.format(name="touched")
    )
    folder = write_plugin(plugins_dir, "touched", code, capabilities=["routes"], files=files)
    assert cli("plugin", "enable", "touched").exit_code == 0
    running = fresh(app)  # an app built while the files were the scanned ones
    client = running.test_client()
    if importable and how != "added":
        assert client.get("/plugins/touched/lazy").text == "imported scanned"
    target = folder / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    if how == "replaced":
        evil = tmp_path / "evil.py"
        evil.write_text(writes_marker(marker) + "VALUE = 'evil'\n")
        target.unlink()
        target.symlink_to(evil)
    else:
        target.write_text(writes_marker(marker) + "VALUE = 'evil'\n")
    if importable:
        sys.modules.pop(f"pteroca_plugins.touched.{module}", None)  # the app imports it again
        answer = client.get("/plugins/touched/lazy").text
        assert answer.startswith("refused: ") and rel in answer
        assert "touched" in verified.refusals
    # the plugin says why, in the listing, before any process rebuilt ...
    with running.app_context():
        [row] = [r for r in list_plugins() if r["name"] == "touched"]
    assert row["state"] == "update_pending" and rel in row["reason"]
    # ... and every rebuilt app leaves it out, with the reason stored
    assert fresh(app).test_client().get("/plugins/touched/").status_code == 404
    shown = info(cli, "touched")
    assert shown["state"] == "update_pending" and rel in shown["reason"]
    listing = cli("plugin", "list").output
    assert "touched" in listing and "update_pending" in listing and rel in listing
    assert not marker.exists()
    # a forced rescan reads the new file too
    with app.app_context():
        verdict_hash = db.session.get(PluginRecord, "touched").content_hash
    rescan = json.loads(cli("plugin", "scan", "touched", "--force", "--json").stdout)[0]
    assert rescan["content_hash"] not in ("", verdict_hash)


# --- 4. bytecode planted after a pass ----------------------------------------------------------


def test_bytecode_planted_after_a_pass_is_never_loaded(app, plugins_dir, cli, fresh, marker):
    folder = write_plugin(
        plugins_dir, "cached", PAGE_PLUGIN.format(name="cached"), capabilities=["routes"]
    )
    assert cli("plugin", "enable", "cached").exit_code == 0
    source = folder / "__init__.py"
    evil = compile(writes_marker(marker) + source.read_text(), str(source), "exec")
    stat = source.stat()
    header = (
        importlib.util.MAGIC_NUMBER
        + b"\0\0\0\0"
        + (int(stat.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little")
        + (stat.st_size & 0xFFFFFFFF).to_bytes(4, "little")
    )
    cache = Path(importlib.util.cache_from_source(str(source)))
    cache.parent.mkdir(exist_ok=True)
    cache.write_bytes(header + marshal.dumps(evil))  # what plain Python would load
    sys.modules.pop("pteroca_plugins.cached", None)
    assert fresh(app).test_client().get("/plugins/cached/").status_code == 404
    assert info(cli, "cached")["state"] == "update_pending"
    again = cli("plugin", "enable", "cached")  # a new scan: the cache is a CRITICAL finding
    assert again.exit_code == 1 and "bytecode-mismatch" in again.output
    assert not marker.exists()


# --- 3. the scan-to-import race ---------------------------------------------------------------


def _slow_plugin(plugins_dir, site_dir, name):
    install_dist(site_dir, "slowdep", "1.0")
    return write_plugin(
        plugins_dir,
        name,
        PAGE_PLUGIN.format(name=name),
        capabilities=["routes"],
        extra_manifest='python_dependencies = ["slowdep"]\n',
    )


def test_file_swapped_while_the_audit_waits_is_not_imported(
    app, plugins_dir, cli, fresh, marker, osv_server, site_dir
):
    folder = _slow_plugin(plugins_dir, site_dir, "racy")
    swapped = []

    def swap(body):  # the advisory service is slow; meanwhile the file changes
        if not swapped:
            (folder / "__init__.py").write_text(writes_marker(marker))
            swapped.append(body)

    osv_server.on_query = swap
    result = cli("plugin", "enable", "racy")
    assert swapped, "the audit ran"
    assert result.exit_code == 1
    assert "changed while it was being scanned" in result.output and "__init__.py" in result.output
    assert info(cli, "racy")["state"] == "discovered"
    fresh(app).test_client().get("/")
    assert not marker.exists()


@pytest.mark.parametrize("rel", ["__init__.py", "migrations/versions/0001.py"])
def test_file_swapped_after_the_last_check_is_refused_by_the_loader(
    app, plugins_dir, cli, fresh, marker, monkeypatch, rel
):
    from kernel.plugin_lifecycle import services
    from tests.kernel.test_migrations import migration

    folder = write_plugin(
        plugins_dir,
        "later",
        PAGE_PLUGIN.format(name="later"),
        capabilities=["routes"],
        files={"migrations/versions/0001.py": migration("later_t", "l1")},
    )
    checked = services.admission_from_scan

    def check_then_swap(plugin, scan):
        admission = checked(plugin, scan)
        (folder / rel).write_text(writes_marker(marker))
        return admission

    monkeypatch.setattr(services, "admission_from_scan", check_then_swap)
    result = cli("plugin", "enable", "later")
    assert result.exit_code == 1, result.output
    assert f"{rel} changed since its scan" in result.output and "Traceback" not in result.output
    assert info(cli, "later")["state"] in ("faulted", "discovered")
    assert not marker.exists()
    from tests.security.test_purge import tables

    assert "later_t" not in tables(app)  # nothing of the migration ran either


# --- 5. one place decides consistency ---------------------------------------------------------


def test_cli_scan_that_blocks_an_enabled_plugin_unloads_it_like_the_admin(
    app, plugins_dir, cli, fresh
):
    folder = write_plugin(
        plugins_dir, "turned", PAGE_PLUGIN.format(name="turned"), capabilities=["routes"]
    )
    assert cli("plugin", "enable", "turned").exit_code == 0
    assert fresh(app).test_client().get("/plugins/turned/").status_code == 200
    (folder / "helpers.py").write_text("import os\nos.system('id')\n")
    result = cli("plugin", "scan", "turned", "--force")
    assert result.exit_code == 1
    assert "now blocked and unloaded" in result.output
    shown = info(cli, "turned")
    assert shown["state"] == "blocked" and shown["verdict"] == "block"
    assert shown["reason"].startswith("scan found 1 CRITICAL finding: bandit B605")
    listing = cli("plugin", "list").output
    assert "turned" in listing and "scan: block" in listing
    assert fresh(app).test_client().get("/plugins/turned/").status_code == 404
    with app.app_context():
        actions = [
            a.action
            for a in db.session.scalars(db.select(AuditLog).where(AuditLog.target == "turned"))
        ]
    assert "plugin.scan_blocked" in actions and "plugin.blocked" in actions


def test_list_shows_the_verdict_the_loader_enforces(app, plugins_dir, cli):
    folder = write_plugin(
        plugins_dir, "shown", PAGE_PLUGIN.format(name="shown"), capabilities=["routes"]
    )
    assert cli("plugin", "enable", "shown").exit_code == 0
    assert info(cli, "shown")["verdict"] == "pass"
    # a later scan of *other* files (an edit) blocks: the loader no longer imports it either
    (folder / "__init__.py").write_text("import os\nos.system('id')\n")
    cli("plugin", "scan", "shown", "--force")
    row = info(cli, "shown")
    assert row["state"] == "blocked" and row["verdict"] == "block"


def test_enabled_before_per_file_hashes_is_update_pending(app, plugins_dir, cli, fresh):
    write_plugin(plugins_dir, "legacy", PAGE_PLUGIN.format(name="legacy"), capabilities=["routes"])
    assert cli("plugin", "enable", "legacy").exit_code == 0
    with app.app_context():
        db.session.get(PluginRecord, "legacy").files = None  # as kernel migration k0008 leaves it
        db.session.commit()
    assert fresh(app).test_client().get("/plugins/legacy/").status_code == 404
    shown = info(cli, "legacy")
    assert shown["state"] == "update_pending" and "scan and enable it again" in shown["reason"]
    assert cli("plugin", "enable", "legacy").exit_code == 0
    assert fresh(app).test_client().get("/plugins/legacy/").status_code == 200


# --- pip-installed plugins -------------------------------------------------------------------


def test_pip_installed_payloads_never_run(app, cli, fresh, marker, site_dir):
    manifest = 'name = "pipsneak"\nversion = "1.0"\nkernel = ">=0.1"\ncapabilities = []\n'
    install_dist(
        site_dir,
        "pipsneak",
        "1.0",
        plugin="pipsneak",
        package_files={
            "plugin.toml": manifest,
            "__init__.py": "from .__pycache__ import payload  # noqa\n",
            "__pycache__/payload.py": shell_marker(marker),
        },
    )
    result = cli("plugin", "enable", "pipsneak")
    assert result.exit_code == 1 and "__pycache__/payload.py" in result.output

    manifest2 = manifest.replace("pipsneak", "pipadd").replace("[]", '["routes"]')
    install_dist(
        site_dir,
        "pipadd",
        "1.0",
        plugin="pipadd",
        package_files={
            "plugin.toml": manifest2,
            "__init__.py": LAZY_PAGE.format(name="pipadd", module="extra"),
        },
    )
    enabled = cli("plugin", "enable", "pipadd", "--accept-risk")
    assert enabled.exit_code == 0, enabled.output
    assert "refused" in fresh(app).test_client().get("/plugins/pipadd/lazy").text
    (site_dir / "pipadd" / "extra.py").write_text(writes_marker(marker) + "VALUE = 1\n")
    assert fresh(app).test_client().get("/plugins/pipadd/lazy").status_code == 404
    shown = info(cli, "pipadd")
    assert shown["state"] == "update_pending" and "added extra.py" in shown["reason"]
    assert not marker.exists()


# --- no import without a verdict, anywhere ------------------------------------------------------


def test_listing_info_settings_health_and_db_upgrade_import_nothing(
    app, plugins_dir, cli, fresh, marker
):
    manifest = '[settings.greeting]\ntype = "string"\ndefault = "hi"\nlabel = "Greeting"\n'
    write_plugin(plugins_dir, "never", writes_marker(marker), extra_manifest=manifest)
    folder = write_plugin(
        plugins_dir, "edited", PAGE_PLUGIN.format(name="edited"), capabilities=["routes"]
    )
    assert cli("plugin", "enable", "edited").exit_code == 0
    (folder / "__init__.py").write_text(writes_marker(marker))
    for args in (
        ["plugin", "list"],
        ["plugin", "info", "never"],
        ["plugin", "info", "edited"],
        ["db", "upgrade"],
    ):
        assert cli(*args).exit_code == 0, args
    current = fresh(app)
    with current.app_context():
        make_user("root@example.com", role="admin")
    client = current.test_client()
    login(client, "root@example.com", "correct horse battery")
    assert client.get("/admin/plugins/").status_code == 200
    assert client.get("/admin/plugins/never/settings").status_code == 200
    assert client.get("/-/health").status_code in (200, 503)
    assert not marker.exists()
