"""The server Overview follows a server being created without a reload: its status card asks
again every few seconds (htmx) until the state settled, and the header badge follows."""

from __future__ import annotations

import re

from builtin_plugins.store.testing import buy
from kernel.extensions import db
from tests.store.test_views import login, shop, store_models  # noqa: F401 - the fixture


def _bought(shop, state):  # noqa: F811
    with shop.app_context():
        from builtin_plugins.store.catalog import product_by_slug
        from kernel.accounts.models import User

        service = buy(db.session.get(User, 1), product_by_slug("mc-small"), name="Fresh")
        service.state = state
        db.session.commit()
        return service.id


def test_a_server_being_created_polls_until_it_is_active(shop, recorder):  # noqa: F811
    service_id = _bought(shop, "provisioning")
    client = login(shop, "buyer@example.com")
    page = client.get(f"/servers/{service_id}").text
    card = re.search(r'<div class="card card-body h-100 server-status"[^>]*>', page).group(0)
    assert f'hx-get="/servers/{service_id}/status"' in card and 'hx-trigger="every 3s"' in card
    assert "htmx.min.js" in page and "server.js" in page
    assert '<span id="server-state-badge">' in page
    polled = client.get(f"/servers/{service_id}/status")
    assert polled.status_code == 200 and "<html" not in polled.text
    assert "Being created" in polled.text and "hx-trigger" in polled.text
    with shop.app_context():
        db.session.get(store_models().Service, service_id).state = "active"
        db.session.commit()
    settled = client.get(f"/servers/{service_id}/status").text
    assert "hx-trigger" not in settled  # the polling stops
    assert "Running" in settled
    assert 'id="server-state-badge" hx-swap-oob="true"' in settled and "Active" in settled
    assert '<div id="server-notices" hx-swap-oob="true">' in settled  # "being installed" goes


def test_the_status_card_is_only_the_owners(shop, recorder):  # noqa: F811
    from kernel.testing import make_customer

    service_id = _bought(shop, "active")
    with shop.app_context():
        make_customer("other@example.com")
    assert login(shop, "other@example.com").get(f"/servers/{service_id}/status").status_code == 404
    assert shop.test_client().get(f"/servers/{service_id}/status").status_code in (302, 401)


def test_an_address_gets_a_copy_button(shop, recorder):  # noqa: F811
    recorder.STATE["address"] = "play.example.com:25565"
    service_id = _bought(shop, "active")
    page = login(shop, "buyer@example.com").get(f"/servers/{service_id}").text
    assert f'<code id="server-address-{service_id}">play.example.com:25565</code>' in page
    assert f'data-copy="server-address-{service_id}"' in page
