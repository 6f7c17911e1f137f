"""pytest fixtures for testing pteroca plugins, registered through the ``pytest11`` entry point.

Installing pteroca makes them available to every test suite in the environment, with no
conftest.py: ``app``, ``client``, ``runner``, ``login_as``, ``make_user``,
``enable_plugin``, ``register_test_plugin``, ``pterodactyl_simulator``, ``stripe_simulator``,
``paypal_simulator`` and ``oauth_simulator`` (plus
``pteroca_instance`` and ``pteroca_config`` underneath them). docs/plugins.md, "Testing",
describes each one.

Every test gets an instance of its own: a temporary folder with a SQLite database and a
plugins folder; no Redis, outgoing mail written to a file there (and kept for
``pteroca_instance.sent_mail()``), and the advisory service pointed at a closed local port,
so tests run offline whatever ``PTEROCA_*`` variables the shell has. The app follows plugin
changes the way the hot swap does in production: after ``enable_plugin`` the ``client``
(and every client from ``login_as``) talks to the rebuilt app.

This module is imported by every pytest run where pteroca is installed, so it does nothing
at import time and has no autouse fixtures; a fixture of the same name in a conftest.py
overrides the one here. ``-p no:pteroca`` switches the plugin off.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from kernel import hookimpl
from kernel.testing import TEST_PASSWORD, login

_counter = itertools.count(1)


@dataclass(frozen=True)
class TestUser:
    """A user made for a test; load the model with ``db.session.get(User, user.id)``."""

    __test__ = False  # not a test class, whatever pytest's name rules say

    id: int
    email: str
    password: str
    role: str
    name: str


class PterocaTestInstance:
    """One throw-away pteroca instance: its folder, configuration and current app."""

    __test__ = False

    def __init__(self, path: Path, config: dict[str, Any], monkeypatch: pytest.MonkeyPatch):
        from kernel import testing
        from kernel.plugin_lifecycle import loader

        self.path = Path(path)
        self.plugins_dir = self.path / "plugins"
        self._mail = _MailCapture()
        self._test_plugins: list[tuple[str, object]] = []
        original = loader.new_plugin_manager

        def new_plugin_manager():
            # Every plugin manager of this test's apps gets the mail capture and the test plugins.
            pm = original()
            pm.register(self._mail, name="pytest_mail_capture")
            for plugin_name, plugin in self._test_plugins:
                pm.register(plugin, name=plugin_name)
            return pm

        monkeypatch.setattr(loader, "new_plugin_manager", new_plugin_manager)
        # Every setting the shell's PTEROCA_* variables could change, pinned for the test.
        cfg: dict[str, Any] = {
            "REDIS_URL": "",
            "SAFE_MODE": False,
            "MAIL_URL": f"file://{self.path / 'outbox.txt'}",  # never a real mail server
            "BASE_URL": "http://localhost",
            "OSV_URL": testing.NO_OSV,  # offline; set it in pteroca_config to audit for real
            "REQUIRE_AUDIT": False,
            "SCAN_MAX_AGE_HOURS": 24,
        }
        if getattr(testing, "database_for_instance", None) is None:
            cfg["DATABASE_URL"] = f"sqlite:///{self.path / 'pteroca.db'}"
        cfg.update(config)
        self.config = cfg
        self._app = testing.build_app(self.path, **cfg)

    # --- the app, following plugin changes ----------------------------------------------------

    @property
    def app(self):
        """The current app: rebuilt when the plugin generation moved, as the hot swap does."""
        from kernel.extensions import db
        from kernel.generation import read_generation

        with self._app.app_context():
            try:
                stored = read_generation()
            finally:
                db.session.remove()
        from kernel.plugins.host import plugin_host

        if stored != plugin_host(self._app).generation:
            self.rebuild()
        return self._app

    def rebuild(self):
        """Build a new app from the same configuration (and the registered test plugins)."""
        from kernel.app import create_app

        cfg = dict(self._app.config["PTEROCA_BUILD_CONFIG"])
        self._app = create_app(cfg)
        self._app.config["PTEROCA_BUILD_CONFIG"] = cfg
        self._check_test_plugins()
        return self._app

    # --- plugins ------------------------------------------------------------------------------

    def enable(self, name: str, *, with_dependencies: bool = False, accept_risk: bool = False):
        """Scan, migrate and enable ``name`` like an admin would; return the rebuilt app.

        Offline, the advisory check reports ``not-audited`` (HIGH) for a pip-installed plugin;
        that finding alone is accepted here. Any other HIGH finding needs ``accept_risk=True``
        and a CRITICAL one fails, exactly as in production.
        """
        from kernel.plugin_lifecycle import services
        from kernel.security import ConfirmationRequired, Severity
        from kernel.security.policy import NOT_AUDITED_RULE

        with self.app.app_context():
            try:
                services.enable(
                    name,
                    with_dependencies=with_dependencies,
                    accept_risk=accept_risk,
                    actor="pytest",
                )
            except ConfirmationRequired as exc:
                high = exc.record.at_least(Severity.HIGH)
                if not all(f.rule == NOT_AUDITED_RULE for f in high):
                    raise
                services.enable(
                    name, with_dependencies=with_dependencies, accept_risk=True, actor="pytest"
                )
        return self.app

    def disable(self, name: str, *, cascade: bool = False):
        from kernel.plugin_lifecycle import services

        with self.app.app_context():
            services.disable(name, cascade=cascade, actor="pytest")
        return self.app

    def scan(self, name: str) -> dict[str, Any]:
        """A fresh scan of ``name``: the scan record as a dict (verdict, counts, findings)."""
        from kernel.plugin_lifecycle import services
        from kernel.security import scan_plugin

        with self.app.app_context():
            return scan_plugin(services.get_plugin(name), force=True).to_dict()

    def register(self, obj: object, name: str | None = None):
        """Register ``obj``'s hookimpls in every plugin manager of this test; return the app."""
        name = name or f"test_plugin_{len(self._test_plugins) + 1}"
        if any(n == name for n, _ in self._test_plugins):
            raise ValueError(f"register_test_plugin: {name!r} is already registered")
        hooks = _hookimpl_names(obj)
        if not hooks:
            raise ValueError(
                f"register_test_plugin: {obj!r} has no function marked with kernel.hookimpl"
            )
        if "register_blueprints" in hooks:
            raise ValueError(
                "register_test_plugin cannot add pages: blueprints are mounted for "
                "discovered plugins only; write a drop-in plugin into "
                "pteroca_instance.plugins_dir and enable_plugin() it"
            )
        self._test_plugins.append((name, obj))
        return self.rebuild()

    def _check_test_plugins(self) -> None:
        from kernel.plugins.host import plugin_manager

        pm = plugin_manager(self._app)
        for name, obj in self._test_plugins:
            unknown = [h for h in _hookimpl_names(obj) if not getattr(pm.hook, h).has_spec()]
            if unknown:
                raise ValueError(
                    f"register_test_plugin: {name} implements "
                    f"{', '.join(sorted(unknown))}, which no hookspec defines "
                    "(a typo, or a hook of a plugin that is not enabled?)"
                )

    # --- users --------------------------------------------------------------------------------

    def make_user(
        self,
        email: str | None = None,
        *,
        role: str = "customer",
        password: str = TEST_PASSWORD,
        name: str = "",
        verified: bool = True,
    ) -> TestUser:
        from kernel.accounts.services import create_user
        from kernel.extensions import db

        email = email or f"user{next(_counter)}@example.com"
        with self.app.app_context():
            user = create_user(
                email, password, name=name, role=role, verified=verified, actor="pytest"
            )
            made = TestUser(
                id=user.id, email=user.email, password=password, role=user.role_name, name=user.name
            )
            db.session.remove()
        return made

    def client(self) -> FollowingClient:
        return FollowingClient(self)

    def login(self, client: FollowingClient, user: TestUser) -> FollowingClient:
        """Log ``client`` in through the login form, as a browser would."""
        login(client, user.email, user.password)
        client.user = user
        return client

    def make_customer(
        self,
        email: str | None = None,
        balance: int = 0,
        *,
        name: str | None = None,
        password: str = TEST_PASSWORD,
    ) -> TestUser:
        """A verified customer with ``balance`` minor units in the wallet (through the ledger)."""
        from kernel.extensions import db
        from kernel.testing import make_customer

        email = email or f"customer{next(_counter)}@example.com"
        with self.app.app_context():
            user = make_customer(email, balance, name=name, password=password)
            made = TestUser(
                id=user.id, email=user.email, password=password, role=user.role_name, name=user.name
            )
            db.session.remove()
        return made

    def store_builders(self):
        """The enabled store's test builders (``<store package>.testing``), enabling the store
        first if needed: the kernel reaches a plugin only through its plugin host."""
        import importlib

        from kernel.plugins.host import plugin_manager

        store = plugin_manager(self.app).get_plugin("store")
        if store is None:
            store = plugin_manager(self.enable("store")).get_plugin("store")
        return importlib.import_module(f"{store.__name__}.testing")

    def sent_mail(self) -> list:
        """Every message handed to the mail transport so far (``EmailMessage``), oldest first."""
        return list(self._mail.messages)


