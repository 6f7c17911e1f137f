"""The wallet's balance history names the server a purchase, renewal or refund was for."""

from __future__ import annotations

import re

from builtin_plugins.store.testing import buy
from kernel.extensions import db
from tests.store.test_views import login, shop  # noqa: F401 - the fixture


def test_history_lines_name_the_server(shop):  # noqa: F811
    with shop.app_context():
        from builtin_plugins.store import services
        from builtin_plugins.store.catalog import product_by_slug
        from kernel.accounts.models import User

        service = buy(db.session.get(User, 1), product_by_slug("mc-small"), name="Survival")
        services.renew(service)
    page = login(shop, "buyer@example.com").get("/wallet").text
    history = page.split("Balance history", 1)[1]
    texts = [
        re.sub(r"\s+", " ", t).strip() for t in re.findall(r"</time> · ([^<]+)</span>", history)
    ]
    assert texts[:2] == ["Renewal: Survival", "Server bought: Survival"]
    assert "Adjustment" in texts[-1]  # the seed money, in words too
    assert "· purchase<" not in history and "· renewal<" not in history


def test_describe_reads_every_kind():
    from kernel.payments.history import describe
    from kernel.payments.models import LedgerEntry

    assert describe(LedgerEntry(kind="topup", amount=1000, meta={})) == "Top-up"
    assert (
        describe(LedgerEntry(kind="refund", amount=1000, meta={"server": "Box"})) == "Refund: Box"
    )
    assert (
        describe(LedgerEntry(kind="adjustment", amount=5, meta={"reason": "goodwill"}))
        == "Adjustment: goodwill"
    )
    assert describe(LedgerEntry(kind="plugin_bonus", amount=5, meta=None)) == "Plugin bonus"
