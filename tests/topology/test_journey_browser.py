"""A customer's whole journey in Chromium, on the production topology.

PostgreSQL, Redis, two ``pteroca serve`` "machines" (the browser uses both: sessions are signed
cookies), one ``pteroca worker`` (provisioning and every email), one ``pteroca scheduler``, a
panel simulator run through ``pteroca simulator <panel>`` (once with Pterodactyl, once with
Pelican: the same journey on each), the Stripe fake with its hosted page, and a real SMTP server.
The customer registers, follows the emailed link, tops up through Stripe, buys a plan, watches
the server install and starts it from the console (the panel kit's tab on either panel); then a
month passes (the cross-process test clock, ``PTEROCA_TEST_CLOCK_FILE``), the lifecycle task
suspends the server in another process and the worker emails the customer (the open console
notices), who follows the email's link, tops up again and renews: the server is unsuspended in
the panel too.
"""

from __future__ import annotations

import re
import secrets
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from kernel import clock
from kernel.extensions import db
from kernel.testing import HEALTH_HEADERS
from simulators.stripe import FakeStripe
from tests.fakes.osv_server import FakeOsv
from tests.fakes.smtp import FakeSMTPServer
from tests.services import (
    RedisServer,
    fresh_postgres_database,
    require_chromium,
    require_postgres,
    require_redis_server,
)
from tests.topology.conftest import free_port, pteroca, pteroca_env, wait_until

ADMIN = ("admin@example.com", "journey-admin-password")
EMAIL, PASSWORD, NAME = "player@example.com", "journey-player-password", "Player One"
PRICE = 2000  # 20.00 USD for 30 days; the first top-up (25.00) leaves too little to auto-renew
INSTALL_SECONDS = 8  # long enough to see "Installing", short enough not to wait for long


@dataclass
class Stack:
    """The shared services and the two machines' environments."""

    dir: Path
    db: str
    redis: str
    osv: FakeOsv
    stripe: FakeStripe
    smtp: FakeSMTPServer
    clock_file: Path
    env: dict = field(default_factory=dict)  # machine name -> environment
    base: dict = field(default_factory=dict)  # machine name -> http://127.0.0.1:port
    simulator: str = ""
    kind: str = "pterodactyl"  # the panel the shop sells on
    keys: tuple[str, str] = ("", "")
    app: object = None  # machine A's app in the test process


def panel_key(prefix: str) -> str:
    return (prefix + secrets.token_hex(24))[:48]


@pytest.fixture
def services(tmp_path):
    """PostgreSQL, Redis and the fakes (OSV, Stripe, SMTP); skipped off CI when one is missing."""
    admin_url, redis_binary = require_postgres(), require_redis_server()
    require_chromium()
    with ExitStack() as stack:
        redis = stack.enter_context(RedisServer(redis_binary))
        url, drop = fresh_postgres_database(admin_url)
        stack.callback(drop)
        yield Stack(
            dir=tmp_path,
            db=url,
            redis=redis.url,
            osv=stack.enter_context(FakeOsv()),
            stripe=stack.enter_context(FakeStripe()),
            smtp=stack.enter_context(FakeSMTPServer()),
            clock_file=tmp_path / "clock",
        )


def seed_app(stack: Stack):
    """An app in the test process on machine A's configuration, to configure and inspect."""
    from kernel.app import create_app

    instance = stack.dir / "a" / "instance"
    return create_app(
        {
            "DATABASE_URL": stack.db,
            "REDIS_URL": stack.redis,
            "INSTANCE_PATH": str(instance),
            "PLUGINS_DIR": str(instance / "plugins"),
            "THEMES_DIR": str(instance / "themes"),
            "SECRET_KEY": "test-secret-key",
            "OSV_URL": stack.osv.url,
        }
    )


def configure(app, plugin: str, **values) -> None:
    from flask import current_app

    from kernel.plugins.settings import set_settings

    with app.app_context():
        set_settings(current_app.extensions["pteroca"].discovered[plugin].manifest, values)