class _MailCapture:
    """Keeps a copy of every outgoing message, after every plugin has adjusted it."""

    def __init__(self):
        self.messages: list = []

    @hookimpl(trylast=True)
    def before_email_send(self, message):
        import copy

        self.messages.append(copy.deepcopy(message))


def _hookimpl_names(obj: object) -> list[str]:
    import inspect

    names = []
    for attr in dir(obj):
        fn = getattr(obj, attr, None)
        opts = getattr(fn, "pteroca_impl", None) if callable(fn) else None
        if isinstance(opts, dict):
            names.append(opts.get("specname") or attr)
    if not names and inspect.isfunction(obj):
        raise ValueError(
            "register_test_plugin takes an object or module holding hookimpls, "
            "not a single function"
        )
    return names


class FollowingClient(FlaskClient):
    """A Flask test client that always talks to its instance's current app."""

    user: TestUser | None = None  # set by login_as / PterocaTestInstance.login

    def __init__(self, instance: PterocaTestInstance):
        self._instance = instance
        app = instance.app
        super().__init__(app, app.response_class, use_cookies=True)

    @property
    def application(self):
        return self._instance.app

    @application.setter
    def application(self, value):  # werkzeug's __init__ assigns it; the property wins
        pass


# --- hooks and fixtures -----------------------------------------------------------------------


