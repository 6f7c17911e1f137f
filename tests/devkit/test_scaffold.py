"""``pteroca plugin new``: a complete project, names checked, the package passes the scan."""

from __future__ import annotations

import shutil
import tomllib

import pytest
from click.testing import CliRunner
from packaging.version import Version

from kernel import __version__
from kernel.cli import main
from kernel.plugins.manifest import read_manifest
from kernel.plugins.scaffold import ScaffoldError, check_name, create_project, kernel_range

EXPECTED = {
    ".gitignore",
    ".importlinter",
    "README.md",
    "pyproject.toml",
    "tests/test_notes_demo.py",
    "tests/test_import_contract.py",
    "src/notes_demo/__init__.py",
    "src/notes_demo/plugin.toml",
    "src/notes_demo/models.py",
    "src/notes_demo/services.py",
    "src/notes_demo/views.py",
    "src/notes_demo/templates/notes_demo/index.html",
    "src/notes_demo/migrations/versions/0001_initial.py",
}


def new(*args, env=None):
    return CliRunner().invoke(main, ["plugin", "new", *args], env=env)


def test_new_creates_a_complete_project(tmp_path):
    result = new("notes_demo", "--dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    project = tmp_path / "pteroca-notes-demo"
    assert f"created {project}" in result.output and "pip install -e" in result.output
    files = {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}
    assert files == EXPECTED
    for path in project.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert "${" not in text and "__plugin__" not in text, path
    for source in project.rglob("*.py"):
        compile(source.read_text(), str(source), "exec")  # every generated module parses

    manifest = read_manifest(project / "src" / "notes_demo")
    assert manifest.name == "notes_demo" and manifest.version == "0.1.0"
    assert Version(__version__) in manifest.kernel_specifier
    assert set(manifest.capabilities) == {"routes", "menus", "widgets"}
    assert manifest.settings["max_notes"].type == "int"

    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "pteroca-notes-demo"
    assert pyproject["project"]["version"] == manifest.version
    assert pyproject["project"]["entry-points"]["pteroca.plugins"] == {"notes_demo": "notes_demo"}
    assert pyproject["project"]["dependencies"] == [f"pteroca{kernel_range()}"]
    data = pyproject["tool"]["setuptools"]["package-data"]["notes_demo"]
    assert {"plugin.toml", "templates/**/*", "migrations/**/*"} <= set(data)

    migration = (project / "src/notes_demo/migrations/versions/0001_initial.py").read_text()
    assert 'op.create_table(\n        "notes_demo_note"' in migration  # tables are prefixed
    tests = (project / "tests/test_notes_demo.py").read_text()
    assert "PTEROCA_PLUGIN_NOTES_DEMO_MAX_NOTES" in tests


def test_kernel_range_runs_to_the_next_major():
    assert kernel_range("0.1.0") == ">=0.1,<1.0"
    assert kernel_range("2.3.4") == ">=2.3,<3.0"


def test_new_defaults_to_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert new("here_plugin").exit_code == 0
    assert (tmp_path / "pteroca-here-plugin" / "src" / "here_plugin" / "plugin.toml").is_file()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "My-Plugin",
            "'My-Plugin' is not a valid plugin name: use 2-48 characters of a-z, 0-9 and _,"
            " starting with a letter (try 'my_plugin')",
        ),
        ("1plugin", "'1plugin' is not a valid plugin name"),
        ("x", "'x' is not a valid plugin name"),
        ("a" * 49, "is not a valid plugin name"),
        ("with space", "is not a valid plugin name"),
        ("class", "'class' is a Python keyword"),
        ("match", "'match' is a Python keyword"),
        ("json", "'json' is already the name of a standard library or pteroca module"),
        ("kernel", "'kernel' is already the name of a standard library or pteroca module"),
        (
            "hello_world",
            "a plugin named 'hello_world' is already installed (installed by the "
            "distribution pteroca)",
        ),
        ("flask", "a module named 'flask' is already importable"),
    ],
)
def test_invalid_or_taken_names_are_refused(tmp_path, name, message):
    result = new(name, "--dir", str(tmp_path))
    assert result.exit_code == 1
    assert message in result.output
    assert result.output.startswith("error: ") and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_name_of_a_folder_plugin_is_taken(tmp_path):
    plugins = tmp_path / "plugins"
    (plugins / "dropped").mkdir(parents=True)
    (plugins / "dropped" / "plugin.toml").write_text(
        'name = "dropped"\nversion = "1"\nkernel = ">=0"\n'
    )
    (plugins / "dropped" / "__init__.py").write_text("")
    result = new(
        "dropped", "--dir", str(tmp_path / "out"), env={"PTEROCA_PLUGINS_DIR": str(plugins)}
    )
    assert result.exit_code == 1
    where = plugins / "dropped"
    assert f"a plugin named 'dropped' is already installed (at {where})" in result.output


def test_existing_project_folder_is_never_overwritten(tmp_path):
    target = tmp_path / "pteroca-taken-name"
    target.mkdir()
    (target / "mine.txt").write_text("keep me")
    result = new("taken_name", "--dir", str(tmp_path))
    assert result.exit_code == 1
    assert f"{target} already exists; remove it or choose another --dir" in result.output
    assert [p.name for p in target.iterdir()] == ["mine.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pteroca-taken-name"]  # no staging left


def test_dir_that_is_a_file_is_refused(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("")
    with pytest.raises(ScaffoldError, match="is a file, not a folder"):
        create_project("some_plugin", afile)


def test_check_name_accepts_a_good_name():
    check_name("fresh_name_42", {})


def test_generated_package_passes_the_scan_as_a_drop_in(tmp_path, pteroca_instance):
    project = create_project("scanned_demo", tmp_path)
    shutil.copytree(
        project.path / "src" / "scanned_demo", pteroca_instance.plugins_dir / "scanned_demo"
    )
    report = pteroca_instance.scan("scanned_demo")
    assert report["verdict"] == "pass", report["findings"]
    assert report["findings"] == []  # not even LOW findings
    assert report["advisory_state"] == "none"  # no dependencies to audit
