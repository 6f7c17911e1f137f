"""Drop-in plugins uploaded as a zip archive (admin Plugins page, ``pteroca plugin install-zip``).

Everything is checked before a byte lands in the plugins folder, and nothing of the plugin
is imported: the archive's size, its member count, declared and actual unpacked sizes and
the compression ratio (zip bombs), every member's path (``..``, absolute paths, drive
letters, backslashes), its type (symlinks, devices, encrypted members), the layout (a
``plugin.toml`` at the top or in a single top-level folder, an ``__init__.py`` beside it),
the manifest itself, and the name (never over an installed plugin or an existing folder).
The members are then written into a hidden temporary folder inside the plugins folder and
renamed into place in one step. The plugin lands *discovered*: enabling it scans it first,
like any other plugin.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import stat
import tempfile
import tomllib
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app

from kernel.plugin_lifecycle.services import PluginError
from kernel.plugins.discovery import DiscoveredPlugin, discover
from kernel.plugins.manifest import MANIFEST_FILE, NAME_RE, ManifestInvalid, parse_manifest

MiB = 1024 * 1024
CHUNK = 64 * 1024
MACOS_METADATA = "__MACOSX"
BOMB_FLOOR = MiB  # below this, a high compression ratio is just a repetitive small file


@dataclass(frozen=True)
class Limits:
    """Caps on an uploaded archive; the app config keys in ``CONFIG`` override them."""

    archive_bytes: int = 10 * MiB
    unpacked_bytes: int = 50 * MiB
    files: int = 2000
    ratio: int = 100  # unpacked / packed, for the archive and for any member over BOMB_FLOOR
    manifest_bytes: int = 64 * 1024

    CONFIG = {
        "archive_bytes": "PLUGIN_UPLOAD_MAX_BYTES",
        "unpacked_bytes": "PLUGIN_UPLOAD_MAX_UNPACKED_BYTES",
        "files": "PLUGIN_UPLOAD_MAX_FILES",
        "ratio": "PLUGIN_UPLOAD_MAX_RATIO",
    }

    @classmethod
    def from_config(cls, config) -> Limits:
        values = {field: int(config[key]) for field, key in cls.CONFIG.items() if key in config}
        return cls(**values)


class UploadRefused(PluginError):
    """The archive was refused; nothing was written. ``status`` is the HTTP status to answer."""

    status = 400


class ArchiveTooLarge(UploadRefused):
    status = 413


class PluginExists(UploadRefused):
    status = 409


def human(size: int) -> str:
    if size >= MiB:
        return f"{size / MiB:.0f} MiB" if size % MiB == 0 else f"{size / MiB:.1f} MiB"
    if size >= 1024:
        return f"{size / 1024:.0f} KiB"
    return f"{size} bytes"


@dataclass
class Member:
    info: zipfile.ZipInfo
    parts: tuple[str, ...]  # path inside the archive, split

    @property
    def is_dir(self) -> bool:
        return self.info.is_dir()


# --- checks on the archive, before anything is written ----------------------------------------


def _read_capped(stream: BinaryIO, limits: Limits) -> bytes:
    data = stream.read(limits.archive_bytes + 1)
    if len(data) > limits.archive_bytes:
        raise ArchiveTooLarge(
            f"the archive is larger than the {human(limits.archive_bytes)} "
            "limit for uploaded plugins"
        )
    if not data:
        raise UploadRefused("the uploaded file is empty")
    return data


def _open(data: bytes) -> zipfile.ZipFile:
    import io

    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise UploadRefused(
            "the file is not a zip archive; upload a .zip of the plugin's folder"
        ) from None


def _q(name: str) -> str:
    """A member name quoted for a message, as the archive spells it (backslashes included)."""
    return "'" + name.replace("\x00", "\\0") + "'"


def _path_parts(info: zipfile.ZipInfo) -> tuple[str, ...]:
    raw = info.orig_filename
    shown = _q(raw)
    if "\x00" in raw:
        raise UploadRefused(f"{shown}: a file name with a NUL byte is refused")
    if "\\" in raw:
        raise UploadRefused(
            f"{shown}: backslashes in member paths are refused "
            "(make the archive with a zip tool that uses '/')"
        )
    if raw.startswith("/") or re.match(r"^[A-Za-z]:", raw):
        raise UploadRefused(
            f"{shown}: absolute paths are refused; every member must be "
            "relative to the plugin folder"
        )
    parts = raw.rstrip("/").split("/") if raw.rstrip("/") else []
    if ".." in parts:
        raise UploadRefused(f"{shown}: paths leading out of the folder ('..') are refused")
    if not parts or any(p in ("", ".") for p in parts):
        raise UploadRefused(f"{shown}: empty or '.' path parts are refused")
    return tuple(parts)


def _check_type(info: zipfile.ZipInfo) -> None:
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise UploadRefused(f"{_q(info.filename)}: symbolic links are refused")
    if mode and stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise UploadRefused(
            f"{_q(info.filename)}: only regular files and folders are allowed "
            "(devices, sockets and pipes are refused)"
        )
    if info.flag_bits & 0x1:
        raise UploadRefused(
            f"{_q(info.filename)}: encrypted members cannot be checked and are refused"
        )


def check_members(archive: zipfile.ZipFile, packed_size: int, limits: Limits) -> list[Member]:
    """Every member that would be extracted, each checked; raise on the first problem."""
    infos = archive.infolist()
    if len(infos) > limits.files:
        raise UploadRefused(
            f"the archive holds {len(infos)} entries, over the limit of {limits.files}"
        )
    members: list[Member] = []
    seen: set[tuple[str, ...]] = set()
    total = 0
    for info in infos:
        parts = _path_parts(info)
        if parts[0] == MACOS_METADATA:
            continue  # Finder's resource forks: not part of the plugin, never extracted
        _check_type(info)
        if parts in seen:
            raise UploadRefused(f"{_q(info.filename)} appears twice in the archive")
        seen.add(parts)
        if not info.is_dir():
            total += info.file_size
            if info.file_size > BOMB_FLOOR and info.file_size > limits.ratio * max(
                info.compress_size, 1
            ):
                raise UploadRefused(
                    f"{_q(info.filename)} unpacks to {human(info.file_size)} from "
                    f"{human(info.compress_size)}: a compression ratio over {limits.ratio} is "
                    "refused (zip bomb)"
                )
        members.append(Member(info, parts))
    _check_no_file_is_a_folder(members)
    if total > limits.unpacked_bytes:
        raise UploadRefused(
            f"the archive unpacks to {human(total)}, over the {human(limits.unpacked_bytes)} limit"
        )
    if total > BOMB_FLOOR and total > limits.ratio * packed_size:
        raise UploadRefused(
            f"the archive unpacks to {human(total)} from {human(packed_size)}: "
            f"a compression ratio over {limits.ratio} is refused (zip bomb)"
        )
    return members


def _check_no_file_is_a_folder(members: list[Member]) -> None:
    """A path that is a file in one member and a folder in another (``a`` and ``a/b.txt``)
    cannot be unpacked; say so before anything is written."""
    files = {m.parts: m for m in members if not m.is_dir}
    for member in members:
        for cut in range(1, len(member.parts)):
            clash = files.get(member.parts[:cut])
            if clash is not None:
                raise UploadRefused(
                    f"{_q(clash.info.filename)} is a file, but "
                    f"{_q(member.info.filename)} needs it to be a folder"
                )


def plugin_root(members: list[Member]) -> tuple[str, ...]:
    """The folder inside the archive holding ``plugin.toml``: the top, or one top-level folder."""
    files = {m.parts for m in members if not m.is_dir}
    if (MANIFEST_FILE,) in files:
        return ()
    tops = {m.parts[0] for m in members}
    if len(tops) == 1:
        top = next(iter(tops))
        if (top, MANIFEST_FILE) in files:
            return (top,)
    raise UploadRefused(
        f"no {MANIFEST_FILE} found at the top of the archive or in its single "
        f"top-level folder; zip the plugin's folder (the one holding "
        f"{MANIFEST_FILE} and __init__.py)"
    )


def _read_member(archive: zipfile.ZipFile, member: Member, cap: int) -> bytes:
    if member.info.file_size > cap:
        raise UploadRefused(f"{_q(member.info.filename)} is over {human(cap)}")
    try:
        with archive.open(member.info) as fh:
            return fh.read(cap + 1)[:cap]
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise UploadRefused(f"the archive is damaged ({member.info.filename}: {exc})") from None


def read_archive_manifest(
    archive: zipfile.ZipFile, members: list[Member], root: tuple[str, ...], limits: Limits
):
    by_parts = {m.parts: m for m in members}
    member = by_parts[root + (MANIFEST_FILE,)]
    raw = _read_member(archive, member, limits.manifest_bytes)
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UploadRefused(f"{MANIFEST_FILE} is not valid TOML: {exc}") from None
    try:
        manifest = parse_manifest(data)
    except ManifestInvalid as exc:
        raise UploadRefused(
            f"{MANIFEST_FILE} is invalid: " + "; ".join(map(str, exc.errors))
        ) from None
    if root and root[0] != manifest.name:
        raise UploadRefused(
            f"the archive's folder is named {root[0]!r} but {MANIFEST_FILE} names "
            f"the plugin {manifest.name!r}; they must be the same"
        )
    if root + ("__init__.py",) not in by_parts:
        raise UploadRefused(
            f"no __init__.py beside {MANIFEST_FILE}: a plugin folder must be a Python package"
        )
    return manifest


def _check_free(name: str, plugins_dir: Path) -> None:
    installed = discover(plugins_dir).get(name)
    if installed is not None:
        where = (
            f"installed by the distribution {installed.distribution}"
            if installed.distribution
            else f"in {installed.path}"
        )
        raise PluginExists(
            f"a plugin named {name!r} is already installed ({where}); an upload "
            "never replaces one: uninstall it first"
        )
    target = plugins_dir / name
    if os.path.lexists(target):
        raise PluginExists(f"{target} already exists; an upload never replaces it")


# --- extraction -----------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(folder: Path):
    """Serialise uploads on this machine (a lock on the plugins folder itself: no lock file)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _extract(
    archive: zipfile.ZipFile,
    members: list[Member],
    root: tuple[str, ...],
    into: Path,
    limits: Limits,
) -> int:
    """Write the plugin's members below ``into``; return the bytes written."""
    written = 0
    for member in members:
        rel = member.parts[len(root) :]
        if not rel:
            continue  # the top-level folder entry itself
        try:
            written += _write_member(archive, member, into.joinpath(*rel), limits, written)
        except OSError as exc:  # a name the file system refuses (too long, reserved...)
            raise UploadRefused(
                f"{_q(member.info.filename)} cannot be unpacked here ({exc.strerror or exc})"
            ) from None
    return written


