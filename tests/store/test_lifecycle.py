"""The whole server lifecycle with a recording provisioner and a frozen clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from builtin_plugins.store import services, sweep
from builtin_plugins.store.services import StoreError
from builtin_plugins.store.testing import buy
from kernel import clock
from kernel.extensions import db
from kernel.payments import ledger
from kernel.testing import make_customer
from tests.helpers import write_plugin  # noqa: F401
from tests.store.conftest import START, mails, recorder_product

DAY = timedelta(days=1)


def reload(obj):
    """A fresh copy: the sweep releases the rows it processed from the session."""
    return db.session.get(type(obj), obj.id)


def settings(**values):
    import os

    for key, value in values.items():
        os.environ[f"PTEROCA_PLUGIN_STORE_{key.upper()}"] = str(value)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for key in ("DELETE_AFTER_DAYS", "SWEEP_BATCH", "DELETION_WARNING_DAYS"):
        monkeypatch.delenv(f"PTEROCA_PLUGIN_STORE_{key}", raising=False)
    yield


def test_buy_renew_early_stacks(store_app, ctx, recorder):
    user = make_customer(balance=5000)
    product = recorder_product(price=1000)
    service = buy(user, product)
    assert service.state == "active" and service.external_id == f"rec-{service.id}"
    assert service.expires_at == START + 30 * DAY
    assert ledger.balance(user.id) == 4000
    clock.advance(10 * DAY)
    services.renew(service)
    assert service.expires_at == START + 60 * DAY  # max(now, expiry) + period
    assert ledger.balance(user.id) == 3000 == ledger.ledger_sum(user.id)
    assert 'your server "My server" (Mc Small) is ready' in mails(store_app)


def test_auto_renew_then_out_of_balance_suspends_with_email_then_top_up_renews(
    store_app, ctx, recorder
):
    user = make_customer(balance=2000)
    service = buy(user, recorder_product(price=1000), auto_renew=True)
    clock.advance(30 * DAY)
    result = sweep.run_lifecycle()
    assert result.renewed == [service.id] and ledger.balance(user.id) == 0
    clock.advance(30 * DAY)
    result = sweep.run_lifecycle()
    assert result.suspended == [service.id]
    service = reload(service)
    assert service.state == "suspended" and service.suspension == "auto"
    assert ("suspend", service.id) in recorder.CALLS
    assert "was suspended because its period ended" in mails(store_app)
    ledger.credit(user.id, 1000, "topup", "topup-1")
    services.renew(service)
    assert service.state == "active" and ("unsuspend", service.id) in recorder.CALLS
    assert service.expires_at == clock.now() + 30 * DAY


def test_manual_suspension_survives_a_payment(store_app, ctx, recorder):
    user = make_customer(balance=3000)
    service = buy(user, recorder_product())
    services.suspend(service, manual=True, reason="abuse report")
    services.renew(service)
    assert service.state == "suspended" and service.suspension == "manual"
    services.unsuspend(service, manual=True)
    assert service.state == "active"


def test_deleted_after_n_days(store_app, ctx, recorder):
    settings(delete_after_days=3)
    user = make_customer(balance=1000)
    service = buy(user, recorder_product())
    clock.advance(30 * DAY)
    sweep.run_lifecycle()
    clock.advance(2 * DAY)
    assert sweep.run_cleanup().deleted == []
    assert "will be deleted on" in mails(store_app)
    clock.advance(DAY + timedelta(minutes=1))
    assert sweep.run_cleanup().deleted == [service.id]
    service = reload(service)
    assert service.state == "terminated" and ("terminate", service.id) in recorder.CALLS
    assert "was deleted" in mails(store_app)


def test_zero_days_deletes_at_expiry(store_app, ctx, recorder):
    settings(delete_after_days=0)
    user = make_customer(balance=1000)
    service = buy(user, recorder_product())
    clock.advance(30 * DAY)
    assert sweep.run_lifecycle().deleted == [service.id]


def test_on_demand_charged_only_while_running(store_app, ctx, recorder):
    user = make_customer(balance=500)
    service = buy(
        user, recorder_product(price=100, kind="on_demand", period_unit="hours", period_count=1)
    )
    assert ledger.balance(user.id) == 400
    recorder.STATE["running"] = False
    clock.advance(timedelta(hours=1))
    assert sweep.run_lifecycle().skipped == [service.id]
    assert ledger.balance(user.id) == 400
    recorder.STATE["running"] = True
    clock.advance(timedelta(hours=1))
    assert sweep.run_lifecycle().renewed == [service.id]
    assert ledger.balance(user.id) == 300


def test_upgrade_with_proration_and_refused_downgrade(store_app, ctx, recorder):
    user = make_customer(balance=10_000)
    small, big = recorder_product("small", price=1000), recorder_product("big", price=3000)
    service = buy(user, small)
    clock.advance(15 * DAY)  # half the period left: pay half the difference
    services.change_package(service, big)
    assert service.product_id == big.id and service.price == 3000
    assert ledger.balance(user.id) == 10_000 - 1000 - 1000
    recorder.STATE["refuse_package"] = "disk usage 9 GB exceeds the new 5 GB"
    with pytest.raises(StoreError, match="disk usage 9 GB exceeds"):
        services.change_package(service, small)
    assert service.product_id == big.id and ledger.balance(user.id) == 8000


def test_provisioning_failure_refunds_and_admin_retry_succeeds(store_app, ctx, recorder):
    user = make_customer(balance=1500)
    recorder.STATE["fail_create"] = 1
    service = buy(user, recorder_product())
    assert service.state == "provisioning_failed" and service.last_error == "node full"
    assert ledger.balance(user.id) == 1500
    service = services.retry_provisioning(service)
    assert service.state == "active" and ledger.balance(user.id) == 500
    assert ledger.invariant_violations() == []


def test_insufficient_balance_buys_nothing(store_app, ctx, recorder):
    user = make_customer(balance=999)
    with pytest.raises(StoreError, match="balance is too low"):
        buy(user, recorder_product(price=1000))
    assert recorder.CALLS == [] and ledger.balance(user.id) == 999


def test_double_submitted_checkout_buys_once(store_app, ctx, recorder):
    user = make_customer(balance=5000)
    product = recorder_product()
    token = services.new_purchase_token(user)
    first = buy(user, product, token=token)
    second = buy(user, product, token=token)
    assert first.id == second.id and ledger.balance(user.id) == 4000


def test_lifecycle_sweep_twice_processes_each_server_once(store_app, ctx, recorder):
    user = make_customer(balance=3000)
    product = recorder_product()
    ids = [buy(user, product, name=f"s{i}").id for i in range(3)]
    clock.advance(31 * DAY)
    first, second = sweep.run_lifecycle(), sweep.run_lifecycle()
    assert sorted(first.suspended) == ids and second.processed == 0
    assert [c for c in recorder.CALLS if c[0] == "suspend"] == [("suspend", i) for i in ids]


def test_once_per_user_voucher_is_refused_the_second_time(store_app, ctx, recorder):
    from builtin_plugins.store.models import Voucher

    db.session.add(
        Voucher(
            code="HALF",
            kind="purchase_discount",
            value=50,
            once_per_user=True,
            min_amount=0,
            active=True,
            uses=0,
        )
    )
    db.session.commit()
    user = make_customer(balance=5000)
    product = recorder_product(price=1000)
    buy(user, product, voucher="half")
    assert ledger.balance(user.id) == 4500
    with pytest.raises(StoreError, match="already used the code"):
        buy(user, product, voucher="HALF")
    assert ledger.balance(user.id) == 4500


def test_sweep_batches_share_an_expiry_and_one_email_job_per_batch(
    store_app, ctx, recorder, monkeypatch
):
    """Servers expiring at the same instant straddle batch boundaries (keyset on expiry, id);
    each is suspended, audited and emailed exactly once, with one email job per batch, written
    in the batch's own transaction."""
    from sqlalchemy import func, select

    from builtin_plugins.store import notify
    from kernel.models import AuditLog

    settings(sweep_batch=2)
    user = make_customer(balance=5000)
    product = recorder_product(price=1000)
    ids = [buy(user, product, name=f"s{i}").id for i in range(5)]  # same frozen instant
    queued = []
    real = notify.outbox_add
    monkeypatch.setattr(
        notify, "outbox_add", lambda job, *a, **k: (queued.append((job, a)), real(job, *a, **k))[1]
    )
    before = mails(store_app).count("was suspended because its period ended")
    clock.advance(31 * DAY)
    result = sweep.run_lifecycle()
    assert sorted(result.suspended) == ids
    emails = [a for job, a in queued if job is notify.send]
    assert [(event, batch, context) for event, batch, context, _token in emails] == [
        ("server_suspended", ids[0:2], {}),
        ("server_suspended", ids[2:4], {}),
        ("server_suspended", ids[4:5], {}),
    ]
    assert len({token for *_rest, token in emails}) == 3  # one intent per batch
    assert mails(store_app).count("was suspended because its period ended") == before + 5
    audited = db.session.scalars(
        select(AuditLog.target).where(AuditLog.action == "store.suspended")
    ).all()
    assert sorted(audited) == sorted(f"service:{i}" for i in ids)
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "store.suspended")
        )
        == 5
    )


