"""File checks: what a plugin ships besides reviewable Python source.

Rules (severities in :mod:`kernel.security.policy`): ``.pth`` files, compiled
extensions and other native code, bytecode (``.pyc`` without source, caches
that Python would load instead of the source, and, informational, caches
beside their source), symlinks leaving the plugin folder, nested archives,
oversized files, code a pip-installed distribution puts outside the plugin
package, and hooks the manifest does not declare. Every file of the snapshot
is checked, in every folder. Nothing here imports or executes the plugin.
"""

from __future__ import annotations

import importlib.util
import io
import marshal
import os
import posixpath
import sys
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.utils import canonicalize_name

from kernel.plugins.capabilities import (
    SENSITIVE_CAPABILITIES,
    required_capability,
    uncovered_hooks,
)
from kernel.plugins.discovery import DiscoveredPlugin
from kernel.plugins.files import Snapshot
from kernel.security import policy
from kernel.security.findings import Finding
from kernel.security.hooks_ast import hooks_in_tree
from kernel.security.sources import SOURCE_SUFFIXES, ParsedSources

CHECK = "files"
NATIVE_SUFFIXES = frozenset({".so", ".pyd", ".dll", ".dylib"})
BYTECODE_SUFFIXES = frozenset({".pyc", ".pyo"})
CODE_SUFFIXES = SOURCE_SUFFIXES | NATIVE_SUFFIXES | BYTECODE_SUFFIXES | {".pth"}
ARCHIVE_SUFFIXES = frozenset(
    {
        ".zip",
        ".whl",
        ".egg",
        ".jar",
        ".tar",
        ".gz",
        ".tgz",
        ".bz2",
        ".tbz2",
        ".xz",
        ".txz",
        ".lzma",
        ".zst",
        ".7z",
        ".rar",
    }
)
ARCHIVE_MAGIC = (
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ\x00",
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07",
    b"\x28\xb5\x2f\xfd",
    b"PK\x03\x04",
    b"PK\x05\x06",
)
NATIVE_MAGIC = (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe")
HEAD_BYTES = 512
KERNEL_DISTRIBUTION = "pteroca"


def _finding(rule: str, rel: str, message: str, line: int | None = None) -> Finding:
    return Finding(
        check=CHECK,
        rule=rule,
        severity=policy.file_severity(rule),
        file=rel,
        line=line,
        message=message,
    )


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _is_native(head: bytes) -> bool:
    if head.startswith(NATIVE_MAGIC):
        return True
    if head.startswith(b"MZ") and len(head) >= 64:  # PE: "PE\0\0" at e_lfanew
        offset = int.from_bytes(head[60:64], "little")
        return head[offset : offset + 4] == b"PE\0\0"
    return False


def _open_zip(snap: Snapshot, rel: str):
    data = snap.data.get(rel)
    return io.BytesIO(data) if data is not None else snap.root / rel


def _archive_kind(snap: Snapshot, rel: str, head: bytes) -> str | None:
    """ "zip" (importable by zipimport), "other", or None."""
    try:
        if zipfile.is_zipfile(_open_zip(snap, rel)):  # also finds a zip appended to a file
            return "zip"
    except OSError:
        pass
    if Path(rel).suffix.lower() in ARCHIVE_SUFFIXES or head.startswith(ARCHIVE_MAGIC):
        return "other"
    if head[257:262] == b"ustar":
        return "other"
    return None


def _zip_code_members(snap: Snapshot, rel: str) -> list[str]:
    try:
        with zipfile.ZipFile(_open_zip(snap, rel)) as archive:
            return [n for n in archive.namelist() if Path(n).suffix.lower() in CODE_SUFFIXES]
    except (zipfile.BadZipFile, OSError, ValueError):
        return []


def _bytecode_finding(snap: Snapshot, rel: str) -> Finding:
    """A .pyc/.pyo: a cache of a source beside it, stray next to its source, or orphaned."""
    folder, name = posixpath.split(rel)
    stem = name.partition(".")[0]
    if posixpath.basename(folder) == "__pycache__":
        source = posixpath.join(posixpath.dirname(folder), stem + ".py")
        if source in snap.digests:
            return _finding(
                "cached-bytecode",
                rel,
                f"{rel}: bytecode cache of {source} "
                "(never loaded: plugins are compiled from their verified source)",
            )
    elif posixpath.join(folder, posixpath.splitext(name)[0] + ".py") in snap.digests:
        return _finding(
            "stray-bytecode", rel, f"{rel}: bytecode beside its source (never imported)"
        )
    return _finding(
        "orphan-bytecode",
        rel,
        f"{rel}: bytecode without source hides code from "
        "review (pteroca never loads it; plain Python would)",
    )


def check_entry(snap: Snapshot, rel: str) -> list[Finding]:
    """Findings for one file or symlink of the snapshot."""
    if rel in snap.symlinks:
        path = snap.root / rel
        target = os.path.realpath(path)
        if not _inside(target, os.path.realpath(snap.root)):
            return [
                _finding(
                    "symlink-escape", rel, f"{rel}: symlink to {target}, outside the plugin folder"
                )
            ]
        return []  # the target is one of the plugin's own files, checked itself
    suffix = Path(rel).suffix.lower()
    if suffix == ".pth":
        return [_finding("pth-file", rel, f"{rel}: .pth files run code at interpreter start")]
    if rel in snap.unreadable:
        return [_finding("unreadable", rel, f"{rel}: cannot be read ({snap.unreadable[rel]})")]
    data = snap.data.get(rel)
    if data is None:  # larger than the snapshot keeps
        try:
            size = (snap.root / rel).stat().st_size
            with (snap.root / rel).open("rb") as fh:
                head = fh.read(HEAD_BYTES)
        except OSError as exc:
            return [_finding("unreadable", rel, f"{rel}: cannot be read ({exc.strerror})")]
    else:
        size, head = len(data), data[:HEAD_BYTES]
    found: list[Finding] = []
    if size > policy.MAX_FILE_BYTES:
        found.append(
            _finding(
                "oversized", rel, f"{rel}: {size} bytes, over the {policy.MAX_FILE_BYTES} byte cap"
            )
        )
    if suffix in NATIVE_SUFFIXES or _is_native(head):
        found.append(
            _finding(
                "compiled-extension",
                rel,
                f"{rel}: native code (compiled extension or library) cannot be scanned",
            )
        )
    elif suffix in BYTECODE_SUFFIXES:
        found.append(_bytecode_finding(snap, rel))
    else:
        kind = _archive_kind(snap, rel, head)
        members = _zip_code_members(snap, rel) if kind == "zip" else []
        if members:
            shown = ", ".join(members[:3]) + (", ..." if len(members) > 3 else "")
            found.append(
                _finding(
                    "archive-with-code",
                    rel,
                    f"{rel}: archive holding code ({shown}) zipimport could run",
                )
            )
        elif kind:
            found.append(
                _finding("archive", rel, f"{rel}: nested archive; its contents are not scanned")
            )
    return found


def _loaded_instead(data: bytes, source: bytes, source_path: Path) -> bool:
    """Would plain Python's import system load the cache ``data`` for ``source``?"""
    if len(data) < 16 or data[:4] != importlib.util.MAGIC_NUMBER:
        return False  # rewritten on import
    flags = int.from_bytes(data[4:8], "little")
    if flags & 0b1:  # hash-based (PEP 552)
        if not flags & 0b10:
            return True  # unchecked: used whatever the source says
        return data[8:16] == importlib.util.source_hash(source)
    try:
        stat = source_path.stat()
    except OSError:
        return False
    return (
        int.from_bytes(data[8:12], "little") == int(stat.st_mtime) & 0xFFFFFFFF
        and int.from_bytes(data[12:16], "little") == len(source) & 0xFFFFFFFF
    )


def check_bytecode_caches(snap: Snapshot) -> list[Finding]:
    """``__pycache__`` files plain Python would load instead of compiling the scanned source.

    pteroca itself never loads them (the verified loader compiles the source), but a
    cache crafted to differ from its source is a sign of tampering, and any other
    Python process importing the folder would run it.
    """
    found: list[Finding] = []
    tag = sys.implementation.cache_tag
    for rel, data in snap.data.items():
        folder, name = posixpath.split(rel)
        if posixpath.basename(folder) != "__pycache__" or not name.endswith(".pyc"):
            continue
        stem, _, rest = name.partition(".")
        if not rest.startswith(f"{tag}."):
            continue
        source_rel = posixpath.join(posixpath.dirname(folder), stem + ".py")
        source = snap.data.get(source_rel)
        if source is None:
            continue
        opt = rest.split(".opt-")[1].split(".")[0] if ".opt-" in rest else "0"
        try:
            if not _loaded_instead(data, source, snap.root / source_rel):
                continue
            code = marshal.loads(data[16:])
            expected = compile(
                source,
                str(snap.root / source_rel),
                "exec",
                dont_inherit=True,
                optimize=int(opt) if opt.isdigit() else 0,
            )
            same = code == expected
        except (ValueError, EOFError, TypeError, SyntaxError, RecursionError, MemoryError):
            same = False
        if not same:
            found.append(
                _finding(
                    "bytecode-mismatch",
                    rel,
                    f"{rel}: cached bytecode that Python would load is not "
                    f"compiled from {source_rel}",
                )
            )
    return found


def check_distribution(plugin: DiscoveredPlugin) -> list[Finding]:
    """For a pip-installed plugin: .pth files and code its distribution puts outside the package."""
    if plugin.source != "entry_point" or not plugin.distribution or plugin.path is None:
        return []
    if canonicalize_name(plugin.distribution) == KERNEL_DISTRIBUTION:
        return []  # the builtin plugins ship in pteroca itself
    try:
        dist = metadata.distribution(plugin.distribution)
    except metadata.PackageNotFoundError:
        return []
    found: list[Finding] = []
    package = os.path.realpath(plugin.path)
    for entry in dist.files or []:
        located = os.path.normpath(str(entry.locate()))
        name = entry.as_posix() if hasattr(entry, "as_posix") else str(entry)
        suffix = Path(name).suffix.lower()
        if (
            _inside(os.path.realpath(located), package)
            or ".dist-info/" in name
            or "__pycache__" in name
        ):
            continue
        if suffix == ".pth":
            rule = "editable-pth" if Path(name).name.startswith("__editable__") else "pth-file"
            found.append(
                _finding(
                    rule,
                    name,
                    f"{name}: installed by {plugin.distribution}; runs at every interpreter start",
                )
            )
        elif suffix in CODE_SUFFIXES:
            found.append(
                _finding(
                    "outside-package",
                    name,
                    f"{name}: {plugin.distribution} installs code outside the "
                    "plugin package; it is neither scanned nor hashed",
                )
            )
    return found


def check_capabilities(plugin: DiscoveredPlugin, parsed: ParsedSources) -> list[Finding]:
    declared = plugin.manifest.capabilities if plugin.manifest else []
    uses = [
        use
        for rel, tree in parsed.trees().items()
        for use in hooks_in_tree(tree, Path(rel), parsed.nodes(rel))
    ]
    missing = set(uncovered_hooks([u.hook for u in uses], declared))
    found = []
    for use in uses:
        if use.hook in missing:
            rel = use.file.as_posix()
            found.append(
                _finding(
                    "capabilities",
                    rel,
                    f"{use.hook}: the hook needs capability "
                    f"{required_capability(use.hook)!r}, which plugin.toml does "
                    "not declare",
                    use.line,
                )
            )
    return found


def check_sensitive_capabilities(plugin: DiscoveredPlugin) -> list[Finding]:
    """A HIGH finding per declared capability that hands the plugin other people's secrets."""
    declared = plugin.manifest.capabilities if plugin.manifest else []
    return [
        _finding("sensitive-capability", "plugin.toml", f"capability {name!r}: the plugin {what}")
        for name, what in SENSITIVE_CAPABILITIES.items()
        if name in declared
    ]


def run_file_checks(
    plugin: DiscoveredPlugin, snapshot: Snapshot | None = None, parsed: ParsedSources | None = None
) -> list[Finding]:
    """Every file rule over the snapshot (read now when not given)."""
    root = plugin.path
    if root is None:
        return [_finding("manifest", "", f"{plugin.name}: plugin files not found")]
    snapshot = snapshot or Snapshot.read(root)
    parsed = parsed or ParsedSources(snapshot)
    found: list[Finding] = []
    if plugin.manifest is None:
        why = "; ".join(map(str, plugin.errors)) or "missing"
        found.append(_finding("manifest", "plugin.toml", f"plugin.toml: invalid ({why})"))
    for rel in sorted(snapshot.digests):
        found.extend(check_entry(snapshot, rel))
    found.extend(check_bytecode_caches(snapshot))
    found.extend(check_distribution(plugin))
    found.extend(check_capabilities(plugin, parsed))
    found.extend(check_sensitive_capabilities(plugin))
    return found
