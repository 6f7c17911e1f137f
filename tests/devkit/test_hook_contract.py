"""Hook contract stability: deprecations warn, subsets of arguments work, the kernel range holds."""

from __future__ import annotations

import inspect
import re
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pluggy
import pytest

from kernel import hookimpl, hookspec, hookspecs
from kernel.hookspecs import HookDeprecationWarning, deprecated, deprecations
from kernel.plugin_lifecycle.loader import new_plugin_manager

ROOT = Path(__file__).resolve().parents[2]


class DeprecatedSpecs:
    """Test-only hookspecs: one deprecated hook, one hook with a deprecated argument."""

    @hookspec(
        warn_on_impl=deprecated(
            "the hook old_greeting",
            since="0.1",
            removal="1.0",
            instead="implement greeting(user) instead",
        )
    )
    def old_greeting(self, user):
        """Deprecated: return a greeting for ``user``."""

    @hookspec(
        warn_on_impl_args={
            "request": deprecated(
                "the request argument of greeting",
                since="0.1",
                removal="1.0",
                instead="use flask.request",
            )
        }
    )
    def greeting(self, user, request):
        """Return a greeting for ``user``."""


def manager() -> pluggy.PluginManager:
    pm = new_plugin_manager()
    pm.add_hookspecs(DeprecatedSpecs)
    return pm


def test_implementing_a_deprecated_hook_warns_at_the_plugins_function():
    class OldPlugin:
        @hookimpl
        def old_greeting(self, user):
            return f"hi {user}"

    pm = manager()
    with pytest.warns(HookDeprecationWarning) as caught:
        pm.register(OldPlugin(), name="old_plugin")
    [warning] = caught.list
    assert str(warning.message) == (
        "the hook old_greeting is deprecated since pteroca 0.1 and "
        "will be removed in 1.0; implement greeting(user) instead"
    )
    assert warning.filename == __file__  # points at the plugin's code, not the kernel's
    assert warning.lineno == inspect.getsourcelines(OldPlugin.old_greeting)[1]
    assert pm.hook.old_greeting(user="ann") == ["hi ann"]  # still called until its removal


def test_a_deprecated_argument_warns_only_implementations_that_take_it():
    class Current:
        @hookimpl
        def greeting(self, user):
            return f"hello {user}"

    class Outdated:
        @hookimpl
        def greeting(self, user, request):
            return f"hey {user}"

    pm = manager()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning would raise here
        pm.register(Current(), name="current")
    with pytest.warns(
        HookDeprecationWarning,
        match="the request argument of greeting is deprecated since pteroca 0.1",
    ):
        pm.register(Outdated(), name="outdated")
    assert sorted(pm.hook.greeting(user="bo", request=None)) == ["hello bo", "hey bo"]


def test_deprecation_warnings_are_shown_by_default():
    """Admins see them in the server log, not only authors in pytest (a FutureWarning)."""
    code = textwrap.dedent("""
        from kernel import hookimpl
        from kernel.plugin_lifecycle.loader import new_plugin_manager
        from tests.devkit.test_hook_contract import DeprecatedSpecs

        class OldPlugin:
            @hookimpl
            def old_greeting(self, user):
                return user

        pm = new_plugin_manager()
        pm.add_hookspecs(DeprecatedSpecs)
        pm.register(OldPlugin())
    """)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "HookDeprecationWarning: the hook old_greeting is deprecated" in result.stderr


def test_deprecations_are_listed_and_documented():
    assert deprecations(DeprecatedSpecs) == {
        "greeting": [
            "the request argument of greeting is deprecated since pteroca 0.1 and will "
            "be removed in 1.0; use flask.request"
        ],
        "old_greeting": [
            "the hook old_greeting is deprecated since pteroca 0.1 and will be "
            "removed in 1.0; implement greeting(user) instead"
        ],
    }
    docs = (ROOT / "docs" / "plugins.md").read_text()
    for hook in deprecations():  # the kernel's own: each marked in the hook reference
        section = docs.split(f"### `{hook}`", 1)[1].split("\n### ", 1)[0]
        assert "Deprecated" in section, f"docs/plugins.md: mark {hook} as Deprecated"
    assert set(deprecations()) <= {n for n, _ in inspect.getmembers(hookspecs)}


