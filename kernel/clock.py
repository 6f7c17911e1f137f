"""The time the business rules see: UTC, naive, and movable in tests.

Billing code (renewals, suspensions, expiries) asks :func:`now`, never
``datetime.now()``, so tests and demo environments can move time forward.

In one process, :func:`advance` and :func:`freeze` move it. Across processes (a test
driving real ``pteroca serve``, ``worker``, ``scheduler`` and ``cron run`` processes)
the *test clock file* does: when the environment variable :data:`FILE_ENV`
(``PTEROCA_TEST_CLOCK_FILE``) names a file, every process reads it, and it holds either
an offset in seconds added to the real time (``86400.5``) or a frozen ISO time
(``2030-01-02T03:04:05``). The file is read again only when it changes (its mtime, size
or inode), so :func:`now` costs one ``stat``. Write it with :func:`write_file`, which
replaces it atomically. **Test-only**: never set the variable in production (docs/deployment.md).
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

FILE_ENV = "PTEROCA_TEST_CLOCK_FILE"

_offset = timedelta(0)
_frozen: datetime | None = None
# The test clock file as last read: (path, (mtime_ns, size, inode)) -> (offset, frozen).
_file_key: tuple | None = None
_file_value: tuple[timedelta, datetime | None] = (timedelta(0), None)


class ClockFileError(ValueError):
    """The test clock file holds neither a number of seconds nor an ISO time."""


def parse_file_value(text: str) -> tuple[timedelta, datetime | None]:
    """``(offset, frozen)`` from the file's text: a number of seconds, an ISO time or nothing."""
    text = text.strip()
    if not text:
        return timedelta(0), None
    try:
        return timedelta(seconds=float(text)), None
    except ValueError:
        pass
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ClockFileError(
            f"{FILE_ENV}: {text[:60]!r} is neither seconds nor an ISO time"
        ) from None
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return timedelta(0), at


def _from_file(path: str) -> tuple[timedelta, datetime | None]:
    """The file's (offset, frozen), re-read only when it changed; a missing file is no shift."""
    global _file_key, _file_value
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return timedelta(0), None
    key = (path, (st.st_mtime_ns, st.st_size, st.st_ino))
    if key != _file_key:
        with open(path, encoding="utf-8") as fh:
            value = parse_file_value(fh.read())
        _file_key, _file_value = key, value
    return _file_value


def now() -> datetime:
    if _frozen is not None:
        return _frozen
    path = os.environ.get(FILE_ENV)
    if path:
        file_offset, file_frozen = _from_file(path)
        if file_frozen is not None:
            return file_frozen + _offset
        return datetime.now(UTC).replace(tzinfo=None) + file_offset + _offset
    return datetime.now(UTC).replace(tzinfo=None) + _offset


def write_file(
    path, *, offset: timedelta | float | None = None, frozen: datetime | None = None
) -> None:
    """Set the test clock file (atomically: readers never see half a value)."""
    if (offset is None) == (frozen is None):
        raise ValueError("give exactly one of offset and frozen")
    if frozen is not None:
        text = frozen.isoformat()
    else:
        seconds = offset.total_seconds() if isinstance(offset, timedelta) else float(offset)
        text = repr(seconds)
    path = os.fspath(path)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    # Readers notice a change by (mtime, size, inode); file system timestamps are coarse and
    # inodes are reused, so make sure the mtime moves even for two writes in the same tick.
    try:
        before = os.stat(path).st_mtime_ns
    except FileNotFoundError:
        before = 0
    stamp = max(time.time_ns(), before + 1_000)
    os.utime(tmp, ns=(stamp, stamp))
    os.replace(tmp, path)


def advance(delta: timedelta) -> datetime:
    """Move the clock forward (or back) for the whole process."""
    global _offset, _frozen
    if _frozen is not None:
        _frozen += delta
    else:
        _offset += delta
    return now()


def freeze(at: datetime | None) -> None:
    """Stop the clock at ``at`` (None lets it run again)."""
    global _frozen
    _frozen = at


def reset() -> None:
    global _offset, _frozen
    _offset, _frozen = timedelta(0), None


@contextmanager
def frozen(at: datetime):
    freeze(at)
    try:
        yield
    finally:
        reset()


@contextmanager
def advanced(delta: timedelta):
    """The clock moved forward by ``delta`` inside the block (tests), back again after it."""
    advance(delta)
    try:
        yield now()
    finally:
        advance(-delta)
