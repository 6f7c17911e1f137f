"""Every support route x every kind of visitor, generated from the app's URL map.

The owner's ticket carries a public file and an internal note with a file of its own. The
rules: anonymous visitors are sent to the login; a customer reaches only their own tickets
(anyone else's is a 404, as if it did not exist) and never an internal note or its file,
whatever the route; staff pages need ``support.tickets`` (categories ``support.manage``);
the reply link stands for the ticket's customer on that ticket only. Nothing answers 500,
and no response to anyone but staff contains a word of the internal note.
"""

from __future__ import annotations

import io
import re

import pytest

from kernel.extensions import db
from kernel.testing import build_app, rebuild, run_cli
from tests.support.conftest import PNG, models, populate

VISITORS = ("anonymous", "customer", "other", "plain_staff", "agent", "lead")
NOTE_TEXT, NOTE_FILE, NOTE_BYTES = "INTERNAL-NOTE-7731", "internal-secret.txt", b"NOTE-BYTES-4410"
SUBJECT, OTHER_SUBJECT = "OWNER-SUBJECT-2290", "OTHER-SUBJECT-5518"


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):

    instance = tmp_path_factory.mktemp("support-matrix") / "instance"
    app = build_app(instance, RATELIMIT_LOGIN="10000 per minute")
    result = run_cli(
        app, "plugin", "enable", "support", "--with-dependencies", "--yes", "--accept-risk"
    )
    assert result.exit_code == 0, result.output
    current = {"app": rebuild(app)}
    world = populate(lambda: current["app"])
    owner = world.client_as("customer")
    response = owner.post(
        "/support/new",
        content_type="multipart/form-data",
        data={
            "subject": SUBJECT,
            "body": "public words",
            "category": "1",
            "priority": "normal",
            "server": str(world.server_id),
            "files": [(io.BytesIO(PNG), "public.png")],
        },
    )
    ticket = int(response.headers["Location"].rsplit("/", 1)[-1])
    agent = world.client_as("agent")
    agent.post(
        f"/admin/support/tickets/{ticket}/note",
        content_type="multipart/form-data",
        data={"body": NOTE_TEXT, "files": [(io.BytesIO(NOTE_BYTES), NOTE_FILE)]},
    )
    agent.post(f"/admin/support/tickets/{ticket}/reply", data={"body": "staff answer"})
    world.client_as("other").post(
        "/support/new",
        data={"subject": OTHER_SUBJECT, "body": "theirs", "category": "1", "priority": "normal"},
    )
    with current["app"].app_context():
        from builtin_plugins.support import links

        files = {a.filename: a.id for a in db.session.scalars(db.select(models().Attachment))}
        token = links.reply_token(db.session.get(models().Ticket, ticket))
    clients = {"anonymous": current["app"].test_client()}
    clients.update({who: world.client_as(who) for who in VISITORS[1:]})
    return {
        "app": current["app"],
        "world": world,
        "ticket": ticket,
        "token": token,
        "public_file": files["public.png"],
        "note_file": files[NOTE_FILE],
        "clients": clients,
    }


def support_rules(app):
    return sorted(
        (r for r in app.url_map.iter_rules() if r.endpoint.startswith("support")),
        key=lambda r: r.rule,
    )


def urls_for(rule, m) -> list[tuple[str, str]]:
    """(variant, url) for a rule: a file route once with the public file and once with the
    internal note's file."""
    variants = ["note_file", "public_file"] if "attachment_id" in rule.arguments else ["plain"]
    out = []
    for variant in variants:
        values = {
            "ticket_id": m["ticket"],
            "token": m["token"],
            "export_type": "csv",
            "user_id": m["world"].ids["customer"],
            "attachment_id": m.get(variant) if variant != "plain" else None,
        }
        url = rule.rule
        for name in re.findall(r"<(?:\w+:)?(\w+)>", rule.rule):
            url = re.sub(r"<(?:\w+:)?" + name + ">", str(values[name]), url)
        out.append((variant, url))
    return out


def expected(endpoint: str, variant: str, visitor: str) -> str:
    """``login``, ``forbidden``, ``hidden`` (404) or ``allowed`` (anything else below 500)."""
    if endpoint in ("support.link", "support.link_file"):  # the token is the customer
        return "hidden" if variant == "note_file" else "allowed"
    if endpoint.startswith("support."):
        if visitor == "anonymous":
            return "login"
        if endpoint in ("support.index", "support.new"):
            return "allowed"
        if visitor != "customer" or variant == "note_file":
            return "hidden"
        return "allowed"
    needs = "support.manage" if endpoint.startswith("support_categories.") else "support.tickets"
    if visitor == "anonymous":
        return "login"
    grants = {"agent": {"support.tickets"}, "lead": {"support.tickets", "support.manage"}}
    return "allowed" if needs in grants.get(visitor, set()) else "forbidden"


