"""File rules: each one found, with its severity, on plugins built at test time."""

from __future__ import annotations

import importlib.util
import io
import os
import py_compile
import subprocess
import sys
import tarfile
import zipfile
from importlib._bootstrap_external import _code_to_hash_pyc, _code_to_timestamp_pyc

import pytest

from kernel.security import Severity, Verdict, verdict_for
from kernel.security.file_checks import run_file_checks


def check(plugin):
    return run_file_checks(plugin)


def by_rule(findings):
    return {f.rule: f for f in findings}


def test_clean_plugin_has_no_file_findings(sample):
    assert check(sample("clean")) == []


def test_pth_file_blocks(make_plugin):
    plugin = make_plugin("pth", {"evil.pth": "import os; os.system('id')\n"})
    found = by_rule(check(plugin))
    assert found["pth-file"].severity is Severity.CRITICAL and found["pth-file"].file == "evil.pth"


@pytest.mark.parametrize(
    "name, content",
    [
        ("speedups.cpython-311-x86_64-linux-gnu.so", b"\x7fELF\x02\x01\x01" + b"\0" * 64),
        ("helper.pyd", b"MZ" + b"\0" * 62),
        ("libdata.bin", b"\x7fELF\x02\x01\x01" + b"\0" * 64),  # native code under another name
    ],
)
def test_compiled_extensions_block(make_plugin, name, content):
    found = by_rule(check(make_plugin("native", {name: content})))
    assert found["compiled-extension"].severity is Severity.CRITICAL
    assert found["compiled-extension"].file == name


def test_pyc_without_source_blocks_and_beside_source_only_informs(make_plugin, tmp_path):
    source = tmp_path / "hidden.py"
    source.write_text("import os\nos.system('id')\n")
    plugin = make_plugin("bytecode", {"kept.py": "x = 1\n"})
    py_compile.compile(str(source), cfile=str(plugin.path / "hidden.pyc"))
    py_compile.compile(str(plugin.path / "kept.py"), cfile=str(plugin.path / "kept.pyc"))
    found = by_rule(check(plugin))
    assert found["orphan-bytecode"].file == "hidden.pyc"
    assert found["orphan-bytecode"].severity is Severity.CRITICAL
    assert found["stray-bytecode"].file == "kept.pyc"
    assert found["stray-bytecode"].severity is Severity.LOW


def _write_cache(plugin, module: str, code_source: str, *, hashed: str | None = None):
    """Write __pycache__/<module>.<tag>.pyc from ``code_source``, headed as the source's cache."""
    source = plugin.path / f"{module}.py"
    code = compile(code_source, str(source), "exec", dont_inherit=True)
    if hashed == "unchecked":
        data = _code_to_hash_pyc(code, b"\0" * 8, checked=False)
    else:
        stat = source.stat()
        data = _code_to_timestamp_pyc(code, int(stat.st_mtime), stat.st_size)
    cache = plugin.path / "__pycache__"
    cache.mkdir(exist_ok=True)
    pyc = cache / f"{module}.{sys.implementation.cache_tag}.pyc"
    pyc.write_bytes(bytes(data))
    return pyc


