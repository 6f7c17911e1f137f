"""Uninstall with purge, and migrations, never import a plugin without a current verdict.

A plugin that may be imported has its downgrades run from a verified copy of its files; one
that may not has its tables dropped from the list recorded when its migrations last ran, or,
with no such list, the purge is refused and nothing is dropped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from kernel.extensions import db
from kernel.plugins.models import PluginRecord
from kernel.testing import login
from tests.helpers import write_plugin
from tests.kernel.test_migrations import migration
from tests.security.scanlib import install_dist

COUNTING = """
from pathlib import Path
with open({counter!r}, "a") as fh:
    fh.write("imported\\n")
"""

ODD_TABLE = '''
"""a table without the plugin's prefix"""
import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("{table}", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("item_id", sa.Integer, sa.ForeignKey("{parent}.id")))


def downgrade():
    {downgrade}
    op.drop_table("{table}")
'''


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "PAYLOAD_RAN"


def writes_marker(marker: Path) -> str:
    return f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\n"


def tables(app) -> set[str]:
    return set(inspect(create_engine(app.config["SQLALCHEMY_DATABASE_URI"])).get_table_names())


def imports(counter: Path) -> int:
    return len(counter.read_text().splitlines()) if counter.exists() else 0


def two_table_plugin(plugins_dir, name, counter, downgrade="pass"):
    return write_plugin(
        plugins_dir,
        name,
        COUNTING.format(counter=str(counter)),
        files={
            "migrations/versions/0001.py": migration(f"{name}_item", f"{name}1"),
            "migrations/versions/0002.py": ODD_TABLE.format(
                rev=f"{name}2",
                down=f"{name}1",
                table=f"odd_{name}",
                parent=f"{name}_item",
                downgrade=downgrade,
            ),
        },
    )


def test_tables_made_by_migrations_are_recorded(app, plugins_dir, cli, tmp_path):
    two_table_plugin(plugins_dir, "rec", tmp_path / "count")
    assert cli("plugin", "enable", "rec").exit_code == 0
    with app.app_context():
        assert db.session.get(PluginRecord, "rec").tables == ["odd_rec", "rec_item"]


def test_purge_of_a_changed_plugin_drops_the_recorded_tables_and_runs_none_of_it(
    app, plugins_dir, cli, tmp_path, marker
):
    counter = tmp_path / "count"
    folder = two_table_plugin(plugins_dir, "chg", counter)
    assert cli("plugin", "enable", "chg").exit_code == 0
    assert cli("plugin", "disable", "chg").exit_code == 0
    before = imports(counter)
    (folder / "__init__.py").write_text(writes_marker(marker))  # no longer what was scanned
    (folder / "migrations" / "versions" / "0002.py").write_text(
        ODD_TABLE.format(
            rev="chg2",
            down="chg1",
            table="odd_chg",
            parent="chg_item",
            downgrade=writes_marker(marker).replace("\n", "; "),
        )
    )
    result = cli("plugin", "uninstall", "chg", "--purge", "--yes")
    assert result.exit_code == 0, result.output
    assert not {"chg_item", "odd_chg", "alembic_version_chg"} & tables(app)
    assert not folder.exists()
    assert imports(counter) == before and not marker.exists()


def test_purge_of_a_blocked_plugin_imports_nothing(
    app, plugins_dir, cli, tmp_path, osv_server, site_dir
):
    counter = tmp_path / "count"
    install_dist(site_dir, "fakedep", "0.5")
    folder = two_table_plugin(plugins_dir, "blk", counter)
    manifest = folder / "plugin.toml"
    manifest.write_text(manifest.read_text() + 'python_dependencies = ["fakedep"]\n')
    assert cli("plugin", "enable", "blk").exit_code == 0
    osv_server.add("fakedep", "GHSA-blk1", fixed="0.6")
    scanned = cli("plugin", "scan", "blk", "--force")  # same files, now a CRITICAL advisory
    assert scanned.exit_code == 1
    assert json.loads(cli("plugin", "info", "blk", "--json").output)["state"] == "blocked"
    before = imports(counter)
    result = cli("plugin", "uninstall", "blk", "--purge", "--yes")
    assert result.exit_code == 0, result.output
    assert not {"blk_item", "odd_blk", "alembic_version_blk"} & tables(app)
    assert imports(counter) == before


def test_purge_without_a_verdict_or_a_record_refuses_and_keeps_the_data(
    app, plugins_dir, cli, marker
):
    folder = write_plugin(plugins_dir, "ghost", writes_marker(marker))
    with app.app_context():
        db.session.execute(text("CREATE TABLE ghost_item (id INTEGER PRIMARY KEY)"))
        db.session.execute(text("INSERT INTO ghost_item (id) VALUES (1)"))
        db.session.commit()
    result = cli("plugin", "uninstall", "ghost", "--purge", "--yes")
    assert result.exit_code == 1
    assert "nothing was dropped" in result.output and "Traceback" not in result.output
    assert "ghost_item" in tables(app) and folder.exists()
    assert not marker.exists()


def test_purge_of_a_never_scanned_plugin_without_tables(app, plugins_dir, cli, marker):
    folder = write_plugin(plugins_dir, "bare", writes_marker(marker))
    result = cli("plugin", "uninstall", "bare", "--purge", "--yes")
    assert result.exit_code == 0, result.output
    assert not folder.exists() and not marker.exists()


def test_purge_of_an_admitted_plugin_runs_its_downgrades_from_a_verified_copy(
    app, plugins_dir, cli, tmp_path
):
    where = tmp_path / "downgraded_from"
    folder = two_table_plugin(
        plugins_dir,
        "ok",
        tmp_path / "count",
        downgrade=f"open({str(where)!r}, 'w').write(__file__)",
    )
    assert cli("plugin", "enable", "ok").exit_code == 0
    assert cli("plugin", "disable", "ok").exit_code == 0
    result = cli("plugin", "uninstall", "ok", "--purge", "--yes")
    assert result.exit_code == 0, result.output
    assert not {"ok_item", "odd_ok", "alembic_version_ok"} & tables(app)
    ran_from = Path(where.read_text())
    assert ran_from.name == "0002.py" and not ran_from.is_relative_to(folder)
    assert not ran_from.exists()  # the copy is gone too


def test_db_upgrade_skips_a_plugin_whose_migrations_changed(app, plugins_dir, cli, marker):
    folder = write_plugin(
        plugins_dir, "grower", files={"migrations/versions/0001.py": migration("grower_a", "g1")}
    )
    assert cli("plugin", "enable", "grower").exit_code == 0
    (folder / "migrations" / "versions" / "0002.py").write_text(
        writes_marker(marker) + migration("grower_b", "g2", "g1")
    )
    assert cli("db", "upgrade").exit_code == 0
    assert "grower_b" not in tables(app) and not marker.exists()


def test_admin_uninstall_with_purge_of_an_edited_plugin_imports_nothing(
    app, plugins_dir, cli, fresh, tmp_path, marker
):
    from tests.helpers import PASSWORD, make_user

    counter = tmp_path / "count"
    folder = two_table_plugin(plugins_dir, "adm", counter)
    assert cli("plugin", "enable", "adm").exit_code == 0
    assert cli("plugin", "disable", "adm").exit_code == 0
    (folder / "__init__.py").write_text(writes_marker(marker))
    current = fresh(app)
    with current.app_context():
        make_user("root@example.com", role="admin")
    client = current.test_client()
    login(client, "root@example.com", PASSWORD)
    before = imports(counter)
    response = client.post("/admin/plugins/adm/uninstall", data={"purge": "1"})
    assert response.status_code == 303
    assert not {"adm_item", "odd_adm", "alembic_version_adm"} & tables(app)
    assert imports(counter) == before and not marker.exists() and not folder.exists()