def pytest_configure(config):
    # bandit (the scan) asks stevedore for a deprecated no-op argument; nothing a plugin
    # author can act on, so keep it out of their warnings summary.
    config.addinivalue_line(
        "filterwarnings",
        "ignore:The verify_requirements argument is now a no-op:DeprecationWarning",
    )
    # Tests import a plugin the way the panel does: only after enable_plugin() scanned it,
    # through the verified loader. Guarding the installed plugins' packages now makes an
    # import before that (at module level, say) fail with a clear message instead of running
    # unscanned code.
    from kernel.plugins.discovery import discover_entry_points

    discover_entry_points()


@pytest.fixture
def pteroca_config() -> dict[str, Any]:
    """Extra app configuration (``{"RATELIMIT_LOGIN": "1000 per minute"}``): override it."""
    return {}


@pytest.fixture
def pteroca_instance(tmp_path, pteroca_config, monkeypatch) -> PterocaTestInstance:
    """The test's own pteroca instance (folder, config, current app, plugins folder)."""
    return PterocaTestInstance(tmp_path / "pteroca", dict(pteroca_config), monkeypatch)


@pytest.fixture
def app(pteroca_instance):
    """The Flask app at the start of the test (``enable_plugin`` returns the rebuilt one)."""
    return pteroca_instance.app


@pytest.fixture
def client(pteroca_instance):
    """A test client (not logged in) that follows plugin changes like a browser."""
    return pteroca_instance.client()


@pytest.fixture
def runner(pteroca_instance):
    """``runner.invoke(args=["plugin", "list"])`` runs the ``pteroca`` CLI on the current app."""
    from flask.testing import FlaskCliRunner

    class PterocaCliRunner(FlaskCliRunner):
        def invoke(self, cli=None, args=None, **kwargs):
            from kernel.cli import main

            if isinstance(cli, (list, tuple, str)) and args is None:
                cli, args = None, cli
            self.app = pteroca_instance.app
            return super().invoke(main if cli is None else cli, args, **kwargs)

    return PterocaCliRunner(pteroca_instance.app)


@pytest.fixture
def make_user(pteroca_instance):
    """``make_user(email=None, role="customer", password=..., name="", verified=True)``."""
    return pteroca_instance.make_user


@pytest.fixture
def cli(request):
    """``cli("plugin", "list")`` runs ``pteroca`` like a shell would, on an app built afresh from
    the test's ``app`` (or ``cli(..., app=other)``); returns click's ``Result``. Exceptions are
    not swallowed: a crash fails the test with its traceback."""
    from kernel.testing import run_cli

    def invoke(*args: str, input: str | None = None, app=None):
        return run_cli(
            app if app is not None else request.getfixturevalue("app"), *args, input=input
        )

    return invoke


@pytest.fixture
def make_customer(pteroca_instance):
    """``make_customer(email=None, balance=0, name=None)``: a verified customer with money in
    the wallet (credited through the ledger); a ``TestUser`` for ``login_as(user=...)``."""
    return pteroca_instance.make_customer


