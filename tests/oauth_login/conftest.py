"""oauth_login fixtures: the plugin enabled like an admin would (scanned against the fake OSV),
configured for the fake provider of ``simulators.oauth`` (the ``oauth_simulator`` fixture of
pteroca's pytest plugin), and a helper that walks a browser's round trip through it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from flask import current_app

from kernel.testing import build_app, login
from tests.fakes.osv_server import osv_server  # noqa: F401 - fixture
from tests.helpers import PASSWORD, make_user

PLUGIN = "oauth_login"


@pytest.fixture
def app(instance, plugins_dir, osv_server):  # noqa: F811 - the fixture above
    return build_app(instance, OSV_URL=osv_server.url, RATELIMIT_LOGIN="1000 per minute")


def configure(app, **values) -> None:
    from kernel.plugins.settings import set_settings

    with app.app_context():
        set_settings(current_app.extensions["pteroca"].discovered[PLUGIN].manifest, values)


def provider_settings(fake, *providers: str) -> dict[str, str]:
    """Settings that switch ``providers`` on, all pointing at the fake."""
    ident = {"client_id": fake.client_id, "client_secret": fake.client_secret}
    every = {
        "discord": {"discord_base_url": fake.discord_base},
        "github": {"github_base_url": fake.github_base, "github_api_url": fake.github_api},
        "google": {"google_issuer": fake.issuer},
        "oidc": {"oidc_issuer": fake.issuer, "oidc_name": "Keycloak"},
    }
    values: dict[str, str] = {}
    for name in providers or every:
        values.update(every[name])
        values.update({f"{name}_{k}": v for k, v in ident.items()})
    return values


@pytest.fixture
def oauth_app(app, cli, fresh, oauth_simulator):
    result = cli("plugin", "enable", PLUGIN)
    assert result.exit_code == 0, result.output
    app = fresh(app)
    configure(app, **provider_settings(oauth_simulator))
    return app


class Browser:
    """A test client plus the round trip through the fake provider a browser would make."""

    def __init__(self, app, fake):
        self.app, self.fake = app, fake
        self.client = app.test_client()

    def start(self, provider: str, purpose: str = "login", next_url: str = ""):
        return self.client.post(
            f"/oauth/{provider}/start", data={"purpose": purpose, "next": next_url}
        )

    def to_provider(self, provider: str, purpose: str = "login", next_url: str = "") -> str:
        """Start a flow; the provider's redirect back (the callback path with its query)."""
        started = self.start(provider, purpose, next_url)
        assert started.status_code == 302, started.text
        assert started.location.startswith(self.fake.url), started.location
        answer = httpx.get(started.location, follow_redirects=False)
        assert answer.status_code == 302, answer.text
        back = urlsplit(answer.headers["location"])
        return f"{back.path}?{back.query}"

    def roundtrip(self, provider: str, purpose: str = "login", next_url: str = ""):
        return self.client.get(self.to_provider(provider, purpose, next_url))

    def password_login(self, email: str, password: str = PASSWORD):
        return login(self.client, email, password)


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def browser(oauth_app, oauth_simulator):
    return Browser(oauth_app, oauth_simulator)


@pytest.fixture
def member(oauth_app):
    """An existing password account."""
    with oauth_app.app_context():
        return make_user("member@example.com", name="Mem Ber").id
