"""File checks: what a plugin ships besides reviewable Python source.

Rules (severities in :mod:`kernel.security.policy`): ``.pth`` files, compiled
extensions and other native code, ``.pyc`` without source, ``__pycache__``
bytecode that Python would load instead of the source, symlinks leaving the
plugin folder, nested archives, oversized files, code a pip-installed
distribution puts outside the plugin package, and hooks the manifest does not
declare. Nothing here imports or executes the plugin.
"""

from __future__ import annotations

import importlib.util
import marshal
import os
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
from kernel.security import policy
from kernel.security.bandit_check import SOURCE_SUFFIXES
from kernel.security.findings import Finding
from kernel.security.hooks_ast import hooks_in_files

CHECK = "files"
NATIVE_SUFFIXES = frozenset({".so", ".pyd", ".dll", ".dylib"})
BYTECODE_SUFFIXES = frozenset({".pyc", ".pyo"})
CODE_SUFFIXES = SOURCE_SUFFIXES | NATIVE_SUFFIXES | BYTECODE_SUFFIXES | {".pth"}
ARCHIVE_SUFFIXES = frozenset({".zip", ".whl", ".egg", ".jar", ".tar", ".gz", ".tgz", ".bz2",
                              ".tbz2", ".xz", ".txz", ".lzma", ".zst", ".7z", ".rar"})
ARCHIVE_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"7z\xbc\xaf\x27\x1c", b"Rar!\x1a\x07",
                 b"\x28\xb5\x2f\xfd", b"PK\x03\x04", b"PK\x05\x06")