@pytest.fixture
def make_product(pteroca_instance):
    """``make_product(slug="mc-small", price=1000, provisioner="manual", ...)``: an active
    store product with one plan (enables the store); returns the product's id."""

    def build(*args, **kwargs) -> int:
        builders = pteroca_instance.store_builders()
        with pteroca_instance.app.app_context():
            return builders.make_product(*args, **kwargs).id

    return build


@pytest.fixture
def buy(pteroca_instance):
    """``buy(user, product_id, name="My server", ...)``: ``user`` (a ``TestUser``) buys the
    product through the store's checkout service, paying from the wallet; the server's id."""

    def purchase(user: TestUser, product_id: int, **kwargs) -> int:
        from kernel.accounts.models import User
        from kernel.extensions import db

        builders = pteroca_instance.store_builders()
        with pteroca_instance.app.app_context():
            product = db.session.get(builders.Product, product_id)
            service_id = builders.buy(db.session.get(User, user.id), product, **kwargs).id
            db.session.remove()
        return service_id

    return purchase


@pytest.fixture
def make_server(pteroca_instance):
    """``make_server(user, name="Survival")``: a live server of ``user`` fulfilled by hand (no
    panel, no payment), for tests of what surrounds a server; its id."""

    def build(user: TestUser, name: str = "Survival", **kwargs) -> int:
        from kernel.extensions import db

        builders = pteroca_instance.store_builders()
        with pteroca_instance.app.app_context():
            service_id = builders.make_server(user.id, name, **kwargs).id
            db.session.remove()
        return service_id

    return build


@pytest.fixture
def login_as(pteroca_instance):
    """``login_as("admin")``: a new client logged in as a new user of that role (``.user``)."""

    def new_client(role: str = "customer", *, user: TestUser | None = None):
        user = user or pteroca_instance.make_user(role=role)
        return pteroca_instance.login(pteroca_instance.client(), user)

    return new_client


@pytest.fixture
def enable(pteroca_instance):
    """``enable("my_plugin")``: scan, migrate, enable; returns the rebuilt app."""
    return pteroca_instance.enable


@pytest.fixture
def enable_plugin(enable):
    """The former name of ``enable``; kept for existing suites."""
    return enable


@pytest.fixture
def register_test_plugin(pteroca_instance):
    """``register_test_plugin(obj)``: ``obj``'s hookimpls join the app for this test."""
    return pteroca_instance.register


@pytest.fixture
def pterodactyl_simulator():
    """A running Pterodactyl panel simulator (seeded), stopped after the test."""
    from simulators.pterodactyl import Simulator

    simulator = Simulator(seed=True)
    simulator.start()
    try:
        yield simulator
    finally:
        simulator.stop()


@pytest.fixture
def stripe_simulator():
    """A running Stripe-shaped server (``simulators.stripe.FakeStripe``): point the
    stripe_payments settings' ``api_base`` at ``.url`` and set ``.webhook_url``."""
    from simulators.stripe import FakeStripe

    with FakeStripe() as server:
        yield server


@pytest.fixture
def oauth_simulator():
    """A running OAuth 2.0 / OpenID Connect provider (``simulators.oauth.FakeOAuthProvider``;
    ``.issuer``, ``.discord_base``, ``.github_base``, ``.github_api``, ``.client_id``,
    ``.client_secret``, ``.sign_in_as(...)``): point the oauth_login settings at it."""
    from simulators.oauth import FakeOAuthProvider

    with FakeOAuthProvider() as server:
        yield server


@pytest.fixture
def paypal_simulator():
    """A running PayPal-shaped server (``simulators.paypal.FakePayPal``): point the
    paypal_payments settings' ``base_url`` at ``.url``."""
    from simulators.paypal import FakePayPal

    with FakePayPal() as server:
        yield server


# --- the Pelican panel simulator (issue 23) -----------------------------------------------


@pytest.fixture
def pelican_simulator():
    """A running Pelican panel simulator (seeded; ``papp_``/``pacc_`` keys, no nests, eggs
    at ``/api/application/eggs``), stopped after the test. Its switches are the Pterodactyl
    simulator's plus ``wings_error`` and ``resource_limits`` (``simulators/pelican/app.py``)."""
    from simulators.pelican import PelicanSimulator

    simulator = PelicanSimulator(seed=True)
    simulator.start()
    try:
        yield simulator
    finally:
        simulator.stop()