def test_a_failing_panel_suspend_keeps_the_local_suspension_and_is_retried(
    store_app, ctx, recorder
):
    from builtin_plugins.store import reconciler
    from builtin_plugins.store.models import Service, SyncAttempt

    user = make_customer(balance=2000)
    product = recorder_product(price=1000)
    first, second = (buy(user, product, name=n) for n in ("a", "b"))
    original = recorder.Recorder.suspend

    def suspend(self, service):
        if service.id == first.id:
            raise RuntimeError("panel unreachable")
        return original(self, service)

    recorder.Recorder.suspend = suspend
    try:
        clock.advance(31 * DAY)
        result = sweep.run_lifecycle()
        assert sorted(result.suspended) == [first.id, second.id]
        failed = reload(first)
        assert failed.state == "suspended" and failed.desired_state == "suspended"
        assert failed.sync_status == "pending" and failed.sync_attempts == 1
        assert "panel unreachable" in failed.sync_error and failed.panel_state == "active"
        assert failed.sync_next_at > clock.now() + timedelta(seconds=reconciler.BACKOFF[0] - 5)
        ok = reload(second)
        assert (ok.sync_status, ok.panel_state, ok.sync_error) == ("ok", "suspended", "")
        assert reconciler.run_due(grace=0) == {}  # not due before its backoff
    finally:
        recorder.Recorder.suspend = original
    # the panel is back; the backoff passes; the cron task (or the delayed job) tries again
    db.session.execute(db.update(Service).values(sync_next_at=clock.now()))
    db.session.commit()
    assert reconciler.run_due(grace=0)["ok"] == 1
    fixed = reload(first)
    assert (fixed.sync_status, fixed.panel_state, fixed.sync_attempts) == ("ok", "suspended", 0)
    assert [c for c in recorder.CALLS if c == ("suspend", first.id)] == [("suspend", first.id)]
    outcomes = db.session.scalars(
        db.select(SyncAttempt.outcome)
        .where(SyncAttempt.service_id == first.id)
        .order_by(SyncAttempt.id)
    ).all()
    assert outcomes[-2:] == ["failed", "ok"]


