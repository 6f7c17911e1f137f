"""Files attached to ticket messages: what is accepted, where it is kept, how it is served.

The rules, each enforced here and nowhere else:

- **Types**: only the kinds in :data:`KINDS` exist (images, PDF, plain text and config
  files). An admin narrows them with the ``allowed_extensions`` setting but can never add
  one: HTML, SVG, scripts, archives and programs are not kinds, so they cannot be allowed.
- **Content, not the name**: the bytes must be what the extension says (PNG magic for
  ``.png``, valid UTF-8 without NUL bytes and without HTML/SVG/XML markup for text), so a
  program renamed ``.png`` or a page renamed ``.txt`` is refused; programs are recognised by
  their headers (Windows, ELF, Mach-O, Java) and refused whatever the name.
- **Sizes**: each file at most ``max_attachment_kb``, at most ``max_attachments`` per message;
  a file is read up to one byte past the limit, never whole.
- **Names**: only the last path part, ASCII letters, digits, ``. _ -`` and spaces, one
  extension (``evil.php.png`` is kept as ``evil_php.png``), at most 80 characters.
- **Storage**: under ``<instance>/support/attachments/`` (never served by the web server), as
  random file names (mode 0600); the database keeps the shown name and a sha256.
- **Serving** (:func:`download_response`): always ``Content-Disposition: attachment`` with a
  content type from :data:`KINDS` (never the uploader's), ``X-Content-Type-Options: nosniff``,
  a ``sandbox`` Content-Security-Policy and no caching. Who may download is decided by the
  views through :mod:`builtin_plugins.support.access`.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app, send_file

from builtin_plugins.support.config import SupportSettings
from builtin_plugins.support.errors import SupportError
from builtin_plugins.support.models import Attachment

TEXT = "text"


@dataclass(frozen=True)
class Kind:
    name: str
    extensions: tuple[str, ...]
    content_type: str


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("png", ("png",), "image/png"),
        Kind("jpeg", ("jpg", "jpeg"), "image/jpeg"),
        Kind("gif", ("gif",), "image/gif"),
        Kind("webp", ("webp",), "image/webp"),
        Kind("pdf", ("pdf",), "application/pdf"),
        Kind(
            TEXT,
            (
                "txt",
                "log",
                "json",
                "yml",
                "yaml",
                "toml",
                "ini",
                "cfg",
                "conf",
                "properties",
                "csv",
            ),
            "text/plain",
        ),  # werkzeug adds "; charset=utf-8"
    )
}
BY_EXTENSION = {ext: kind for kind in KINDS.values() for ext in kind.extensions}

MAGIC = {
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
    "pdf": (b"%PDF-",),
}
PROGRAMS = (
    b"MZ",
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"#!",
)
# What browsers sniff as a document: refused in text files even though they are served as
# text/plain attachments, so no file in a ticket is ever a page.
MARKUP = re.compile(
    rb"^\s*<(?:!doctype|html|head|body|script|svg|\?xml|iframe|object|embed|"
    rb"meta|style|a\s|img|div|table|!--)",
    re.I,
)
STORE_DIR = ("support", "attachments")
NAME_LIMIT = 80


@dataclass
class Upload:
    """A file as received: its name and a binary stream (a view builds it from the form)."""

    filename: str
    stream: BinaryIO


@dataclass(frozen=True)
class Checked:
    filename: str
    kind: str
    data: bytes
    sha256: str


def extension_of(filename: str) -> str:
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower().strip() if "." in base else ""


def safe_name(filename: str, extension: str) -> str:
    """The name shown and downloaded: see the module doc."""
    name = unicodedata.normalize("NFKC", filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem = (
        name[: -(len(extension) + 1)]
        if extension and name.lower().endswith("." + extension)
        else name
    )
    stem = "".join(c if (c.isascii() and c.isalnum()) or c in "_- " else "_" for c in stem)
    stem = re.sub(r"[ _]{2,}", "_", stem).strip(" ._-")[:NAME_LIMIT] or "attachment"
    return f"{stem}.{extension}"


def allowed_extensions(settings: SupportSettings) -> list[str]:
    return sorted(ext for ext in settings.allowed_extensions if ext in BY_EXTENSION)


def _content_matches(kind: str, data: bytes) -> bool:
    if any(data.startswith(magic) for magic in PROGRAMS):
        return False
    if kind == "webp":
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    if kind in MAGIC:
        return any(data.startswith(magic) for magic in MAGIC[kind])
    if b"\x00" in data or MARKUP.match(data.removeprefix(b"\xef\xbb\xbf")):
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def check(uploads: list[Upload], settings: SupportSettings) -> list[Checked]:
    """Read and check every upload (nothing is written); raise :class:`SupportError`."""
    uploads = [u for u in uploads if (u.filename or "").strip()]
    if not uploads:
        return []
    if len(uploads) > settings.max_attachments:
        raise SupportError(
            f"attach at most {settings.max_attachments} files to one message"
            if settings.max_attachments
            else "attachments are switched off"
        )
    allowed = allowed_extensions(settings)
    limit = settings.max_attachment_bytes
    checked = []
    for upload in uploads:
        ext = extension_of(upload.filename)
        shown = safe_name(upload.filename, ext or "file")
        if ext not in allowed:
            raise SupportError(
                f"{shown}: files of this type cannot be attached; allowed: "
                f"{', '.join(allowed) or 'none'}",
                415,
            )
        data = upload.stream.read(limit + 1)
        if len(data) > limit:
            raise SupportError(f"{shown} is larger than {limit // 1024} KiB", 413)
        if not data:
            raise SupportError(f"{shown} is empty")
        kind = BY_EXTENSION[ext].name
        if not _content_matches(kind, data):
            raise SupportError(
                f"{shown} is not a {ext} file (its content does not match its name)", 415
            )
        checked.append(Checked(shown, kind, data, hashlib.sha256(data).hexdigest()))
    return checked


def folder() -> Path:
    return Path(current_app.config["INSTANCE_PATH"]).joinpath(*STORE_DIR)


STORAGE_KEY = re.compile(r"[0-9a-f]{32}")


def path_of(storage_key: str) -> Path:
    if not STORAGE_KEY.fullmatch(storage_key or ""):
        raise SupportError("attachment not found", 404)
    return folder() / storage_key[:2] / storage_key


def write(files: list[Checked]) -> list[tuple[Checked, str]]:
    """Write checked files to disk under new random keys; the caller adds the rows (and calls
    :func:`discard` when its transaction fails)."""
    written: list[tuple[Checked, str]] = []
    try:
        for item in files:
            key = secrets.token_hex(16)
            path = path_of(key)
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(item.data)
            written.append((item, key))
    except OSError as exc:
        discard([key for _item, key in written])
        current_app.logger.error("support: cannot store an attachment: %s", exc)
        raise SupportError(
            "Files cannot be stored right now; nothing was sent. Please try again later.", 503
        ) from None
    return written


def discard(keys: list[str]) -> None:
    for key in keys:
        try:
            path_of(key).unlink(missing_ok=True)
        except (OSError, SupportError):
            current_app.logger.warning("support: could not delete attachment file %s", key)


class StorageUnavailable(OSError):
    """The attachments folder cannot be changed now (not mounted, not writable): files that
    must be deleted for certain (an account's erasure) wait until it can."""


def remove(keys: list[str]) -> int:
    """Delete these files for certain, or raise :class:`StorageUnavailable` first.

    Unlike :func:`discard` (a best effort after a failed upload), an erasure must not report
    success while a file stays on disk: the folder is checked before anything is deleted (a
    folder that is missing, not a folder, empty or not writable is storage that is not
    there, say a share that is not mounted, whose files may well still exist), and an error
    while deleting propagates. A file already gone from a folder that holds files counts as
    deleted, so a retry finishes the job.
    """
    paths = [path_of(key) for key in keys if STORAGE_KEY.fullmatch(key or "")]  # else: not ours
    if not paths:
        return 0
    root = folder()
    if not root.is_dir():
        raise StorageUnavailable(
            f"the attachments folder {root} is missing or not a folder (is the storage mounted?)"
        )
    if next(root.iterdir(), None) is None:  # an empty mount point looks just like this
        raise StorageUnavailable(
            f"the attachments folder {root} is empty although tickets "
            "refer to files in it (is the storage mounted?)"
        )
    for parent in {root, *(path.parent for path in paths)}:
        if parent.exists() and not os.access(parent, os.W_OK | os.X_OK):
            raise StorageUnavailable(f"{parent} is not writable")
    removed = 0
    for path in paths:
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise StorageUnavailable(f"cannot delete {path}: {exc.strerror or exc}") from exc
    return removed


def download_response(attachment: Attachment):
    """The file as a download that no browser renders in the page (see the module doc)."""
    path = path_of(attachment.storage_key)
    if not path.is_file():
        raise SupportError("this file is no longer stored", 404)
    kind = KINDS.get(attachment.kind, KINDS[TEXT])
    response = send_file(
        path,
        mimetype=kind.content_type,
        as_attachment=True,
        download_name=attachment.filename,
        conditional=False,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def health() -> str | None:
    """None when attachments can be stored, else what is wrong with the folder."""
    path = folder()
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create {path}: {exc.strerror}"
    if not os.access(path, os.W_OK | os.X_OK):
        return f"{path} is not writable"
    return None