NATIVE_MAGIC = (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe")
HEAD_BYTES = 512
KERNEL_DISTRIBUTION = "pteroca"


def _finding(rule: str, rel: str, message: str, line: int | None = None) -> Finding:
    return Finding(check=CHECK, rule=rule, severity=policy.file_severity(rule), file=rel,
                   line=line, message=message)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(HEAD_BYTES)


def _is_native(head: bytes) -> bool:
    if head.startswith(NATIVE_MAGIC):
        return True
    if head.startswith(b"MZ") and len(head) >= 64:  # PE: "PE\0\0" at e_lfanew
        offset = int.from_bytes(head[60:64], "little")
        return head[offset:offset + 4] == b"PE\0\0"
    return False


def _archive_kind(path: Path, head: bytes) -> str | None:
    """"zip" (importable by zipimport), "other", or None."""
    if zipfile.is_zipfile(path):  # also finds a zip appended to another file
        return "zip"
    if path.suffix.lower() in ARCHIVE_SUFFIXES or head.startswith(ARCHIVE_MAGIC):
        return "other"
    if head[257:262] == b"ustar":
        return "other"
    return None


def _zip_code_members(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as archive:
            return [n for n in archive.namelist()
                    if Path(n).suffix.lower() in CODE_SUFFIXES]
    except (zipfile.BadZipFile, OSError, ValueError):
        return []


def check_file(path: Path, root: Path) -> list[Finding]:
    """Findings for one file or symlink of the plugin."""
    rel = path.relative_to(root).as_posix()
    if path.is_symlink():
        target = os.path.realpath(path)
        if not _inside(target, os.path.realpath(root)):
            return [_finding("symlink-escape", rel,
                             f"{rel}: symlink to {target}, outside the plugin folder")]
        return []  # the target is one of the plugin's own files, checked itself
    suffix = path.suffix.lower()
    if suffix == ".pth":
        return [_finding("pth-file", rel, f"{rel}: .pth files run code at interpreter start")]
    try:
        size = path.stat().st_size
        head = _head(path)
    except OSError as exc:
        return [_finding("unreadable", rel, f"{rel}: cannot be read ({exc.strerror})")]
    found: list[Finding] = []
    if size > policy.MAX_FILE_BYTES:
        found.append(_finding("oversized", rel, f"{rel}: {size} bytes, over the "
                              f"{policy.MAX_FILE_BYTES} byte cap"))
    if suffix in NATIVE_SUFFIXES or _is_native(head):
        found.append(_finding("compiled-extension", rel,
                              f"{rel}: native code (compiled extension or library) cannot be "
                              "scanned"))
    elif suffix in BYTECODE_SUFFIXES:
        if path.with_suffix(".py").exists():
            found.append(_finding("stray-bytecode", rel,
                                  f"{rel}: bytecode beside its source (never imported)"))
        else:
            found.append(_finding("orphan-bytecode", rel,
                                  f"{rel}: bytecode without source is imported unscanned"))
    else:
        kind = _archive_kind(path, head)
        members = _zip_code_members(path) if kind == "zip" else []
        if members:
            shown = ", ".join(members[:3]) + (", ..." if len(members) > 3 else "")
            found.append(_finding("archive-with-code", rel,
                                  f"{rel}: archive holding code ({shown}) zipimport could run"))
        elif kind:
            found.append(_finding("archive", rel, f"{rel}: nested archive; its contents are "
                                  "not scanned"))
    return found


def _loaded_instead(pyc: Path, source: Path) -> bool:
    """Would the import system load ``pyc`` (a ``__pycache__`` file) for ``source``?"""
    data = pyc.read_bytes()
    if len(data) < 16 or data[:4] != importlib.util.MAGIC_NUMBER:
        return False  # rewritten on import
    flags = int.from_bytes(data[4:8], "little")
    if flags & 0b1:  # hash-based (PEP 552)
        if not flags & 0b10:
            return True  # unchecked: used whatever the source says
        return data[8:16] == importlib.util.source_hash(source.read_bytes())
    stat = source.stat()
    return (int.from_bytes(data[8:12], "little") == int(stat.st_mtime) & 0xFFFFFFFF
            and int.from_bytes(data[12:16], "little") == stat.st_size & 0xFFFFFFFF)


def check_bytecode_caches(root: Path) -> list[Finding]:
    """``__pycache__`` files Python would load instead of compiling the (scanned) source."""
    found: list[Finding] = []
    tag = sys.implementation.cache_tag
    for folder, _dirs, names in os.walk(root):
        if Path(folder).name != "__pycache__":
            continue
        for name in names:
            stem, _, rest = name.partition(".")
            if not rest.startswith(f"{tag}.") or not name.endswith(".pyc"):
                continue
            pyc = Path(folder) / name
            source = Path(folder).parent / f"{stem}.py"
            rel = pyc.relative_to(root).as_posix()
            if pyc.is_symlink() or not source.is_file():
                if pyc.is_symlink() and not _inside(os.path.realpath(pyc), os.path.realpath(root)):
                    found.append(_finding("symlink-escape", rel, f"{rel}: symlink out of the "
                                          "plugin folder"))
                continue
            opt = rest.split(".opt-")[1].split(".")[0] if ".opt-" in rest else "0"
            try:
                if not _loaded_instead(pyc, source):
                    continue
                code = marshal.loads(pyc.read_bytes()[16:])
                expected = compile(source.read_bytes(), str(source), "exec", dont_inherit=True,
                                   optimize=int(opt) if opt.isdigit() else 0)
                same = code == expected
            except (OSError, ValueError, EOFError, TypeError, SyntaxError):
                same = False
            if not same:
                found.append(_finding("bytecode-mismatch", rel,
                                      f"{rel}: cached bytecode that Python would load is not "
                                      f"compiled from {source.name}"))
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
        if _inside(os.path.realpath(located), package) or ".dist-info/" in name \
                or "__pycache__" in name:
            continue
        if suffix == ".pth":
            rule = "editable-pth" if Path(name).name.startswith("__editable__") else "pth-file"
            found.append(_finding(rule, name, f"{name}: installed by {plugin.distribution}; "
                                  "runs at every interpreter start"))
        elif suffix in CODE_SUFFIXES:
            found.append(_finding("outside-package", name,
                                  f"{name}: {plugin.distribution} installs code outside the "
                                  "plugin package; it is neither scanned nor hashed"))
    return found


def check_capabilities(plugin: DiscoveredPlugin, root: Path, sources: list[Path]) -> list[Finding]:
    declared = plugin.manifest.capabilities if plugin.manifest else []
    uses = hooks_in_files(sources)
    missing = set(uncovered_hooks([u.hook for u in uses], declared))
    found = []
    for use in uses:
        if use.hook in missing:
            rel = use.file.relative_to(root).as_posix()
            found.append(_finding("capabilities", rel,
                                  f"{use.hook}: the hook needs capability "
                                  f"{required_capability(use.hook)!r}, which plugin.toml does "
                                  "not declare", use.line))
    return found


def check_sensitive_capabilities(plugin: DiscoveredPlugin) -> list[Finding]:
    """A HIGH finding per declared capability that hands the plugin other people's secrets."""
    declared = plugin.manifest.capabilities if plugin.manifest else []
    return [_finding("sensitive-capability", "plugin.toml",
                     f"capability {name!r}: the plugin {what}")
            for name, what in SENSITIVE_CAPABILITIES.items() if name in declared]


def run_file_checks(plugin: DiscoveredPlugin, files: list[Path]) -> list[Finding]:
    root = plugin.path
    if root is None:
        return [_finding("manifest", "", f"{plugin.name}: plugin files not found")]
    found: list[Finding] = []
    if plugin.manifest is None:
        why = "; ".join(map(str, plugin.errors)) or "missing"
        found.append(_finding("manifest", "plugin.toml", f"plugin.toml: invalid ({why})"))
    for path in files:
        found.extend(check_file(path, root))
    found.extend(check_bytecode_caches(root))
    found.extend(check_distribution(plugin))
    sources = [p for p in files if p.suffix in SOURCE_SUFFIXES and not p.is_symlink()]
    found.extend(check_capabilities(plugin, root, sources))
    found.extend(check_sensitive_capabilities(plugin))
    return found