def test_email_jobs_carry_plain_arguments(store_app, ctx, recorder):
    """Dates travel as text so a worker in another process can take the job."""
    from builtin_plugins.store import notify

    when = START + 3 * DAY
    assert notify._revive(notify._plain({"delete_at": when})["delete_at"]) == when
    with pytest.raises(ValueError, match="unknown store email"):
        notify.customers([1], "nonsense")


def test_checkout_choices_a_provisioner_refuses_are_refused_before_any_charge(
    store_app, ctx, recorder
):
    recorder.Recorder.validate_options = lambda self, product, options, plan=None, slots=1: (
        [f"The Max players variable must be between 1 and 100 (got {options['players']})."]
        if int(options.get("players", 1)) > 100
        else []
    )
    try:
        user = make_customer(balance=5000)
        product = recorder_product(price=1000)
        token = services.new_purchase_token(user)
        with pytest.raises(StoreError, match="must be between 1 and 100"):
            services.purchase(
                user,
                token=token,
                product_id=product.id,
                plan_id=product.plans[0].id,
                name="big",
                options={"players": "500"},
            )
        assert ledger.balance(user.id) == 5000 and not [
            c for c in recorder.CALLS if c[0] == "create"
        ]
        bought = services.purchase(
            user,
            token=token,
            product_id=product.id,
            plan_id=product.plans[0].id,
            name="ok",
            options={"players": "20"},
        )
        assert bought.state == "active" and ledger.balance(user.id) == 4000
    finally:
        del recorder.Recorder.validate_options
