"""A plugin's files as one snapshot: every file of its tree, read once, hashed per file.

The scan gate analyses the bytes of a :class:`Snapshot` and records its
:meth:`Snapshot.digests` with the verdict; the verified loader
(:mod:`kernel.plugins.verified`) compiles only bytes whose sha256 is in that
list. Reading each file once, and analysing and hashing those same bytes, is
what makes "what was scanned" and "what is imported" the same thing: a file
swapped while the scan runs differs from the recorded hash and is refused.

No folder is skipped: ``__pycache__``, hidden folders and anything else are
part of the tree, hashed and checked like the rest. Symlinks are recorded by
their target, never followed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

SYMLINK = "symlink:"
# Files up to this size are kept in memory for the checks; larger ones are hashed in
# chunks (the file checks report them as oversized anyway).
KEEP_BYTES = 5 * 1024 * 1024
CHUNK = 1 << 16


def iter_files(root: Path) -> Iterator[Path]:
    """Every file and symlink below ``root`` (symlinks not followed), no folder skipped."""
    stack = [root]
    while stack:
        current = stack.pop()
        with os.scandir(current) as entries:
            for entry in entries:
                if entry.is_symlink() or entry.is_file(follow_symlinks=False):
                    yield Path(entry.path)
                elif entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                else:  # a fifo, socket or device: listed so the file checks can refuse it
                    yield Path(entry.path)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _digest_of_large(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def tree_hash(digests: Mapping[str, str]) -> str:
    """The content hash: sha256 over the sorted (relative path, file digest) pairs."""
    digest = hashlib.sha256()
    for rel in sorted(digests):
        digest.update(
            rel.encode("utf-8", "surrogateescape") + b"\0" + digests[rel].encode() + b"\0"
        )
    return digest.hexdigest()


@dataclass
class Snapshot:
    """The files of a plugin at one moment: relative path -> bytes (or why they are absent)."""

    root: Path
    data: dict[str, bytes] = field(default_factory=dict)  # files up to KEEP_BYTES
    digests: dict[str, str] = field(default_factory=dict)  # every entry: sha256 or symlink:...
    symlinks: dict[str, str] = field(default_factory=dict)  # rel -> target as stored
    large: set[str] = field(default_factory=set)  # hashed, not kept
    unreadable: dict[str, str] = field(default_factory=dict)  # rel -> why

    @classmethod
    def read(cls, root: Path) -> Snapshot:
        snap = cls(root=Path(root))
        for path in iter_files(snap.root):
            rel = path.relative_to(snap.root).as_posix()
            try:
                if path.is_symlink():
                    target = os.readlink(path)
                    snap.symlinks[rel] = target
                    snap.digests[rel] = SYMLINK + target
                    continue
                if not path.is_file():
                    raise OSError(0, "not a regular file")
                if path.stat().st_size > KEEP_BYTES:
                    snap.large.add(rel)
                    snap.digests[rel] = _digest_of_large(path)
                    continue
                with path.open("rb") as fh:
                    blob = fh.read()
            except OSError as exc:
                snap.unreadable[rel] = exc.strerror or str(exc)
                snap.digests[rel] = "unreadable"
                continue
            snap.data[rel] = blob
            snap.digests[rel] = sha256(blob)
        return snap

    @property
    def content_hash(self) -> str:
        return tree_hash(self.digests)

    def paths(self) -> list[Path]:
        """Absolute paths of every entry, sorted."""
        return [self.root / rel for rel in sorted(self.digests)]


def digests_of(root: Path) -> dict[str, str]:
    """Per-file digests of the tree as it is now (what the loader compares with the verdict)."""
    return Snapshot.read(root).digests


def describe_changes(
    recorded: Mapping[str, str], current: Mapping[str, str], limit: int = 3
) -> str:
    """``added __pycache__/x.py; changed a.py`` for the files that differ, worst first."""
    added = sorted(set(current) - set(recorded))
    removed = sorted(set(recorded) - set(current))
    changed = sorted(rel for rel in set(current) & set(recorded) if current[rel] != recorded[rel])
    parts = []
    for label, items in (("added", added), ("changed", changed), ("removed", removed)):
        if items:
            shown = ", ".join(items[:limit]) + (
                f" and {len(items) - limit} more" if len(items) > limit else ""
            )
            parts.append(f"{label} {shown}")
    return "; ".join(parts)
