"""The verified loader: plugin code is imported only from bytes whose hash a verdict recorded.

An :class:`Admission` is a plugin's file list (relative path -> sha256) taken from
the scan that passed, or was confirmed, for it. :class:`VerifiedFinder`, first on
``sys.meta_path``, answers every import of a plugin's module names:

* a name under a *guarded* prefix (every discovered plugin package, and all of
  ``pteroca_plugins.*``) is served only from an admission: the loader reads the
  source file, checks its sha256 against the list, and compiles those same bytes.
  A file missing from the list, changed, or a plugin without an admission raises
  :class:`PluginImportRefused` (an ImportError): nothing of it runs. ``.pyc`` files
  are never read and no ``__pycache__`` is written, so loading a plugin does not
  change its own hash.
* any other name is looked up by the finders after this one; if what they found
  lies inside a plugin's folder (a sibling module, a file planted in the tree and
  reached through ``sys.path`` or another package's ``__path__``, a zip in the
  tree), the import is refused too: plugin files load only under their own names.

Admissions are per process. ``admit`` drops ``sys.modules`` entries of the plugin
that were not loaded from this exact admission (an earlier generation, another
folder, or imported before the guard), so a hot swap never reuses stale code.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.machinery import ModuleSpec
from importlib.util import decode_source
from pathlib import Path
from types import MappingProxyType, ModuleType

from kernel.plugins.files import SYMLINK, sha256, tree_hash

FOLDER_NAMESPACE = "pteroca_plugins"
SOURCE_SUFFIX = ".py"


class PluginImportRefused(ImportError):
    """A plugin module or file was not imported: it is not what the plugin's verdict covers."""

    def __init__(self, plugin: str, reason: str, name: str | None = None):
        self.plugin, self.reason = plugin, reason
        super().__init__(f"plugin {plugin!r}: {reason}", name=name)


