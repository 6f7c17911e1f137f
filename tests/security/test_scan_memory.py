"""A scan pauses the cyclic garbage collector only while its checks run, and leaves no syntax
tree behind for the collector to find (kernel/security/sources.py)."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from kernel.security import gate, sources
from kernel.security.sources import ParsedSources, paused_gc


@pytest.fixture
def collector():
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


def test_the_collector_is_off_during_the_checks_and_back_on_after(
    collector, make_plugin, monkeypatch
):
    plugin = make_plugin("gc_probe", {"__init__.py": "import os\nos.system('id')\n"})
    seen = []
    real = gate.run_bandit

    def probe(snapshot, parsed):
        seen.append(gc.isenabled())
        return real(snapshot, parsed)

    monkeypatch.setattr(gate, "run_bandit", probe)
    findings = gate.code_findings(plugin, plugin.snapshot())
    assert seen == [False] and gc.isenabled()
    assert any(f.rule == "B605" for f in findings)


def test_the_collector_comes_back_when_a_check_raises(collector, make_plugin, monkeypatch):
    plugin = make_plugin("gc_raise")

    def boom(*args, **kwargs):
        raise RuntimeError("check failed")

    monkeypatch.setattr(gate, "run_dynamic_code_checks", boom)
    with pytest.raises(RuntimeError):
        gate.code_findings(plugin, plugin.snapshot())
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_host_stays_off(collector):
    gc.disable()
    with paused_gc():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_nested_and_concurrent_pauses_end_with_the_last(collector):
    inside, release = threading.Event(), threading.Event()

    def other_scan():
        with paused_gc():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other_scan)
    with paused_gc():
        thread.start()
        assert inside.wait(10)
        with paused_gc():
            assert not gc.isenabled()
    assert not gc.isenabled()  # the other scan still runs
    release.set()
    thread.join(10)
    assert gc.isenabled() and sources._gc_pause["depth"] == 0


def test_released_trees_are_freed_without_the_collector(collector, make_plugin):
    plugin = make_plugin(
        "gc_free",
        {
            "__init__.py": "def f(a):\n    return [a, {'k': a}]\n",
            "more.py": "import subprocess\nsubprocess.run('x')\n",
        },
    )
    parsed = ParsedSources(plugin.snapshot())
    from kernel.security.bandit_check import run_bandit

    run_bandit(parsed.snapshot, parsed)
    refs = [weakref.ref(tree) for tree in parsed.trees().values()]
    assert refs and all(r() is not None for r in refs)
    gc.disable()
    parsed.release()
    assert [r() for r in refs] == [None] * len(refs)  # freed by reference counting alone
