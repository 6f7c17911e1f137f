"""The plugin's privacy hooks: per account it keeps dismissals and email deliveries (exported,
then deleted by an erasure), and the address of staff who wrote an announcement."""

from __future__ import annotations

from builtin_plugins.announcements.models import (
    Announcement,
    AnnouncementDelivery,
    AnnouncementDismissal,
)
from kernel.accounts.models import User
from kernel.extensions import db


def _call(panel, hook: str, who: str):
    from builtin_plugins.announcements import privacy

    with panel.app.app_context():
        user = db.session.get(User, panel.ids[who])
        return privacy.export(user) if hook == "export" else privacy.erase(user)


def _rows(panel, model) -> set[int]:
    with panel.app.app_context():
        return set(db.session.scalars(db.select(model.user_id)))


def test_export_and_erasure_of_dismissals_and_deliveries(panel):
    mailed = panel.announce(title="Mailed news", email="1")
    quiet = panel.announce(title="Quiet news")
    for who in ("alpha", "beta"):
        assert panel.client_as(who).post(f"/announcements/{quiet}/dismiss").status_code == 303

    data = _call(panel, "export", "alpha")
    assert [(r["announcement"], r["title"]) for r in data["dismissed"]] == [(quiet, "Quiet news")]
    assert [(r["announcement"], r["title"]) for r in data["emailed"]] == [(mailed, "Mailed news")]
    assert "written" not in data  # a customer wrote nothing
    assert {r["announcement"] for r in _call(panel, "export", "writer")["written"]} == {
        mailed,
        quiet,
    }

    _call(panel, "erase", "alpha")
    _call(panel, "erase", "alpha")  # again: nothing more, no error
    assert panel.ids["alpha"] not in _rows(panel, AnnouncementDismissal)
    assert panel.ids["alpha"] not in _rows(panel, AnnouncementDelivery)
    assert panel.ids["beta"] in _rows(panel, AnnouncementDismissal)  # the others' stay
    assert panel.ids["beta"] in _rows(panel, AnnouncementDelivery)
    assert _call(panel, "export", "alpha") == {"dismissed": [], "emailed": []}

    _call(panel, "erase", "writer")
    with panel.app.app_context():
        authors = {a.title: a.created_by for a in db.session.scalars(db.select(Announcement))}
    assert authors == {"Mailed news": "(erased)", "Quiet news": "(erased)"}
