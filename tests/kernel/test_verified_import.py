"""The verified loader on its own: plugin names import only verified bytes, plugin files only
under their plugin's names, and never from bytecode. Every payload here would write a marker
file if it ran; none may."""

from __future__ import annotations

import importlib
import importlib.util
import marshal
import sys
import types
import zipfile
from pathlib import Path

import pytest

from kernel.plugins import verified
from kernel.plugins.discovery import discover_folders
from kernel.plugins.files import Snapshot
from kernel.plugins.verified import Admission, PluginImportRefused
from tests.helpers import write_plugin


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "PAYLOAD_RAN"


def payload(marker: Path) -> str:
    return f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\n"


@pytest.fixture
def plugins(tmp_path):
    folder = tmp_path / "plugins"
    folder.mkdir()
    return folder


@pytest.fixture
def forget():
    """Forget the test's plugin modules and admissions afterwards."""
    names: list[str] = []
    yield names.append
    for name in names:
        verified.revoke(name)
        for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            del sys.modules[key]


def admit(plugins: Path, name: str, forget) -> Admission:
    """Discover the drop-in ``name`` and admit its files as they are now (a passing verdict)."""
    [plugin] = [p for p in discover_folders(plugins) if p.name == name]
    admission = Admission(name, plugin.module, plugin.path, Snapshot.read(plugin.path).digests)
    verified.admit(admission)
    forget(plugin.module)
    return admission


def test_admitted_plugin_imports_from_verified_bytes_and_writes_no_bytecode(
    plugins, forget, monkeypatch
):
    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # what CI has: Python would cache
    write_plugin(
        plugins,
        "vok",
        "from .sub import helper\nVALUE = helper.X\n",
        files={"sub/__init__.py": "", "sub/helper.py": "X = 41 + 1\n"},
    )
    admit(plugins, "vok", forget)
    module = importlib.import_module("pteroca_plugins.vok")
    assert module.VALUE == 42
    assert isinstance(module.__spec__.loader, verified.VerifiedLoader)
    assert module.__cached__ is None
    assert module.__file__ == str(plugins / "vok" / "__init__.py")
    assert not list((plugins / "vok").rglob("__pycache__"))  # the plugin's hash is unchanged
    assert verified.loaded_from("pteroca_plugins.vok.sub.helper") is not None


def test_plugin_without_admission_is_refused(plugins, forget, marker):
    write_plugin(plugins, "vnone", payload(marker))
    discover_folders(plugins)  # guarded from discovery on
    forget("pteroca_plugins.vnone")
    with pytest.raises(PluginImportRefused, match="no current passing scan"):
        importlib.import_module("pteroca_plugins.vnone")
    assert not marker.exists()


@pytest.mark.parametrize("rel", ["late.py", "__pycache__/late.py", "deep/er/late.py"])
def test_file_added_after_the_verdict_is_refused(plugins, forget, marker, rel):
    folder = write_plugin(
        plugins, "vadd", "", files={"deep/__init__.py": "", "deep/er/__init__.py": ""}
    )
    admit(plugins, "vadd", forget)
    (folder / rel).parent.mkdir(parents=True, exist_ok=True)
    (folder / rel).write_text(payload(marker))
    name = "pteroca_plugins.vadd." + rel[:-3].replace("/", ".")
    with pytest.raises(PluginImportRefused, match="its scan verified .added after the scan"):
        importlib.import_module(name)
    assert not marker.exists()
    assert "vadd" in verified.refusals


def test_changed_or_replaced_file_is_refused(plugins, forget, marker, tmp_path):
    folder = write_plugin(plugins, "vchg", "", files={"a.py": "A = 1\n", "b.py": "B = 1\n"})
    admit(plugins, "vchg", forget)
    (folder / "a.py").write_text(payload(marker))
    elsewhere = tmp_path / "evil.py"
    elsewhere.write_text(payload(marker))
    (folder / "b.py").unlink()
    (folder / "b.py").symlink_to(elsewhere)
    for name in ("a", "b"):
        with pytest.raises(PluginImportRefused):
            importlib.import_module(f"pteroca_plugins.vchg.{name}")
    assert not marker.exists()