# Each panel's plugin, its simulator's key prefixes and the plugin's settings beyond the keys.
PANELS = {
    "pterodactyl": (("ptla_", "ptlc_"), {"default_location": "sim-eu"}),
    "pelican": (("papp_", "pacc_"), {}),
}


@pytest.fixture(params=list(PANELS))
def topology(services, processes, request):
    """Every process up, the plugins enabled (audited against the OSV fake) and configured."""
    stack = services
    stack.kind = kind = request.param
    prefixes, extra_settings = PANELS[kind]
    stack.base = {name: f"http://127.0.0.1:{free_port()}" for name in ("a", "b")}
    for name in ("a", "b"):
        instance = stack.dir / name / "instance"
        (instance / "plugins").mkdir(parents=True)
        stack.env[name] = pteroca_env(
            instance,
            PTEROCA_DATABASE_URL=stack.db,
            PTEROCA_REDIS_URL=stack.redis,
            PTEROCA_OSV_URL=stack.osv.url,
            PTEROCA_MAIL_URL=stack.smtp.url,
            PTEROCA_BASE_URL=stack.base["a"],  # the public address emails link to
            PTEROCA_TEST_CLOCK_FILE=stack.clock_file,
        )
    env = stack.env["a"]
    result = pteroca(env, "init", "--admin-email", ADMIN[0], "--admin-password", ADMIN[1])
    assert result.returncode == 0, result.stderr
    for plugin in ("store", "panel_kit", kind, "stripe_payments"):
        # no --yes: the audit must pass; a panel plugin's HIGH is its passwords capability
        risk = ["--accept-risk"] if plugin == kind else []
        result = pteroca(env, "plugin", "enable", plugin, *risk)
        assert result.returncode == 0, result.stdout + result.stderr

    port = free_port()
    stack.simulator = f"http://127.0.0.1:{port}"
    stack.keys = (panel_key(prefixes[0]), panel_key(prefixes[1]))
    processes(
        env,
        "simulator",
        kind,
        "--port",
        str(port),
        "--application-key",
        stack.keys[0],
        "--client-key",
        stack.keys[1],
        "--install-seconds",
        str(INSTALL_SECONDS),
        "--power-seconds",
        "1",
        log=stack.dir / "simulator.log",
    )
    for name in ("a", "b"):
        processes(
            stack.env[name],
            "serve",
            "--bind",
            stack.base[name].removeprefix("http://"),
            "--workers",
            "1",
            "--threads",
            "4",
            log=stack.dir / f"serve-{name}.log",
        )
    processes(env, "worker", log=stack.dir / "worker.log")
    processes(stack.env["b"], "scheduler", "--interval", "2", log=stack.dir / "scheduler.log")
    wait_until(
        lambda: httpx.get(f"{stack.simulator}/_simulator/state").status_code == 200,
        60,
        "the simulator is up",
    )

    from builtin_plugins.store.testing import make_product

    if kind == "pterodactyl":
        from builtin_plugins.pterodactyl.client import PanelClient as Client
        from tests.pterodactyl.conftest import paper_settings
    else:
        from builtin_plugins.pelican.client import PelicanClient as Client
        from tests.pelican_plugin.conftest import paper_settings

    app = seed_app(stack)
    configure(
        app,
        kind,
        panel_url=stack.simulator,
        application_key=stack.keys[0],
        client_key=stack.keys[1],
        **extra_settings,
    )
    configure(
        app,
        "stripe_payments",
        secret_key=stack.stripe.secret_key,
        webhook_secret=stack.stripe.webhook_secret,
        api_base=stack.stripe.url,
    )
    with app.app_context(), Client(stack.simulator, *stack.keys) as panel:
        make_product(
            "paper-monthly",
            provisioner=kind,
            settings=paper_settings(panel),
            price=PRICE,
            period_count=30,
        )
        db.session.remove()
    stack.stripe.webhook_url = f"{stack.base['a']}/payments/stripe/webhook"  # behind the LB
    for name in ("a", "b"):
        wait_until(
            lambda n=name: httpx.get(f"{stack.base[n]}/-/health").status_code == 200,
            60,
            f"serve {name} up",
        )
    stack.app = app
    return stack