def test_a_deprecated_plugin_hookspec_warns_through_the_loader(pteroca_instance, enable_plugin):
    folder = pteroca_instance.plugins_dir / "oldspec"
    folder.mkdir()
    (folder / "plugin.toml").write_text(
        'name = "oldspec"\nversion = "1.0.0"\nkernel = ">=0.1"\n'
        'capabilities = ["hookspecs", "oldspec_ping"]\n'
    )
    (folder / "specs.py").write_text(
        textwrap.dedent('''
        from kernel import hookspec
        from kernel.hookspecs import deprecated


        @hookspec(warn_on_impl=deprecated("oldspec_ping", since="1.0", removal="2.0",
                                          instead="stop pinging"))
        def oldspec_ping():
            """Deprecated event."""
    ''')
    )
    (folder / "__init__.py").write_text(
        textwrap.dedent("""
        from kernel import hookimpl


        @hookimpl
        def register_hookspecs():
            from . import specs

            return [specs]


        @hookimpl
        def oldspec_ping():
            return "pong"
    """)
    )
    with pytest.warns(
        HookDeprecationWarning,
        match="oldspec_ping is deprecated since pteroca "
        "1.0 and will be removed in 2.0; stop pinging",
    ):
        app = enable_plugin("oldspec")
    assert "oldspec" in app.extensions["pteroca"].loaded
    assert app.extensions["pteroca"].pm.hook.oldspec_ping() == ["pong"]


SUBSET = """
from flask import Blueprint
from markupsafe import Markup

from kernel import hookimpl

bp = Blueprint("subset_args", __name__)
STARTED = []


@bp.get("/")
def index():
    return "subset page, started %d" % len(STARTED)


@hookimpl
def startup():  # spec: startup(app)
    STARTED.append(True)


@hookimpl
def register_blueprints():  # spec: register_blueprints(app)
    return [bp]


@hookimpl
def template_slots(slot):  # spec: template_slots(slot, context)
    return Markup("<i>subset slot</i>") if slot == "dashboard_top" else None


@hookimpl
def dashboard_widgets():  # spec: dashboard_widgets(user)
    return [{"title": "Subset widget", "html": "no user needed"}]


@hookimpl
def client_menu_items():  # spec: client_menu_items(user)
    return [{"label": "Subset", "url": "/plugins/subset_args/"}]


@hookimpl
def veto_registration(email):  # spec: veto_registration(email, name)
    return "no example.org accounts" if email.endswith("@example.org") else None
"""


def test_hook_implementations_may_take_a_subset_of_the_arguments(
    pteroca_instance, enable_plugin, login_as, make_user
):
    from kernel.accounts.services import AccountError

    folder = pteroca_instance.plugins_dir / "subset_args"
    folder.mkdir()
    (folder / "plugin.toml").write_text(
        'name = "subset_args"\nversion = "1.0.0"\nkernel = ">=0.1"\ncapabilities = '
        '["lifecycle", "routes", "templates", "widgets", "menus", "vetoes"]\n'
    )
    (folder / "__init__.py").write_text(SUBSET)
    app = enable_plugin("subset_args")
    assert app.extensions["pteroca"].problems == {}
    client = login_as("customer")
    assert client.get("/plugins/subset_args/").text == "subset page, started 1"
    dashboard = client.get("/dashboard").text
    assert "<i>subset slot</i>" in dashboard and "Subset widget" in dashboard
    assert 'href="/plugins/subset_args/">Subset</a>' in dashboard
    with pytest.raises(AccountError, match="no example.org accounts"):
        make_user("someone@example.org")


def test_an_argument_outside_the_spec_is_refused_with_the_reason(pteroca_instance, enable_plugin):
    from kernel.plugin_lifecycle.services import PluginError

    folder = pteroca_instance.plugins_dir / "extra_arg"
    folder.mkdir()
    (folder / "plugin.toml").write_text(
        'name = "extra_arg"\nversion = "1.0.0"\nkernel = ">=0.1"\ncapabilities = ["widgets"]\n'
    )
    (folder / "__init__.py").write_text(
        "from kernel import hookimpl\n\n\n@hookimpl\ndef dashboard_widgets(user, theme):\n"
        "    return []\n"
    )
    reason = (
        "Argument(s) {'theme'} are declared in the hookimpl but can not be found in the hookspec"
    )
    with pytest.raises(PluginError, match=re.escape(reason)):
        enable_plugin("extra_arg")


def test_kernel_range_is_enforced_for_a_scaffolded_plugin(
    pteroca_instance, enable_plugin, monkeypatch, tmp_path
):
    from kernel.plugin_lifecycle import services
    from kernel.plugins.deps import DependencyError
    from kernel.plugins.scaffold import create_project

    project = create_project("ranged_demo", tmp_path)
    shutil.copytree(
        project.path / "src" / "ranged_demo", pteroca_instance.plugins_dir / "ranged_demo"
    )
    monkeypatch.setattr(services, "__version__", "1.0.0")  # the next major kernel
    with pytest.raises(
        DependencyError,
        match=re.escape("plugin 'ranged_demo' needs kernel <1.0,>=0.1 but this is pteroca 1.0.0"),
    ):
        enable_plugin("ranged_demo")
    monkeypatch.undo()
    assert "ranged_demo" in enable_plugin("ranged_demo").extensions["pteroca"].loaded
