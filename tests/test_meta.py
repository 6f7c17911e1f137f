"""The contract stays honest: every hook has a test and an entry in the hook reference."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from kernel import hookspecs
from kernel.plugins.capabilities import HOOK_CAPABILITY

ROOT = Path(__file__).resolve().parents[1]
HOOKS = sorted(
    name
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
    if hasattr(fn, "pteroca_spec")
)


def test_hookspecs_found():
    assert len(HOOKS) >= 20


@pytest.mark.parametrize("hook", HOOKS)
def test_plugin_hooks_have_tests(hook):
    sources = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))
    assert re.search(rf"def test_hook_{hook}\b", sources), f"no test_hook_{hook} in tests/"


@pytest.mark.parametrize("hook", HOOKS)
def test_plugin_hooks_are_documented(hook):
    docs = (ROOT / "docs" / "plugins.md").read_text()
    assert f"### `{hook}`" in docs, f"docs/plugins.md has no '### `{hook}`' entry"


@pytest.mark.parametrize("hook", HOOKS)
def test_hooks_have_a_capability_and_a_docstring(hook):
    fn = getattr(hookspecs, hook)
    assert hook in HOOK_CAPABILITY
    assert fn.__doc__ and "\n" not in fn.__doc__.strip()


# The store's own hookspecs (builtin_plugins/store/hookspecs.py) are documented in docs/store.md.
from builtin_plugins.store import hookspecs as store_hookspecs  # noqa: E402

STORE_HOOKS = sorted(
    name
    for name, fn in inspect.getmembers(store_hookspecs, inspect.isfunction)
    if hasattr(fn, "pteroca_spec")
)


@pytest.mark.parametrize("hook", STORE_HOOKS)
def test_store_hooks_are_documented_with_a_one_line_docstring(hook):
    docs = (ROOT / "docs" / "store.md").read_text()
    assert f"`{hook}(" in docs or f"`{hook}`" in docs, f"docs/store.md does not name `{hook}`"
    doc = getattr(store_hookspecs, hook).__doc__
    assert doc and "\n" not in doc.strip()