@dataclass(frozen=True)
class Admission:
    """What may be imported of one plugin: its package name, folder and verified file list."""

    name: str
    module: str
    root: Path
    files: Mapping[str, str]
    token: str = field(default="", compare=False)

    def __post_init__(self):
        object.__setattr__(self, "files", MappingProxyType(dict(self.files)))
        object.__setattr__(self, "root", Path(self.root))
        place = os.path.realpath(self.root).encode("utf-8", "surrogateescape")
        object.__setattr__(
            self,
            "token",
            hashlib.sha256(place + b"\0" + tree_hash(self.files).encode()).hexdigest(),
        )

    def read(self, rel: str) -> bytes:
        """The bytes of ``rel`` if they are the verified ones; else PluginImportRefused."""
        expected = self.files.get(rel)
        if expected is None:
            raise self.refused(
                f"{rel} is not among the files its scan verified "
                "(added after the scan); scan and enable it again"
            )
        if expected.startswith(SYMLINK):
            raise self.refused(f"{rel} is a symlink; only regular files are loaded")
        try:
            with open(self.root / rel, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise self.refused(f"{rel} cannot be read ({exc.strerror})") from None
        if sha256(data) != expected:
            raise self.refused(f"{rel} changed since its scan; scan and enable it again")
        return data

    def refused(self, reason: str, name: str | None = None) -> PluginImportRefused:
        _note_refusal(self.name, reason)
        return PluginImportRefused(self.name, reason, name=name)

    def relative(self, path: str | os.PathLike) -> str | None:
        """``path`` as a key of :attr:`files` ("" for the root itself), None when outside it.

        Compared as written and, failing that, with symlinks resolved (a plugin that names
        its folder through ``Path(__file__).resolve()`` under a symlinked install path).
        """
        joined = os.path.join(self.root, path)
        for base, full in (
            (os.path.normpath(self.root), os.path.normpath(joined)),
            (os.path.realpath(self.root), os.path.realpath(joined)),
        ):
            if full == base:
                return ""
            if full.startswith(base.rstrip(os.sep) + os.sep):
                return Path(full).relative_to(base).as_posix()
        return None


# --- the process-wide registry --------------------------------------------------------------

_lock = threading.RLock()
_admitted: dict[str, Admission] = {}  # package name -> admission
_pinned: set[str] = set()  # package names whose admission outlives app builds (test sessions)
_guarded: dict[str, str] = {}  # package name -> plugin name
_roots: dict[str, str] = {}  # real path of a plugin folder (or plugins folder) -> plugin name
_loaded: dict[str, str] = {}  # module name -> admission token it was executed from
refusals: dict[str, str] = {}  # plugin name -> the last refusal, for reports


def _note_refusal(plugin: str, reason: str) -> None:
    refusals[plugin] = reason
    from kernel import generation

    generation.mark_local_change()  # rebuild: the loader then records why the plugin is out


def guard(module: str, root: Path | None, plugin: str) -> None:
    """Serve ``module`` and everything below it only from an admission; guard its folder."""
    with _lock:
        _guarded.setdefault(module, plugin)
        if root is not None:
            _roots.setdefault(os.path.realpath(root), plugin)
    install()


def guard_folder(folder: Path) -> None:
    """No file below ``folder`` (a plugins folder) imports under a name of its own choosing."""
    with _lock:
        _roots.setdefault(os.path.realpath(folder), "(plugins folder)")
    install()


def admit(
    admission: Admission, *, pinned: bool = False, forget: Callable[[str], None] | None = None
) -> None:
    """Allow imports of ``admission``'s package; drop its modules loaded from anything else.

    ``forget(package)`` is called before stale modules are dropped (the loader removes
    their tables from the shared SQLAlchemy metadata).
    """
    guard(admission.module, admission.root, admission.name)
    with _lock:
        _admitted[admission.module] = admission
        if pinned:
            _pinned.add(admission.module)
        stale = [
            key
            for key in list(sys.modules)
            if _within(key, admission.module) and _loaded.get(key) != admission.token
        ]
        if stale:
            if forget is not None:
                forget(admission.module)
            for key in [k for k in list(sys.modules) if _within(k, admission.module)]:
                sys.modules.pop(key, None)
                _loaded.pop(key, None)
        refusals.pop(admission.name, None)


def revoke(module: str) -> None:
    """No new import of ``module`` from now on (modules already imported stay referenced)."""
    with _lock:
        if module not in _pinned:
            _admitted.pop(module, None)


def forget(module: str) -> None:
    """Revoke ``module`` (pinned or not) and drop its imported modules (tests, tools)."""
    with _lock:
        _pinned.discard(module)
        _admitted.pop(module, None)
        for key in [k for k in list(sys.modules) if _within(k, module)]:
            sys.modules.pop(key, None)
            _loaded.pop(key, None)


def retain(modules: set[str]) -> None:
    """Revoke every admission except ``modules`` and the pinned ones (one app build's set)."""
    with _lock:
        for module in [m for m in _admitted if m not in modules]:
            revoke(module)


def admission_of(module: str) -> Admission | None:
    return _admitted.get(module)


def loaded_from(module_name: str) -> str | None:
    """The admission token module ``module_name`` was executed from (None: not by us)."""
    return _loaded.get(module_name)


def _within(key: str, module: str) -> bool:
    return key == module or key.startswith(module + ".")


def _owner(fullname: str) -> str | None:
    """The guarded package ``fullname`` belongs to (the longest guarded prefix)."""
    if fullname.startswith(FOLDER_NAMESPACE + "."):
        parts = fullname.split(".")
        candidate = ".".join(parts[:2])
        return candidate
    parts = fullname.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in _guarded:
            return prefix
    return None


# --- finder and loaders -----------------------------------------------------------------------


class _NamespaceLoader:
    """Creates ``pteroca_plugins`` and folders without ``__init__.py``: no code to run."""

    def __init__(self, token: str = ""):
        self.token = token  # the admission a plugin's namespace folder belongs to

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        if self.token:
            _loaded[module.__name__] = self.token

    def is_package(self, fullname):
        return True


class VerifiedLoader:
    """Compiles one plugin source file from verified bytes; never reads or writes bytecode."""

    def __init__(self, admission: Admission, rel: str, package: bool):
        self.admission, self.rel, self.package = admission, rel, package
        self.path = str(Path(admission.root) / rel)

    def create_module(self, spec):
        return None

    def exec_module(self, module: ModuleType) -> None:
        data = self.admission.read(self.rel)
        code = compile(data, self.path, "exec", dont_inherit=True)
        module.__cached__ = None  # there is no bytecode cache, and none is written
        _loaded[module.__name__] = self.admission.token
        exec(code, module.__dict__)  # the verified bytes: the one thing this loader runs

    def is_package(self, fullname: str) -> bool:
        return self.package

    def get_filename(self, fullname: str) -> str:
        return self.path

    def get_source(self, fullname: str) -> str:
        return decode_source(self.admission.read(self.rel))

    def get_data(self, path: str) -> bytes:
        """``pkgutil.get_data`` and friends: a verified file of the plugin, nothing else."""
        rel = self.admission.relative(path)
        if rel is None:
            raise OSError(f"{path}: not a file of plugin {self.admission.name!r}")
        return self.admission.read(rel)


def _spec(admission: Admission, fullname: str) -> ModuleSpec:
    rel = fullname[len(admission.module) :].lstrip(".").replace(".", "/")
    root = Path(admission.root)
    candidates = [(f"{rel}/__init__.py" if rel else "__init__.py", True)]
    if rel:
        candidates.append((rel + SOURCE_SUFFIX, False))
    for candidate, package in candidates:
        if candidate in admission.files:
            loader = VerifiedLoader(admission, candidate, package)
            spec = ModuleSpec(fullname, loader, origin=loader.path, is_package=package)
            spec.has_location = True
            if package:
                spec.submodule_search_locations = [str(root / rel) if rel else str(root)]
            return spec
        if os.path.lexists(root / candidate):
            raise admission.refused(
                f"{candidate} is not among the files its scan verified "
                "(added after the scan); scan and enable it again",
                name=fullname,
            )
    if rel and (root / rel).is_dir():
        if not any(f.startswith(rel + "/") for f in admission.files):
            raise admission.refused(
                f"{rel}/ holds no file its scan verified (added after the "
                "scan); scan and enable it again",
                name=fullname,
            )
        spec = ModuleSpec(fullname, _NamespaceLoader(admission.token), is_package=True)
        spec.submodule_search_locations = [str(root / rel)]
        return spec
    raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)