def test_tampered_bytecode_cache_blocks(make_plugin):
    plugin = make_plugin("cached", {"mod.py": "VALUE = 'scanned source'\n"})
    _write_cache(plugin, "mod", "VALUE = 'something else'\n")
    found = by_rule(check(plugin))
    assert found["bytecode-mismatch"].severity is Severity.CRITICAL
    assert found["bytecode-mismatch"].file.startswith("__pycache__/mod.")
    # ... and it is real: Python loads the cached code instead of the source
    out = subprocess.run(
        [sys.executable, "-c", "import mod; print(mod.VALUE)"],
        cwd=plugin.path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "something else"


def test_unchecked_hash_based_bytecode_blocks(make_plugin):
    plugin = make_plugin("hashed", {"mod.py": "VALUE = 1\n"})
    _write_cache(plugin, "mod", "VALUE = 2\n", hashed="unchecked")
    assert "bytecode-mismatch" in by_rule(check(plugin))


def test_genuine_or_stale_bytecode_caches_are_fine(make_plugin):
    plugin = make_plugin("genuine", {"mod.py": "VALUE = 1\n", "old.py": "X = 1\n"})
    py_compile.compile(
        str(plugin.path / "mod.py"),
        cfile=importlib.util.cache_from_source(str(plugin.path / "mod.py")),
    )
    stale = _write_cache(plugin, "old", "X = 2\n")
    os.utime(plugin.path / "old.py", (1, 1))  # source newer/different: Python recompiles
    assert stale.exists()
    findings = check(plugin)  # caches are hashed and listed like any file, as LOW only
    assert {(f.rule, f.severity) for f in findings} == {("cached-bytecode", Severity.LOW)}
    assert sorted(f.file.split(".")[0] for f in findings) == ["__pycache__/mod", "__pycache__/old"]
    assert verdict_for(findings) == Verdict.PASS


def test_symlink_leaving_the_folder_blocks_inside_is_fine(make_plugin, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("s3cret")
    plugin = make_plugin("links", {"data/local.txt": "ok"})
    (plugin.path / "leak.txt").symlink_to(outside)
    (plugin.path / "up").symlink_to(tmp_path, target_is_directory=True)
    (plugin.path / "dangling").symlink_to("/nonexistent/elsewhere")
    (plugin.path / "alias.txt").symlink_to("data/local.txt")
    findings = check(plugin)
    assert sorted(f.file for f in findings if f.rule == "symlink-escape") == [
        "dangling",
        "leak.txt",
        "up",
    ]
    assert all(f.severity is Severity.CRITICAL for f in findings)
    assert "alias.txt" not in {f.file for f in findings}


def _zip(members: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buf.getvalue()


def _targz(members: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as archive:
        for name, content in members.items():
            data = content.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_nested_archives(make_plugin):
    plugin = make_plugin(
        "archives",
        {
            "vendor.zip": _zip({"payload/__init__.py": "import os\n"}),
            "assets.tar.gz": _targz({"logo.svg": "<svg/>"}),
            "fonts.zip": _zip({"font.txt": "not code"}),
            # a zip appended to an image is still importable with zipimport
            "logo.png": b"\x89PNG\r\n\x1a\n" + _zip({"x.py": "print(1)\n"}),
        },
    )
    findings = {f.file: f for f in check(plugin)}
    assert findings["vendor.zip"].rule == "archive-with-code"
    assert findings["vendor.zip"].severity is Severity.CRITICAL
    assert findings["logo.png"].rule == "archive-with-code"
    assert findings["assets.tar.gz"].rule == "archive"
    assert findings["assets.tar.gz"].severity is Severity.HIGH
    assert findings["fonts.zip"].rule == "archive"


def test_oversized_file_warns(make_plugin, monkeypatch):
    from kernel.security import policy

    plugin = make_plugin("big", {"static/blob.txt": "x" * 2048})
    monkeypatch.setattr(policy, "MAX_FILE_BYTES", 1024)
    found = by_rule(check(plugin))
    assert found["oversized"].severity is Severity.HIGH
    assert found["oversized"].file == "static/blob.txt"
    assert verdict_for(check(plugin)) == Verdict.WARN


def test_undeclared_hooks_block_every_spelling(sample):
    findings = [f for f in check(sample("undeclared_hooks")) if f.rule == "capabilities"]
    hooks = {f.message.partition(":")[0]: f for f in findings}
    # register_blueprints is covered by "routes"; the others are not declared
    assert set(hooks) == {
        "dashboard_widgets",
        "register_cron_tasks",
        "client_menu_items",
        "health_checks",
    }
    assert hooks["health_checks"].file == "more.py"
    assert hooks["dashboard_widgets"].line == 16
    assert "'widgets'" in hooks["dashboard_widgets"].message
    assert all(f.severity is Severity.CRITICAL for f in findings)


def test_declared_hooks_pass_and_plugin_hookspecs_need_their_own_name(make_plugin):
    code = """
        from kernel import hookimpl

        @hookimpl
        def register_blueprints(app):
            return []

        @hookimpl
        def register_provisioners():
            return []
    """
    ok = make_plugin(
        "declared", {"__init__.py": code}, capabilities=["routes", "register_provisioners"]
    )
    assert check(ok) == []
    missing = make_plugin("undeclared", {"__init__.py": code}, capabilities=["routes"])
    assert [f.message.partition(":")[0] for f in check(missing)] == ["register_provisioners"]


def test_invalid_manifest_blocks(make_plugin):
    plugin = make_plugin("badmanifest")
    (plugin.path / "plugin.toml").write_text("name = 'badmanifest'\n")  # no version, kernel
    from tests.security.scanlib import folder_plugin

    found = by_rule(check(folder_plugin(plugin.path)))
    assert found["manifest"].severity is Severity.CRITICAL