def test_bytecode_is_never_read_even_when_python_would_load_it(
    plugins, forget, marker, monkeypatch
):
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    folder = write_plugin(plugins, "vpyc", "VALUE = 'source'\n")
    source = folder / "__init__.py"
    evil = compile(payload(marker) + "VALUE = 'bytecode'\n", str(source), "exec")
    stat = source.stat()
    header = (
        importlib.util.MAGIC_NUMBER
        + b"\0\0\0\0"
        + (int(stat.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little")
        + (stat.st_size & 0xFFFFFFFF).to_bytes(4, "little")
    )
    cache = Path(importlib.util.cache_from_source(str(source)))
    cache.parent.mkdir()
    cache.write_bytes(header + marshal.dumps(evil))  # a cache plain Python would trust
    admit(plugins, "vpyc", forget)  # even admitted with the cache in its file list
    assert importlib.import_module("pteroca_plugins.vpyc").VALUE == "source"
    assert not marker.exists()


def test_sibling_and_hidden_modules_of_the_plugins_folder_are_refused(
    plugins, forget, marker, monkeypatch
):
    write_plugin(plugins, "vsib", "")
    (plugins / "evil.py").write_text(payload(marker))
    (plugins / ".hidden").mkdir()
    (plugins / ".hidden" / "hidden_payload.py").write_text(payload(marker))
    admit(plugins, "vsib", forget)
    with pytest.raises(PluginImportRefused, match="no current passing scan"):
        importlib.import_module("pteroca_plugins.evil")  # a sibling of the plugin
    monkeypatch.syspath_prepend(str(plugins))
    monkeypatch.syspath_prepend(str(plugins / ".hidden"))
    for name in ("evil", "hidden_payload"):  # the plugins folder is no path to import from
        with pytest.raises(PluginImportRefused, match="under a name that is not its plugin's"):
            importlib.import_module(name)
    assert not marker.exists()


def test_plugin_files_are_refused_under_any_other_name(plugins, forget, marker, monkeypatch):
    folder = write_plugin(
        plugins,
        "vname",
        "",
        files={"sub/planted.py": payload(marker), ".hid/hidden.py": payload(marker)},
    )
    with zipfile.ZipFile(folder / "bundle.zip", "w") as archive:
        archive.writestr("zipped.py", payload(marker))
    admit(plugins, "vname", forget)
    monkeypatch.syspath_prepend(str(folder / "sub"))
    monkeypatch.syspath_prepend(str(folder / ".hid"))
    monkeypatch.syspath_prepend(str(folder / "bundle.zip"))
    for name in ("planted", "hidden", "zipped"):
        with pytest.raises(PluginImportRefused, match="under a name that is not its plugin's"):
            importlib.import_module(name)
    # nor through another package's __path__ pointed into the plugin folder
    carrier = types.ModuleType("vcarrier")
    carrier.__path__ = [str(folder / "sub")]
    monkeypatch.setitem(sys.modules, "vcarrier", carrier)
    with pytest.raises(PluginImportRefused):
        importlib.import_module("vcarrier.planted")
    assert not marker.exists()


def test_reload_verifies_again(plugins, forget, marker):
    folder = write_plugin(plugins, "vrel", "VALUE = 1\n")
    admit(plugins, "vrel", forget)
    module = importlib.import_module("pteroca_plugins.vrel")
    (folder / "__init__.py").write_text(payload(marker) + "VALUE = 2\n")
    with pytest.raises(PluginImportRefused, match="changed since its scan"):
        importlib.reload(module)
    verified.revoke("pteroca_plugins.vrel")
    with pytest.raises(PluginImportRefused, match="no current passing scan"):
        importlib.reload(module)
    assert not marker.exists()


def test_modules_from_another_generation_or_loaded_unverified_are_dropped(plugins, forget):
    folder = write_plugin(plugins, "vgen", "VALUE = 1\n", files={"extra.py": "E = 1\n"})
    admit(plugins, "vgen", forget)
    first = importlib.import_module("pteroca_plugins.vgen")
    planted = types.ModuleType("pteroca_plugins.vgen.extra")  # not loaded by the loader
    planted.E = "planted"
    sys.modules["pteroca_plugins.vgen.extra"] = planted
    admit(plugins, "vgen", forget)  # the same files again: the unverified module is dropped
    assert "pteroca_plugins.vgen.extra" not in sys.modules
    assert importlib.import_module("pteroca_plugins.vgen.extra").E == 1
    (folder / "__init__.py").write_text("VALUE = 2\n")
    admit(plugins, "vgen", forget)  # a new verdict: every module of the plugin is re-imported
    second = importlib.import_module("pteroca_plugins.vgen")
    assert second is not first and second.VALUE == 2


def test_namespace_folders_inside_a_plugin_are_verified_too(plugins, forget, marker):
    folder = write_plugin(plugins, "vns", "", files={"data/helper.py": "H = 'ok'\n"})
    admit(plugins, "vns", forget)
    assert importlib.import_module("pteroca_plugins.vns.data.helper").H == "ok"
    (folder / "data" / "other.py").write_text(payload(marker))
    with pytest.raises(PluginImportRefused):
        importlib.import_module("pteroca_plugins.vns.data.other")
    assert not marker.exists()


def test_a_namespace_made_before_the_guard_is_replaced(plugins, forget, marker):
    write_plugin(plugins, "vold", "")
    (plugins / "stray.py").write_text(payload(marker))
    old = types.ModuleType("pteroca_plugins")
    old.__path__ = [str(plugins)]  # what the kernel used to make: PathFinder finds files in it
    sys.modules["pteroca_plugins"] = old
    sys.meta_path.remove(verified._finder)
    verified.install()
    assert sys.modules.get("pteroca_plugins") is not old
    with pytest.raises(PluginImportRefused):
        importlib.import_module("pteroca_plugins.stray")
    assert not marker.exists()


def test_the_finder_stays_first(plugins, forget):
    class Greedy:
        def find_spec(self, name, path=None, target=None):
            return None

    greedy = Greedy()
    sys.meta_path.insert(0, greedy)
    try:
        write_plugin(plugins, "vfirst", "")
        admit(plugins, "vfirst", forget)
        assert sys.meta_path[0] is verified._finder
    finally:
        sys.meta_path.remove(greedy)


def test_get_data_serves_verified_files_only(plugins, forget):
    folder = write_plugin(plugins, "vdata", "", files={"data.txt": "scanned"})
    admission = admit(plugins, "vdata", forget)
    module = importlib.import_module("pteroca_plugins.vdata")
    assert module.__loader__.get_data(str(folder / "data.txt")) == b"scanned"
    (folder / "data.txt").write_text("swapped")
    with pytest.raises(PluginImportRefused):
        module.__loader__.get_data(str(folder / "data.txt"))
    with pytest.raises(OSError):
        module.__loader__.get_data("/etc/hostname")
    assert admission.relative(folder / ".." / "x") is None


def test_the_same_admission_again_keeps_every_module(plugins, forget):
    write_plugin(
        plugins, "vkeep", "from .data import helper  # noqa\n", files={"data/helper.py": "H = 1\n"}
    )
    admit(plugins, "vkeep", forget)
    first = importlib.import_module("pteroca_plugins.vkeep")
    namespace = sys.modules["pteroca_plugins.vkeep.data"]
    admit(plugins, "vkeep", forget)  # what every app build does for an unchanged plugin
    assert sys.modules["pteroca_plugins.vkeep"] is first
    assert sys.modules["pteroca_plugins.vkeep.data"] is namespace


def test_paths_resolve_through_a_symlinked_install_folder(plugins, tmp_path, forget):
    folder = write_plugin(plugins, "vlink", "", files={"migrations/versions/1.py": "x = 1\n"})
    link = tmp_path / "linked"
    link.symlink_to(plugins, target_is_directory=True)
    admission = Admission(
        "vlink", "pteroca_plugins.vlink", link / "vlink", Snapshot.read(folder).digests
    )
    assert admission.relative(folder.resolve() / "migrations") == "migrations"
    assert admission.relative(link / "vlink" / "migrations" / "versions") == "migrations/versions"
    assert admission.relative(folder.resolve()) == ""
    assert admission.relative(tmp_path) is None