def outcome(response) -> str:
    if response.status_code in (301, 302, 303) and "/login" in response.headers.get("Location", ""):
        return "login"
    if response.status_code == 403 and "do not have permission" in response.get_data(as_text=True):
        return "forbidden"
    if response.status_code == 404:
        return "hidden"
    return "allowed"


def test_every_route_for_every_visitor(matrix):
    failures = []
    cells = 0
    for rule in support_rules(matrix["app"]):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for variant, url in urls_for(rule, matrix):
                for visitor in VISITORS:
                    cells += 1
                    problem = check_cell(matrix, rule.endpoint, variant, visitor, method, url)
                    if problem:
                        failures.append(f"{visitor:12} {method:4} {url}: {problem}")
    assert cells > 250  # every route, method, file variant and visitor was tried
    assert failures == []


def check_cell(m, endpoint: str, variant: str, visitor: str, method: str, url: str) -> str:
    response = m["clients"][visitor].open(url, method=method, data={})
    raw = response.get_data()
    if response.status_code >= 500:
        return f"{response.status_code}: {raw[:300]!r}"
    got, want = outcome(response), expected(endpoint, variant, visitor)
    if want == "allowed" and endpoint.endswith((".ajax_lookup", ".ajax_update")):
        want = "hidden"  # Flask-Admin answers 404: these views have no ajax fields
    if got != want:
        return f"{got} ({response.status_code}), expected {want}"
    if visitor not in ("agent", "lead") and any(
        secret in raw for secret in (NOTE_TEXT.encode(), NOTE_BYTES, NOTE_FILE.encode())
    ):
        return "shows the internal note"
    if (
        visitor in ("other", "plain_staff", "anonymous")
        and SUBJECT.encode() in raw
        and endpoint not in ("support.link", "support.link_file")
    ):  # the link stands for
        return "shows the owner's ticket"  # the customer: whoever holds it sees their ticket
    return ""


def test_every_support_route_is_in_the_matrix(matrix):
    """A new route cannot slip in without an expectation: each endpoint is known here."""
    known = {
        "support.index",
        "support.new",
        "support.show",
        "support.reply",
        "support.close",
        "support.reopen",
        "support.file",
        "support.link",
        "support.link_file",
    }
    for rule in support_rules(matrix["app"]):
        assert rule.endpoint in known or rule.endpoint.split(".")[0] in (
            "support_tickets",
            "support_blocks",
            "support_saved_replies",
            "support_categories",
        ), rule.endpoint


def test_customers_lists_hold_only_their_own_tickets(matrix):
    owner, other = matrix["clients"]["customer"], matrix["clients"]["other"]
    mine, theirs = owner.get("/support/").text, other.get("/support/").text
    assert SUBJECT in mine and OTHER_SUBJECT not in mine
    assert OTHER_SUBJECT in theirs and SUBJECT not in theirs


def test_a_reply_link_opens_only_its_own_ticket_and_files(matrix):
    anonymous = matrix["clients"]["anonymous"]
    token = matrix["token"]
    page = anonymous.get(f"/support/reply/{token}")
    assert page.status_code == 200 and SUBJECT in page.text and NOTE_TEXT not in page.text
    assert "public.png" in page.text and NOTE_FILE not in page.text
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert anonymous.get(f"/support/reply/{forged}").status_code == 404
    assert anonymous.get("/support/reply/x").status_code == 404
    # another ticket's file through this ticket's link: not found
    with matrix["app"].app_context():
        others = [
            a.id
            for a in db.session.scalars(db.select(models().Attachment))
            if a.ticket_id != matrix["ticket"]
        ]
    for file_id in others + [999999]:
        assert anonymous.get(f"/support/reply/{token}/files/{file_id}").status_code == 404


def test_staff_see_the_note_and_its_file(matrix):
    agent = matrix["clients"]["agent"]
    page = agent.get(f"/admin/support/tickets/{matrix['ticket']}")
    assert NOTE_TEXT in page.text and NOTE_FILE in page.text
    download = agent.get(f"/admin/support/tickets/{matrix['ticket']}/files/{matrix['note_file']}")
    assert download.status_code == 200 and download.get_data() == NOTE_BYTES
