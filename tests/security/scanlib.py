"""Helpers for the scan gate tests: discovering sample folders, fake installed distributions."""

from __future__ import annotations

import textwrap
from pathlib import Path

from kernel.plugins.discovery import DiscoveredPlugin, discover_entry_points, discover_folders

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "scan"


def folder_plugin(path: Path) -> DiscoveredPlugin:
    """The DiscoveredPlugin for the drop-in folder ``path`` (as discovery sees it)."""
    found = {p.name: p for p in discover_folders(path.parent)}
    return found[path.name]


def install_dist(
    site: Path,
    name: str,
    version: str,
    *,
    requires=(),
    plugin: str | None = None,
    package_files: dict[str, str] | None = None,
    extra_files: dict[str, str] | None = None,
) -> Path:
    """Write an installed distribution (dist-info + files) into ``site``.

    ``plugin`` registers a ``pteroca.plugins`` entry point of that name for the
    package ``package_files`` describes (keys relative to ``site/<plugin>``).
    ``extra_files`` land directly in ``site`` (a ``.pth``, a stray module).
    """
    dist_info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir()
    meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    meta += [f"Requires-Dist: {r}" for r in requires]
    (dist_info / "METADATA").write_text("\n".join(meta) + "\n")
    record = []
    if plugin:
        (dist_info / "entry_points.txt").write_text(f"[pteroca.plugins]\n{plugin} = {plugin}\n")
        for rel, content in (package_files or {}).items():
            path = site / plugin / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(content))
            record.append(f"{plugin}/{rel}")
    for rel, content in (extra_files or {}).items():
        (site / rel).write_text(content)
        record.append(rel)
    record += [f"{dist_info.name}/METADATA", f"{dist_info.name}/RECORD"]
    (dist_info / "RECORD").write_text("".join(f"{r},,\n" for r in record))
    return dist_info


def entry_point_plugin(name: str) -> DiscoveredPlugin:
    return {p.name: p for p in discover_entry_points()}[name]
