"""The cross-process test clock: PTEROCA_TEST_CLOCK_FILE moves ``clock.now()`` in every process."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from kernel import clock

FROZEN = datetime(2031, 5, 6, 7, 8, 9)


@pytest.fixture
def clock_file(tmp_path, monkeypatch):
    path = tmp_path / "clock"
    monkeypatch.setenv(clock.FILE_ENV, str(path))
    yield path
    clock.reset()


def real_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def test_without_the_variable_the_file_is_ignored(tmp_path, monkeypatch):
    monkeypatch.delenv(clock.FILE_ENV, raising=False)
    clock.write_file(tmp_path / "clock", frozen=FROZEN)
    assert abs(clock.now() - real_now()) < timedelta(seconds=5)


def test_a_missing_or_empty_file_is_the_real_time(clock_file):
    assert abs(clock.now() - real_now()) < timedelta(seconds=5)
    clock_file.write_text("\n")
    assert abs(clock.now() - real_now()) < timedelta(seconds=5)


def test_an_offset_moves_the_running_clock(clock_file):
    clock.write_file(clock_file, offset=timedelta(days=31))
    assert clock_file.read_text().strip() == repr(31 * 86400.0)
    moved = clock.now() - real_now()
    assert timedelta(days=31) - timedelta(seconds=5) < moved <= timedelta(days=31)
    first = clock.now()
    assert clock.now() >= first  # still running


def test_a_frozen_time_stops_it_and_in_process_moves_add_up(clock_file):
    clock.write_file(clock_file, frozen=FROZEN)
    assert clock.now() == FROZEN
    clock.advance(timedelta(hours=2))
    assert clock.now() == FROZEN + timedelta(hours=2)
    clock.freeze(datetime(2040, 1, 1))  # an in-process freeze wins over the file
    assert clock.now() == datetime(2040, 1, 1)


def test_an_aware_time_is_read_as_utc(clock_file):
    clock_file.write_text("2031-05-06T09:08:09+02:00")
    assert clock.now() == FROZEN


def test_each_rewrite_is_seen_at_once(clock_file):
    for hours in range(5):  # several writes within the same file system timestamp tick
        clock.write_file(clock_file, frozen=FROZEN + timedelta(hours=hours))
        assert clock.now() == FROZEN + timedelta(hours=hours)


def test_the_file_is_read_only_when_it_changes(clock_file, monkeypatch):
    clock.write_file(clock_file, frozen=FROZEN)
    assert clock.now() == FROZEN
    reads = []
    real_open = open
    monkeypatch.setattr("builtins.open", lambda *a, **k: reads.append(a[0]) or real_open(*a, **k))
    for _ in range(100):
        assert clock.now() == FROZEN
    assert reads == []  # a stat per call, no read
    # Same length, same inode, same mtime: not a change the clock can see (by design)...
    stat = os.stat(clock_file)
    with real_open(clock_file, "r+") as fh:
        fh.write(FROZEN.replace(year=2032).isoformat())
    os.utime(clock_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert clock.now() == FROZEN and reads == []
    # ...a real write is.
    clock.write_file(clock_file, frozen=FROZEN.replace(year=2033))
    reads.clear()  # write_file's own open
    assert clock.now() == FROZEN.replace(year=2033) and reads == [str(clock_file)]


def test_garbage_is_an_error_not_a_wrong_time(clock_file):
    clock_file.write_text("next tuesday")
    with pytest.raises(clock.ClockFileError, match="neither seconds nor an ISO time"):
        clock.now()


def test_write_file_takes_one_value(clock_file):
    with pytest.raises(ValueError):
        clock.write_file(clock_file)
    with pytest.raises(ValueError):
        clock.write_file(clock_file, offset=1, frozen=FROZEN)
    assert not clock_file.exists()


def test_another_process_sees_the_same_time(clock_file):
    code = "from kernel import clock; print(clock.now().isoformat())"

    def other_now() -> datetime:
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, clock.FILE_ENV: str(clock_file)},
        )
        return datetime.fromisoformat(out.stdout.strip())

    clock.write_file(clock_file, frozen=FROZEN)
    assert other_now() == FROZEN == clock.now()
    clock.write_file(clock_file, offset=-3600)
    assert abs(other_now() - (real_now() - timedelta(hours=1))) < timedelta(seconds=10)