class VerifiedFinder:
    """First on ``sys.meta_path``: plugin names from admissions, plugin files under no other."""

    def find_spec(self, fullname: str, path=None, target=None):
        if fullname == FOLDER_NAMESPACE:
            spec = ModuleSpec(fullname, _NamespaceLoader(), is_package=True)
            spec.submodule_search_locations = []  # nothing below is found by path
            return spec
        owner = _owner(fullname)
        if owner is None:
            return _delegate(self, fullname, path, target)
        admission = _admitted.get(owner)
        if admission is None:
            plugin = _guarded.get(owner, owner.rpartition(".")[2])
            raise PluginImportRefused(
                plugin,
                f"{fullname} is not imported: the plugin has no "
                "current passing scan (enable it to scan it)",
                name=fullname,
            )
        return _spec(admission, fullname)

    def invalidate_caches(self) -> None:
        return None


def _delegate(me: VerifiedFinder, fullname: str, path, target):
    for finder in list(sys.meta_path):
        if finder is me or isinstance(finder, VerifiedFinder):
            continue
        find = getattr(finder, "find_spec", None)
        if find is None:
            continue
        spec = find(fullname, path, target)
        if spec is not None:
            _check_location(fullname, spec)
            return spec
    return None


def _check_location(fullname: str, spec: ModuleSpec) -> None:
    if not _roots:
        return
    places = list(spec.submodule_search_locations or [])
    if spec.origin and spec.has_location:
        places.append(spec.origin)
    for place in places:
        current = os.path.realpath(place)
        while True:
            owner = _roots.get(current)
            if owner is not None:
                raise PluginImportRefused(
                    owner,
                    f"{fullname} would load {place}, a file in a plugin folder, under a "
                    "name that is not its plugin's: plugin files are imported only as their "
                    "plugin's own modules",
                    name=fullname,
                )
            parent = os.path.dirname(current)
            if parent == current:
                break
            current = parent


_finder = VerifiedFinder()


def install() -> None:
    """Put the verified finder first on ``sys.meta_path`` (idempotent)."""
    if sys.meta_path and sys.meta_path[0] is _finder:
        return
    with _lock:
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, VerifiedFinder)]
        sys.meta_path.insert(0, _finder)
        namespace = sys.modules.get(FOLDER_NAMESPACE)
        if namespace is not None and not isinstance(
            getattr(namespace.__spec__, "loader", None), _NamespaceLoader
        ):
            del sys.modules[FOLDER_NAMESPACE]  # made before the guard: its __path__ finds files


def installed() -> bool:
    return _finder in sys.meta_path