def _write_member(
    archive: zipfile.ZipFile, member: Member, target: Path, limits: Limits, written: int
) -> int:
    """Write one member at ``target``; return its size."""
    if member.is_dir:
        target.mkdir(parents=True, exist_ok=True)
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    try:
        with archive.open(member.info) as src, open(target, "xb") as dst:
            while chunk := src.read(CHUNK):
                size += len(chunk)
                if size > member.info.file_size or written + size > limits.unpacked_bytes:
                    raise UploadRefused(
                        f"{_q(member.info.filename)} unpacks to more than the "
                        "archive declares (zip bomb)"
                    )
                dst.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise UploadRefused(f"the archive is damaged ({member.info.filename}: {exc})") from None
    os.chmod(target, 0o644)  # never the archive's permission bits (no executables)
    return size


def install_zip(
    stream: BinaryIO,
    *,
    plugins_dir: str | Path | None = None,
    limits: Limits | None = None,
    actor: str | None = None,
) -> DiscoveredPlugin:
    """Check the archive in ``stream`` and unpack its plugin into the plugins folder.

    Raises :class:`UploadRefused` (nothing written) with a one-line reason. Returns the plugin
    as discovery now sees it; it is not scanned, enabled or imported.
    """
    from kernel import audit

    plugins_dir = Path(plugins_dir or current_app.config["PLUGINS_DIR"])
    limits = limits or Limits.from_config(current_app.config)
    data = _read_capped(stream, limits)
    with _open(data) as archive:
        members = check_members(archive, len(data), limits)
        root = plugin_root(members)
        manifest = read_archive_manifest(archive, members, root, limits)
        name = manifest.name
        if not NAME_RE.match(name):  # parse_manifest already refuses it; never build a path
            raise UploadRefused(f"{name!r} is not a valid plugin name")
        _check_free(name, plugins_dir)
        plugins_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".upload-", dir=plugins_dir))
        try:
            folder = staging / name
            folder.mkdir()
            written = _extract(archive, members, root, folder, limits)
            os.chmod(folder, 0o755)
            with _locked(plugins_dir):
                _check_free(name, plugins_dir)
                os.rename(folder, plugins_dir / name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    plugin = discover(plugins_dir)[name]
    audit.record(
        "plugin.uploaded",
        name,
        {
            "version": manifest.version,
            "bytes": written,
            "files": sum(1 for m in members if not m.is_dir),
            "sha256": hashlib.sha256(data).hexdigest(),
        },
        actor=actor,
    )
    return plugin
