"""How the suite's two passes are planned: the order of the files for pytest-xdist
(tests/file_order.py) and the files the PostgreSQL pass leaves out (tests/database_free.py)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import create_engine, text

from tests import database_free, file_order


@dataclass
class Item:
    nodeid: str


def test_the_measured_slow_files_go_first_and_a_files_tests_stay_together(monkeypatch):
    monkeypatch.setattr(file_order, "MEASURED_SECONDS", {"tests/slow.py": 300})
    items = [Item(f"tests/many.py::test_{i}") for i in range(40)]  # 40 tests: 20 s expected
    items += [Item("tests/slow.py::test_a"), Item("tests/slow.py::test_b")]
    items += [Item(f"tests/some.py::test_{i}") for i in range(3)]
    items.insert(0, Item("tests/one.py::test_x"))

    file_order.longest_first(items)

    order = [item.nodeid for item in items]
    assert order[:2] == ["tests/slow.py::test_a", "tests/slow.py::test_b"]
    assert order[2:42] == [f"tests/many.py::test_{i}" for i in range(40)]
    assert order[42:45] == [f"tests/some.py::test_{i}" for i in range(3)]
    assert order[45:] == ["tests/one.py::test_x"]


def test_a_new_browser_journey_counts_as_long_before_it_is_measured():
    assert file_order.expected_seconds("tests/browser/test_new_journey.py", 2) >= 20
    assert file_order.expected_seconds("tests/topology/test_new.py", 2) >= 20
    assert (
        file_order.expected_seconds("tests/store/test_new.py", 2) == 2 * file_order.SECONDS_PER_TEST
    )


def test_the_tables_name_files_that_exist():
    for path in [*file_order.MEASURED_SECONDS, *database_free.FILES]:
        assert (database_free.ROOT / path).is_file(), path


def test_a_listed_file_whose_test_opens_a_database_is_caught(tmp_path):
    watch = database_free.ConnectionWatch()
    watch.install()
    listed = database_free.ROOT / "tests/payments/test_money.py"
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        watch.start(listed)
        assert watch.verdict() is None  # no connection: the listing holds

        watch.start(listed)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        found = watch.verdict()
        assert found and "tests/payments/test_money.py" in found and "take the file off" in found

        engine.dispose()
        watch.start(database_free.ROOT / "tests/test_suite_plan.py")  # not listed
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert watch.verdict() is None
    finally:
        engine.dispose()
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.remove(Engine, "connect", watch._connected)
