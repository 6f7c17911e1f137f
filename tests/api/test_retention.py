"""Pruning of the API's growing tables: Idempotency-Keys past their replay window, and
outgoing webhook deliveries past their retention setting (never one still waiting)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.api.conftest import bearer
from tests.api.test_store_api import _buy, _counts
from tests.api.test_webhooks import _register


def _keys(app):
    from kernel.extensions import db
    from kernel.rest.models import IdempotencyKey

    with app.app_context():
        found = sorted(db.session.scalars(select(IdempotencyKey.key)))
        db.session.remove()
    return found


def _age_keys(app, days: int, *keys: str) -> None:
    from kernel.clock import now
    from kernel.extensions import db
    from kernel.rest.models import IdempotencyKey

    with app.app_context():
        for row in db.session.scalars(select(IdempotencyKey).where(IdempotencyKey.key.in_(keys))):
            row.created_at = now() - timedelta(days=days)
        db.session.commit()
        db.session.remove()


def test_keys_past_the_replay_window_go_and_recent_ones_stay(
    app, client, store, make_user, make_token, fund
):
    from kernel.rest import idempotency

    user = make_user()
    fund(user, 5000)
    secret = make_token(user, ["write:servers"])
    for key in ("old-1", "old-2", "edge", "new"):
        assert _buy(client, secret, store, key, name=key).status_code == 201
    window = idempotency.REPLAY_WINDOW.days
    _age_keys(app, window + 1, "old-1", "old-2")
    _age_keys(app, window - 1, "edge")
    with app.app_context():
        assert idempotency.prune(batch=1) == 2
        assert idempotency.prune() == 0  # a second run finds nothing
    assert _keys(app) == ["edge", "new"]
    # a kept key still refuses another body
    refused = _buy(client, secret, store, "edge", name="other")
    assert refused.status_code == 422 and refused.json["type"] == "idempotency_key_reused"
    # a forgotten key retried with the same body still lands on the same server: no second buy
    again = _buy(client, secret, store, "old-1", name="old-1")
    assert again.status_code == 201
    assert _counts(app, user.id) == (4, 4)


def test_the_cron_registers_both_pruning_tasks(app):
    from kernel.cron import registered_tasks
    from kernel.rest import idempotency
    from kernel.webhooks import services

    with app.app_context():
        tasks = registered_tasks()
    assert tasks["kernel.prune_idempotency_keys"].func is idempotency.prune
    assert tasks["kernel.prune_webhook_deliveries"].func is services.prune


@pytest.fixture
def admin_token(make_user, make_token):
    return make_token(make_user(role="admin"), ["admin:webhooks"])


def _deliveries(app, endpoint_id: int, ages: dict[str, tuple[int, str]]) -> dict[str, int]:
    """Deliveries named by their event id, ``{name: (age in days, status)}``: their ids."""
    from kernel.clock import now
    from kernel.extensions import db
    from kernel.webhooks.models import WebhookDelivery

    ids = {}
    with app.app_context():
        for name, (days, status) in ages.items():
            row = WebhookDelivery(
                endpoint_id=endpoint_id,
                event="user.created",
                event_id=name,
                body=f'{{"id": "{name}"}}',
                status=status,
                attempts=1,
                response_body="",
                error="",
                created_at=now() - timedelta(days=days, minutes=1),
            )
            db.session.add(row)
            db.session.flush()
            ids[name] = row.id
        db.session.commit()
        db.session.remove()
    return ids


def _left(app) -> list[str]:
    from kernel.extensions import db
    from kernel.webhooks.models import WebhookDelivery

    with app.app_context():
        found = sorted(db.session.scalars(select(WebhookDelivery.event_id)))
        db.session.remove()
    return found


def test_old_deliveries_go_recent_and_waiting_ones_stay_and_a_kept_one_replays(
    app, client, admin_token
):
    from kernel.webhooks import services

    endpoint = _register(client, admin_token, "http://127.0.0.1:9/hook").json
    ids = _deliveries(
        app,
        endpoint["id"],
        {
            "old-delivered": (31, "delivered"),
            "old-failed": (400, "failed"),
            "old-pending": (90, "pending"),
            "old-retrying": (31, "retrying"),
            "recent-failed": (29, "failed"),
        },
    )
    with app.app_context():
        assert services.prune(batch=1) == 2
        assert services.prune() == 0
    assert _left(app) == ["old-pending", "old-retrying", "recent-failed"]
    listed = client.get("/api/v1/admin/webhooks/deliveries", headers=bearer(admin_token)).json
    assert sorted(d["id"] for d in listed) == sorted(
        ids[name] for name in ("old-pending", "old-retrying", "recent-failed")
    )
    replayed = client.post(
        f"/api/v1/admin/webhooks/deliveries/{ids['recent-failed']}/replay",
        headers=bearer(admin_token),
    )
    # the receiver is a closed port: the replay is tried, its failure recorded, not a 404
    assert replayed.status_code == 200, replayed.json
    assert replayed.json["id"] == ids["recent-failed"] and replayed.json["status"] == "retrying"
    gone = client.post(
        f"/api/v1/admin/webhooks/deliveries/{ids['old-failed']}/replay",
        headers=bearer(admin_token),
    )
    assert gone.status_code == 404 and gone.json["type"] == "not_found"


def test_the_retention_setting_bounds_deliveries_and_zero_keeps_them(app, client, admin_token):
    from kernel import site_settings
    from kernel.setting_types import SettingError
    from kernel.webhooks import services

    endpoint = _register(client, admin_token, "http://127.0.0.1:9/hook").json
    _deliveries(app, endpoint["id"], {"a": (1000, "delivered"), "b": (5, "failed")})
    with app.app_context():
        site_settings.set_many({"webhook_delivery_retention_days": 0})
        assert services.prune() == 0
        with pytest.raises(SettingError, match="cannot be negative"):
            site_settings.set_many({"webhook_delivery_retention_days": -1})
        site_settings.set_many({"webhook_delivery_retention_days": 3})
        assert services.prune() == 2
    assert _left(app) == []
