"""Discovery finds plugins and reports manifest errors without importing plugin code."""

from __future__ import annotations

import sys

import pytest

from kernel.plugins.discovery import content_hash, discover, iter_plugin_files
from kernel.plugins.manifest import ManifestInvalid, parse_manifest
from tests.helpers import write_plugin

MARKER_CODE = """
from pathlib import Path
Path(__file__).with_name("IMPORTED").write_text("yes")
raise RuntimeError("this plugin must never be imported by discovery")
"""


def test_discovery_does_not_import(plugins_dir, cli):
    folder = write_plugin(plugins_dir, "tripwire", MARKER_CODE)
    found = discover(plugins_dir)
    assert "tripwire" in found and found["tripwire"].ok
    result = cli("plugin", "list")
    assert "tripwire" in result.output
    result = cli("plugin", "scan", "tripwire")
    assert not (folder / "IMPORTED").exists()
    assert "pteroca_plugins.tripwire" not in sys.modules


def test_entry_point_plugins_are_found_without_import():
    found = discover("/nonexistent")
    assert found["hello_world"].source == "entry_point"
    assert found["hello_world"].manifest.display_name == "Hello World"
    assert (found["hello_world"].path / "plugin.toml").exists()


def test_one_bad_manifest_does_not_stop_the_others(plugins_dir, cli):
    write_plugin(plugins_dir, "good", "")
    bad = plugins_dir / "bad"
    bad.mkdir()
    (bad / "__init__.py").write_text("")
    (bad / "plugin.toml").write_text(
        'name = "bad"\nversion = "not a version"\nkernel = ">=0.1"\ncapabilities = "routes"\n'
    )
    broken = plugins_dir / "broken"
    broken.mkdir()
    (broken / "__init__.py").write_text("")
    (broken / "plugin.toml").write_text("name = [unclosed")
    found = discover(plugins_dir)
    assert found["good"].ok
    fields = {e.field for e in found["bad"].errors}
    assert {"version", "capabilities"} <= fields
    assert found["broken"].errors[0].field == "plugin.toml"
    out = cli("plugin", "list").output
    assert "good" in out and "version: 'not a version' is not a valid version" in out


def test_manifest_reports_each_field():
    try:
        parse_manifest(
            {"name": "X y", "settings": {"a": {"type": "colour"}}, "requires": {"other": "=>1"}}
        )
    except ManifestInvalid as exc:
        fields = {e.field for e in exc.errors}
    else:
        raise AssertionError("invalid manifest accepted")
    assert {"name", "version", "kernel", "settings.a.type", "requires.other"} <= fields


def test_name_mismatch_is_reported(plugins_dir):
    folder = write_plugin(plugins_dir, "alpha", "")
    (folder / "plugin.toml").write_text(
        (folder / "plugin.toml").read_text().replace('name = "alpha"', 'name = "beta"')
    )
    found = discover(plugins_dir)
    assert not found["alpha"].ok
    assert "registered as 'alpha'" in str(found["alpha"].errors[0])


def test_drop_in_cannot_shadow_an_entry_point(plugins_dir):
    write_plugin(plugins_dir, "hello_world", "raise SystemExit")
    found = discover(plugins_dir)
    assert found["hello_world"].source == "entry_point" and found["hello_world"].ok
    assert "is ignored" in found["hello_world"].warnings[0]


@pytest.mark.parametrize(
    "rel",
    [
        "__pycache__/x.cpython-311.pyc",
        "__pycache__/payload.py",
        ".hidden/payload.py",
        "a/.b/c/d.txt",
    ],
)
def test_content_hash_covers_every_folder(tmp_path, rel):
    folder = write_plugin(tmp_path, "hashme", "x = 1\n")
    before = content_hash(folder)
    (folder / rel).parent.mkdir(parents=True, exist_ok=True)
    (folder / rel).write_bytes(b"junk")
    added = content_hash(folder)
    assert added != before
    (folder / rel).write_bytes(b"other junk")
    assert content_hash(folder) not in (before, added)
    assert rel in {p.relative_to(folder).as_posix() for p in iter_plugin_files(folder)}
