"""The Pelican reconcile resumes where it stopped, through the panel kit's resume.py like the
Pterodactyl one: an interrupted run goes on at the next page, what it finds is still right, a
forged cursor is discarded, and the command says when it resumes."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest

from builtin_plugins.panel_kit.api import errors
from builtin_plugins.pelican import links
from builtin_plugins.pelican import reconcile as module
from builtin_plugins.pelican.models import RunCursor
from builtin_plugins.store.testing import buy
from kernel.extensions import db
from kernel.models import AuditLog
from kernel.testing import run_cli
from tests.pelican_plugin.conftest import customer, paper_settings, pelican_product

PAGE = 4
FLEET = 10  # three listing pages: 4, 4, 2


@pytest.fixture
def fleet(ctx, panel, sim, monkeypatch) -> list[int]:
    monkeypatch.setattr(module, "PAGE", PAGE)
    product = pelican_product(paper_settings(panel))
    user = customer(balance=500_000)
    return [buy(user, product, name=f"s{n}").id for n in range(FLEET)]


def server_of(service_id: int) -> int:
    return links.server_link(service_id).server_id


def listing_pages(sim) -> list[int]:
    return [
        int(parse_qs(r["query"]).get("page", ["1"])[0])
        for r in sim.requests
        if r["method"] == "GET" and r["path"] == "/api/application/servers"
    ]


def interrupted(monkeypatch, sim, page: int) -> None:
    """One run that fails at listing page ``page`` (the panel answers 503 past the retries)."""
    from builtin_plugins.pelican.client import ApplicationAPI

    real = ApplicationAPI.servers_page

    def servers_page(self, number, **kwargs):
        if number >= page:
            sim.set_switches(
                fail_next=[{"count": 50, "status": 503, "path": "/api/application/servers"}]
            )
        return real(self, number, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(ApplicationAPI, "servers_page", servers_page)
        with pytest.raises(errors.PanelError):
            module.reconcile()
    db.session.rollback()
    sim.set_switches(fail_next=[])
    sim.clear_requests()


def cursor() -> dict | None:
    db.session.expire_all()
    row = db.session.scalars(db.select(RunCursor)).first()
    return json.loads(row.state) if row else None


def test_an_interrupted_run_goes_on_and_still_finds_what_changed(fleet, sim, panel, monkeypatch):
    interrupted(monkeypatch, sim, 3)
    assert cursor()["pages"] == 2 and cursor()["after"] == server_of(fleet[7])
    panel.app.delete_server(server_of(fleet[9]))  # still to come: found
    panel.app.suspend_server(server_of(fleet[8]))  # still to come: put back
    from builtin_plugins.store.models import Service

    owner = links.user_link(db.session.get(Service, fleet[0]).user_id)
    orphan = sim.seed_servers([owner.panel_user_id], names=["stray"], external_ids=["pteroca-999"])
    report = module.reconcile()
    assert listing_pages(sim) == [2, 3]  # the last page done again, then the rest
    assert report.resumed == f"resuming after panel server {server_of(fleet[7])}, 2 pages done"
    assert report.checked == 2
    # the services of the pages done before the pause are not "deleted in the panel"
    assert report.findings == {fleet[9]: "deleted in the panel"}
    assert report.repaired == {fleet[8]: "repaired: unsuspended"}
    assert report.orphans == orphan
    assert cursor() is None
    sim.clear_requests()
    assert module.reconcile().checked == FLEET and listing_pages(sim) == [1, 2, 3]


def test_a_forged_cursor_is_discarded_not_a_crash(fleet, sim):
    from builtin_plugins.panel_kit.api import resume
    from builtin_plugins.pelican.panel import load_settings

    scope = resume.scope_of("reconcile", load_settings().url)
    db.session.add(RunCursor(scope=scope, state='{"run": "x", "after": -1, "pages": 2}'))
    db.session.commit()
    report = module.reconcile()
    assert report.checked == FLEET and listing_pages(sim) == [1, 2, 3]
    assert cursor() is None
    assert db.session.scalars(db.select(AuditLog.action).where(AuditLog.target == scope)).all() == [
        "pelican.reconcile.cursor_discarded"
    ]


def test_the_command_says_it_resumes_and_restart_starts_over(fleet, sim, monkeypatch, ctx):
    interrupted(monkeypatch, sim, 3)
    after = server_of(fleet[7])
    db.session.commit()  # the command's app reads the database beside this session
    result = run_cli(ctx, "pelican", "reconcile")
    assert result.exit_code == 0, result.output
    assert f"resuming after panel server {after}, 2 pages done" in result.output
    assert "checked 2 server(s)" in result.output
    interrupted(monkeypatch, sim, 2)
    db.session.commit()
    result = run_cli(ctx, "pelican", "reconcile", "--restart")
    assert result.exit_code == 0, result.output
    assert "resuming" not in result.output and f"checked {FLEET} server(s)" in result.output
    assert listing_pages(sim) == [1, 2, 3]