def simulator_servers(stack: Stack) -> list[dict]:
    return httpx.get(f"{stack.simulator}/_simulator/state").json()["servers"]


def email(stack: Stack, subject: str, timeout: float = 30):
    """The message to the customer with ``subject``, waiting for the worker to send it."""
    return wait_until(
        lambda: next((m for m in stack.smtp.sent_to(EMAIL) if m["Subject"] == subject), None),
        timeout,
        f"the email {subject!r}",
    )


def link_in(message, path_part: str) -> str:
    body = FakeSMTPServer.text(message)
    found = [url for url in re.findall(r"https?://\S+", body) if path_part in url]
    assert found, f"no link with {path_part!r} in:\n{body}"
    return found[0]


def top_up(page, stack: Stack, base: str, amount: str) -> None:  # noqa: F811 - a Page
    """The wallet's form on ``base``, then the Stripe fake's hosted page, then back."""
    page.goto(f"{base}/wallet")
    page.fill("input[name=amount]", amount)
    page.get_by_label("Card (Stripe)").check()
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(f"{stack.stripe.url}/pay/*")
    assert f"{amount} USD" in page.inner_text("#amount")
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url(f"{base}/wallet/return/*")
    # The worker applies Stripe's webhook (or the page's own check); the page refreshes itself.
    page.get_by_role("heading", name="Payment received").wait_for(timeout=30_000)


def service_state(stack: Stack, service_id: int) -> str:
    from builtin_plugins.store.models import Service

    with stack.app.app_context():
        state = db.session.get(Service, service_id).state
        db.session.remove()
    return state


def service_expiry(stack: Stack, service_id: int):
    from builtin_plugins.store.models import Service

    with stack.app.app_context():
        expires = db.session.get(Service, service_id).expires_at
        db.session.remove()
    return expires


