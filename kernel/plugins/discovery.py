"""Finding plugins without importing a line of their code.

Two sources: entry points in the ``pteroca.plugins`` group (name -> module) and
folders ``<PTEROCA_PLUGINS_DIR>/<name>/`` holding ``plugin.toml``. A package's
folder is located with import *finders* only (``find_spec`` on the top-level
name, then ``PathFinder`` for each sub-package), which never executes modules.

Every plugin found is also *guarded* (:mod:`kernel.plugins.verified`): from
then on its package imports only from an admission, i.e. bytes a verdict covers.
"""

from __future__ import annotations

import importlib.machinery
import sys
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

from kernel.plugins import verified
from kernel.plugins.files import Snapshot, iter_files, tree_hash
from kernel.plugins.manifest import (
    MANIFEST_FILE,
    Manifest,
    ManifestError,
    ManifestInvalid,
    read_manifest,
)

ENTRY_POINT_GROUP = "pteroca.plugins"
FOLDER_MODULE_PREFIX = verified.FOLDER_NAMESPACE


@dataclass
class DiscoveredPlugin:
    """A plugin found on disk; ``manifest`` is None when ``errors`` explain why."""

    name: str
    source: str  # "entry_point" | "folder"
    module: str
    path: Path | None
    manifest: Manifest | None = None
    errors: list[ManifestError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    distribution: str | None = None
    distribution_version: str | None = None

    @property
    def ok(self) -> bool:
        return self.manifest is not None and not self.errors

    @property
    def version(self) -> str:
        return self.manifest.version if self.manifest else ""

    def files(self) -> list[Path]:
        """Every file of the plugin package, sorted; no folder skipped."""
        if self.path is None:
            return []
        return sorted(iter_files(self.path))

    def snapshot(self) -> Snapshot:
        """Every file read once (what a scan analyses and records)."""
        return Snapshot.read(self.path)

    def digests(self) -> dict[str, str]:
        """relative path -> sha256 of every file as it is now."""
        return self.snapshot().digests if self.path else {}

    def content_hash(self) -> str:
        return tree_hash(self.digests()) if self.path else ""


def iter_plugin_files(root: Path):
    """Every file below ``root`` (symlinks included, not followed); no folder is skipped."""
    return iter_files(root)


def content_hash(root: Path) -> str:
    """sha256 over the sorted (relative path, sha256 of the file) pairs of a plugin folder."""
    return tree_hash(Snapshot.read(root).digests)


def _find_top_level(name: str):
    """``importlib.util.find_spec`` for a top-level name, past the verified finder.

    A top-level lookup imports nothing; asking the finders behind the verified one
    means a guarded package is located (never imported) however often we discover.
    """
    module = sys.modules.get(name)
    if module is not None and getattr(module, "__spec__", None) is not None:
        return module.__spec__
    for finder in list(sys.meta_path):
        if isinstance(finder, verified.VerifiedFinder):
            continue
        find = getattr(finder, "find_spec", None)
        spec = find(name, None) if find is not None else None
        if spec is not None:
            return spec
    return None


def locate_package(module: str) -> Path | None:
    """Return the folder of package ``module`` without importing it (or its parents)."""
    parts = module.split(".")
    spec = _find_top_level(parts[0])
    for part in parts[1:]:
        if spec is None or not spec.submodule_search_locations:
            return None
        spec = importlib.machinery.PathFinder.find_spec(
            f"{spec.name}.{part}", list(spec.submodule_search_locations)
        )
    if spec is None or not spec.submodule_search_locations:
        return None  # a plain module cannot carry plugin.toml
    for location in spec.submodule_search_locations:
        if (Path(location) / MANIFEST_FILE).exists() or (Path(location) / "__init__.py").exists():
            return Path(location)
    return None


def _load(plugin: DiscoveredPlugin) -> DiscoveredPlugin:
    if plugin.path is None:
        plugin.errors.append(ManifestError("module", f"package {plugin.module!r} not found"))
        return plugin
    try:
        plugin.manifest = read_manifest(plugin.path)
    except ManifestInvalid as exc:
        plugin.errors.extend(exc.errors)
        return plugin
    if plugin.manifest.name != plugin.name:
        plugin.errors.append(
            ManifestError(
                "name",
                f"manifest says {plugin.manifest.name!r} but the plugin is registered as {plugin.name!r}",
            )
        )
    return plugin


def _guard(plugin: DiscoveredPlugin) -> DiscoveredPlugin:
    """A package that carries ``plugin.toml`` imports only from verified bytes from now on.

    (An entry point aimed at some other package, say ``flask``, is reported by
    discovery but never guarded: the kernel must still be able to import it.)
    """
    if plugin.path is not None and (plugin.path / MANIFEST_FILE).is_file():
        verified.guard(plugin.module, plugin.path, plugin.name)
    return plugin


def discover_entry_points() -> list[DiscoveredPlugin]:
    found = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        module = ep.value.split(":")[0].strip()
        try:
            path = locate_package(module)
        except (ImportError, ValueError) as exc:  # a broken parent package on sys.path
            path = None
            err = [ManifestError("module", f"cannot locate {module!r}: {exc}")]
        else:
            err = []
        dist = getattr(ep, "dist", None)
        plugin = DiscoveredPlugin(
            name=ep.name,
            source="entry_point",
            module=module,
            path=path,
            errors=err,
            distribution=dist.metadata["Name"] if dist else None,
            distribution_version=dist.version if dist else None,
        )
        found.append(plugin if err else _guard(_load(plugin)))
    return found


def discover_folders(plugins_dir: Path) -> list[DiscoveredPlugin]:
    found = []
    if not plugins_dir.is_dir():
        return found
    verified.guard_folder(plugins_dir)  # pteroca_plugins.* is always guarded
    for entry in sorted(plugins_dir.iterdir()):
        if not entry.is_dir() or entry.name.startswith((".", "_")):
            continue
        if not (entry / MANIFEST_FILE).exists():
            continue
        plugin = DiscoveredPlugin(
            name=entry.name,
            source="folder",
            module=f"{FOLDER_MODULE_PREFIX}.{entry.name}",
            path=entry,
        )
        _guard(_load(plugin))
        if not (entry / "__init__.py").exists():
            plugin.errors.append(
                ManifestError("__init__.py", "a plugin folder must be a Python package")
            )
        found.append(plugin)
    return found


def discover(plugins_dir: str | Path) -> dict[str, DiscoveredPlugin]:
    """All plugins by name. Duplicates keep the first (entry points win) and report the clash."""
    result: dict[str, DiscoveredPlugin] = {}
    for plugin in discover_entry_points() + discover_folders(Path(plugins_dir)):
        if plugin.name in result:
            first = result[plugin.name]
            first.warnings.append(
                f"another plugin named {plugin.name!r} at {plugin.path} is ignored"
            )
            continue
        result[plugin.name] = plugin
    return result
