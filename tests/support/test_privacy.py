"""The plugin's privacy hooks on their own: what a customer's export holds, what their erasure
deletes (rows and files), and what erasing a staff member changes in other people's tickets."""

from __future__ import annotations

import pytest

from kernel.accounts.models import User
from kernel.extensions import db
from tests.support.conftest import PDF, PNG, models, open_ticket, post_files, ticket_id_of
from tests.support.test_attachments import stored_files


def _erase(world, who: str) -> None:
    from builtin_plugins.support import privacy

    with world.app.app_context():
        user = db.session.get(User, world.ids[who])
        privacy.erase(user)
        privacy.erase(user)  # a retry (or the kernel's catch-up) finds nothing more to do


def _export(world, who: str) -> dict:
    from builtin_plugins.support import privacy

    with world.app.app_context():
        return privacy.export(db.session.get(User, world.ids[who]))


@pytest.fixture
def threads(world):
    """A ticket each for the customer and the other; the agent answers both, with notes and
    files, and blocks the other customer."""
    customer, other, agent = (
        world.client_as("customer"),
        world.client_as("other"),
        world.client_as("agent"),
    )
    mine = ticket_id_of(
        open_ticket(customer, subject="Mine", body="secret-of-customer", files=[("mine.png", PNG)])
    )
    theirs = ticket_id_of(
        open_ticket(other, subject="Theirs", body="secret-of-other", files=[("theirs.pdf", PDF)])
    )
    for tid in (mine, theirs):
        assert (
            post_files(
                agent,
                f"/admin/support/tickets/{tid}/reply",
                "Fixed. AGNES AGENT (agent@example.com)",
                files=[("fix.txt", b"done\n")],
            ).status_code
            == 303
        )
        assert (
            agent.post(
                f"/admin/support/tickets/{tid}/note",
                data={"body": "Agnes Agent thinks it is the node"},
            ).status_code
            == 303
        )
    assert (
        agent.post(f"/admin/support/tickets/{theirs}/block", data={"reason": "abusive"}).status_code
        == 303
    )
    return {"mine": mine, "theirs": theirs}


def test_the_export_holds_my_tickets_notes_included_and_nobody_elses(world, threads):
    data = _export(world, "customer")
    [ticket] = data["tickets"]
    assert ticket["id"] == threads["mine"] and ticket["subject"] == "Mine"
    kinds = [(m["author"], m["kind"], m["internal"]) for m in ticket["messages"]]
    assert kinds == [("you", "reply", False), ("staff", "reply", False), ("staff", "note", True)]
    assert [f["name"] for m in ticket["messages"] for f in m["files"]] == ["mine.png", "fix.txt"]
    assert data["blocked"] is None and "staff_activity" not in data
    assert "secret-of-other" not in repr(data) and "agent@example.com" not in repr(
        {k: v for k, v in data.items() if k != "tickets"}
    )
    blocked = _export(world, "other")["blocked"]
    assert blocked["reason"] == "abusive" and blocked["by"] == "staff"
    activity = _export(world, "agent")["staff_activity"]
    assert {m["ticket"] for m in activity["messages_written"]} == set(threads.values())
    assert "secret-of" not in repr(activity) and "Mine" not in repr(activity)


def test_erasing_a_customer_deletes_their_tickets_and_files_only(world, threads):
    files_before = set(stored_files(world))
    assert len(files_before) == 4
    _erase(world, "customer")
    m = models()
    with world.app.app_context():
        left = {t.id for t in db.session.scalars(db.select(m.Ticket))}
        assert left == {threads["theirs"]}
        for model in (m.Message, m.Attachment, m.ReadMark):
            assert not db.session.scalars(
                db.select(model).where(model.ticket_id == threads["mine"])
            ).all()
        kept = db.session.scalars(db.select(m.Attachment.filename)).all()
    assert sorted(kept) == ["fix.txt", "theirs.pdf"]
    assert len(set(stored_files(world))) == 2  # the customer's own and the reply's files: gone
    page = world.client_as("other").get(f"/support/{threads['theirs']}")
    assert page.status_code == 200 and "secret-of-other" in page.text


def test_erasing_a_staff_member_keeps_their_answers_without_them(world, threads):
    _erase(world, "agent")
    m = models()
    with world.app.app_context():
        bodies = db.session.scalars(
            db.select(m.Message.body).where(m.Message.author_id == world.ids["agent"])
        ).all()
        assert len(bodies) == 4  # two replies, two notes: every answer stays
        assert not any("agnes" in b.lower() or "agent@example.com" in b for b in bodies)
        assert "Fixed. Support (Support)" in bodies
        assert "Support thinks it is the node" in bodies
        assert db.session.scalars(db.select(m.Ticket.assignee_id)).all() == [None, None]
        block = db.session.get(m.Block, world.ids["other"])
        assert (block.reason, block.blocked_by) == ("abusive", "(erased)")
    assert len(stored_files(world)) == 4  # their files in the threads stay with them


def test_a_file_that_cannot_be_deleted_stops_the_erasure_before_any_row_goes(world, threads):
    from builtin_plugins.support.attachments import StorageUnavailable

    [mine] = [p for p in stored_files(world) if p.read_bytes() == PNG]
    mine.unlink()
    mine.mkdir()  # unlink() refuses a folder, also for root
    with pytest.raises(StorageUnavailable, match="cannot delete"):
        _erase(world, "customer")
    with world.app.app_context():
        assert db.session.get(models().Ticket, threads["mine"]) is not None