def test_customer_journey(topology, page, screenshot, monkeypatch):  # noqa: F811 - fixtures
    stack = topology
    a, b = stack.base["a"], stack.base["b"]
    page.set_default_timeout(20_000)

    # --- register on B; the worker sends the verification email; its link is A's address ---
    page.goto(f"{b}/register")
    page.fill("#name", NAME)
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.check("#terms")
    page.click("button[type=submit]")
    page.wait_for_url(f"{b}/dashboard")
    assert "confirm your email address" in page.inner_text("main").lower()
    verify = link_in(email(stack, "Confirm your email address"), "/verify-email/")
    assert verify.startswith(f"{a}/")
    page.goto(verify)  # the session cookie set by B is A's too (same host, signed cookies)
    page.goto(f"{a}/dashboard")
    assert "confirm your email address" not in page.inner_text("main").lower()

    # --- top up 25.00 through the Stripe fake's hosted page (its webhook reaches A) --------
    top_up(page, stack, a, "25.00")
    assert page.inner_text("[data-testid=balance]") == "25.00 USD"
    screenshot("journey-1-topped-up")

    # --- buy: the worker provisions, the panel installs ----------------------------------
    page.goto(f"{a}/store/product/paper-monthly/checkout")
    page.fill("#name", "journey survival")
    page.click("button[type=submit]:has-text('Pay and create the server')")
    page.wait_for_url(re.compile(r"/servers/\d+$"))
    service_url = page.url
    service_id = int(service_url.rsplit("/", 1)[1])
    assert "is on its way" in page.inner_text("main")
    wait_until(lambda: service_state(stack, service_id) == "active", 60, "provisioned")
    [server] = simulator_servers(stack)
    assert server["name"] == "journey survival" and server["status"] == "installing"
    page.reload()
    assert page.inner_text(".server-state") == "Active"
    assert page.inner_text(".live-state") == "Installing"
    screenshot("journey-2-installing")
    # sent by the worker once the reconciler saw the installation end
    assert email(stack, "Your server is ready", timeout=INSTALL_SECONDS + 40)

    # --- ready, then started from the console's power button ----------------------------
    # (the panel kit's console tab on either panel: the same steps on both)
    page.click(".server-tabs a:has-text('Console')")
    page.wait_for_selector(
        "#ptero-state[data-state=offline]", timeout=(INSTALL_SECONDS + 20) * 1000
    )
    page.click("button.power-start")
    page.wait_for_selector("#ptero-state[data-state=running]")
    assert page.inner_text("#ptero-state") == "Running"
    screenshot("journey-3-running")
    assert page.js_errors == [], page.js_errors

    # --- a month later: the lifecycle task (another process) suspends, the worker emails ---
    first_expiry = service_expiry(stack, service_id)
    clock.write_file(stack.clock_file, offset=timedelta(days=31))
    monkeypatch.setenv(clock.FILE_ENV, str(stack.clock_file))  # this process's clock too
    # The scheduler would run the task at the next minute boundary; forcing it saves the wait
    # (whichever process gets there first suspends: the store's sweep claims each server once).
    result = pteroca(stack.env["b"], "cron", "run", "--task", "store.lifecycle", "--force")
    assert result.returncode == 0 and "store.lifecycle: ok" in result.stdout, (
        result.stdout + result.stderr
    )
    assert service_state(stack, service_id) == "suspended"
    # the panel follows the desired state: the worker runs the reconciler's job
    wait_until(
        lambda: simulator_servers(stack)[0]["status"] == "suspended", 30, "suspended in the panel"
    )
    notice = email(stack, "Your server was suspended")
    assert "journey survival" in FakeSMTPServer.text(notice)
    # the console still open in the browser notices at its next poll (409 now)
    page.wait_for_selector("#ptero-state-message:has-text('This server is suspended')")
    page.goto(service_url.replace(a, b))
    assert page.inner_text(".server-state") == "Suspended"
    assert "period ended" in page.inner_text(".notice-suspended")
    screenshot("journey-4-suspended")

    # --- the email's link: 5.00 left, 15.00 short; top up on B, then renew -----------------
    page.goto(link_in(notice, "/renew"))
    assert "15.00 USD short" in page.inner_text(".renew-short")
    assert page.is_disabled("button[value=pay]")
    top_up(page, stack, b, "20.00")
    assert page.inner_text("[data-testid=balance]") == "25.00 USD"
    page.goto(f"{b}/servers/{service_id}/renew")
    page.click("button[value=pay]")
    page.wait_for_url(f"{b}/servers/{service_id}")
    assert "Renewed: the server now runs until" in page.inner_text("main")
    assert page.inner_text(".server-state") == "Active"
    assert page.locator(".notice-suspended").count() == 0
    screenshot("journey-5-renewed")
    wait_until(
        lambda: simulator_servers(stack)[0]["status"] is None, 30, "unsuspended in the panel too"
    )
    # B's clock read the file: the new period starts a month later, not at the old expiry
    renewed_until = service_expiry(stack, service_id)
    assert abs(renewed_until - (clock.now() + timedelta(days=30))) < timedelta(minutes=2)
    assert renewed_until - first_expiry > timedelta(days=30, hours=12)
    page.goto(f"{a}/wallet")
    assert page.inner_text("[data-testid=balance]") == "5.00 USD"
    assert email(stack, "Your server was renewed")
    # Chromium reports the console's polls answered 409 while suspended; nothing else
    assert [e for e in page.js_errors if "status of 409" not in e] == [], page.js_errors
    report = httpx.get(f"{b}/-/health", headers=HEALTH_HEADERS).json()
    assert report["status"] == "ok" and report["scheduler"]["age_seconds"] < 30
    assert report["jobs"]["workers"] == 1 and report["jobs"]["failed"] == 0
