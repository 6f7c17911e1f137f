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


def _setting(**spec):
    return parse_manifest(
        {"name": "bounded", "version": "1.0", "kernel": ">=0.1", "settings": {"n": spec}}
    ).settings["n"]


def test_int_settings_take_bounds_and_refuse_values_outside_them():
    from kernel.setting_types import SettingError, coerce

    spec = _setting(type="int", default=5, min=1, max=10, label="Per minute")
    assert (spec.minimum, spec.maximum) == (1, 10)
    assert coerce(spec, "1") == 1 and coerce(spec, 10) == 10
    for raw, message in ((0, "at least 1"), ("-3", "at least 1"), (11, "at most 10")):
        with pytest.raises(SettingError, match=f"Per minute must be {message}"):
            coerce(spec, raw)
    assert coerce(_setting(type="int", min=0), 10**12) == 10**12  # no max: unbounded


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"type": "string", "min": 1}, "settings.n.min"),  # bounds only on int settings
        ({"type": "int", "min": "1"}, "settings.n.min"),
        ({"type": "int", "max": 2.5}, "settings.n.min"),
        ({"type": "int", "max": True}, "settings.n.min"),
        ({"type": "int", "min": 5, "max": 1}, "settings.n.min"),
        ({"type": "int", "default": 0, "min": 1}, "settings.n.default"),
        ({"type": "int", "default": 11, "max": 10}, "settings.n.default"),
    ],
)
def test_bad_bounds_are_manifest_errors(spec, field):
    with pytest.raises(ManifestInvalid) as caught:
        _setting(**spec)
    assert field in {e.field for e in caught.value.errors}
