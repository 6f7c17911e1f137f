"""The audit and email logs page by cursor: newer/older links that keep the filters, a page
size from 10 to 200, no count, and hostile cursors answered 400 without leaking a filtered row."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert

from kernel.extensions import db
from kernel.mail_delivery import EmailLog
from kernel.models import AuditLog
from kernel.testing import statements

T0 = datetime(2026, 1, 1)


def add_audit(site, count: int, *, action=lambda n: "odd.thing" if n % 2 else "even.thing"):
    with site.app_context():
        db.session.execute(
            insert(AuditLog),
            [
                {
                    "created_at": T0 + timedelta(seconds=n),
                    "actor": f"actor{n % 3}@example.com",
                    "action": action(n),
                    "target": f"row-{n:05d}-end",
                    "details": {},
                    "ip": "",
                }
                for n in range(count)
            ],
        )
        db.session.commit()


def add_emails(site, count: int):
    with site.app_context():
        db.session.execute(
            insert(EmailLog),
            [
                {
                    "created_at": T0 + timedelta(seconds=n),
                    "recipient": f"mail{n:05d}@example.com",
                    "subject": f"subject {n:05d}",
                    "template": "welcome",
                    "status": "failed" if n % 5 == 0 else "sent",
                    "error": "",
                    "body": "",
                }
                for n in range(count)
            ],
        )
        db.session.commit()


def targets(page: str) -> list[str]:
    return re.findall(r"row-(\d{5})-end", page)


def link(page: str, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" href="([^"]+)"', page)
    return found.group(1).replace("&amp;", "&") if found else None


def walk(client, url: str, rel: str = "next") -> list[list[str]]:
    """Every page from ``url`` following ``rel`` links: the rows' numbers of each page."""
    pages = []
    while url:
        answer = client.get(url)
        assert answer.status_code == 200, answer.text[:500]
        pages.append(targets(answer.text))
        url = link(answer.text, rel)
        assert len(pages) < 100
    return pages


@pytest.fixture
def admin(login_as):
    return login_as("admin")


@pytest.fixture
def site(pteroca_instance):
    return pteroca_instance.app


def test_older_and_newer_links_walk_the_whole_log_once(site, admin):
    add_audit(site, 125)
    pages = walk(admin, "/admin/audit/?per_page=50&flt0_0=odd.thing&search=row")
    # The admin's own sign-in is audited too: only the 125 inserted rows carry "row-"
    seen = [n for page in pages for n in page]
    odd = [f"{n:05d}" for n in range(124, -1, -1) if n % 2]
    assert seen == odd  # newest first, each row once, only rows the filter keeps
    assert [len(p) for p in pages] == [50, 12]
    # back up from the last page with the newer links
    last = admin.get("/admin/audit/?per_page=50&flt0_0=odd.thing&search=row")
    older = link(last.text, "next")
    back = walk(admin, link(admin.get(older).text, "prev"), rel="prev")
    assert back[0] == odd[:50]


def test_the_filter_is_kept_across_pages(site, admin):
    add_audit(site, 60)
    first = admin.get("/admin/audit/?flt0_0=even.thing&per_page=10")
    older = link(first.text, "next")
    assert "flt0_0=even.thing" in older and "per_page=10" in older and "before=" in older


def test_a_forged_cursor_cannot_show_a_row_the_filter_excludes(site, admin):
    add_audit(site, 40)
    with site.app_context():
        odd_id = db.session.scalar(
            db.select(AuditLog.id).where(AuditLog.action == "odd.thing").order_by(AuditLog.id)
        )
    for cursor in (f"before={odd_id + 1}", f"after={odd_id - 1}", "before=9999999"):
        page = admin.get(f"/admin/audit/?flt0_0=even.thing&{cursor}")
        assert page.status_code == 200
        assert "odd.thing" not in page.text.split("<table", 1)[1]


@pytest.mark.parametrize(
    "query",
    [
        "before=abc",
        "before=-5",
        "before=0",
        "after=1e5",
        "before=99999999999999999999999",
        "before=1&after=2",
        "before=%C2%B2",  # superscript two: str.isdigit() says yes, int() says no
        "before=%D9%A1%D9%A2",  # Arabic-Indic digits
        "before=%E2%80%8B1",
        "before=1.5",
        "before=00000000000000000000001",
        "per_page=5",
        "per_page=201",
        "per_page=lots",
        "per_page=-10",
    ],
)
@pytest.mark.parametrize("url", ["/admin/audit/", "/admin/emails/"])
def test_a_malformed_cursor_or_page_size_is_a_400_with_the_newest_page(site, admin, url, query):
    add_audit(site, 3)
    add_emails(site, 3)
    page = admin.get(f"{url}?{query}")
    assert page.status_code == 400
    assert "showing the newest rows" in page.text
    assert "row-00002-end" in page.text or "mail00002@example.com" in page.text


def test_an_empty_page_from_a_stale_cursor_offers_the_newest(site, admin):
    add_audit(site, 5)
    page = admin.get("/admin/audit/?before=1")
    assert page.status_code == 200
    assert "Newest" in page.text and link(page.text, "next") is None


def test_email_log_pages_by_cursor_with_its_status_filter(site, admin):
    add_emails(site, 130)
    url = "/admin/emails/?flt0_16=failed&per_page=10"  # status equals "failed"
    shown = []
    while url:
        answer = admin.get(url)
        assert answer.status_code == 200
        shown += re.findall(r"mail(\d{5})@", answer.text)
        url = link(answer.text, "next")
    assert shown == [f"{n:05d}" for n in range(129, -1, -1) if n % 5 == 0]


def page_statements(app, client, url: str) -> list[str]:
    assert client.get(url).status_code == 200  # warm
    with statements(app) as seen:
        assert client.get(url).status_code == 200
    return seen


@pytest.mark.parametrize("url", ["/admin/audit/", "/admin/emails/"])
def test_statements_per_page_do_not_depend_on_the_page_size(site, admin, url):
    add_audit(site, 250)
    add_emails(site, 250)
    small = page_statements(site, admin, f"{url}?per_page=20")
    large = page_statements(site, admin, f"{url}?per_page=100")
    assert len(small) == len(large)
    middle = page_statements(site, admin, f"{url}?per_page=100&before=150")
    assert len(middle) == len(large)
    assert not [s for s in small + middle if "count(" in s.lower()]  # no pager count


def test_links_after_a_refused_page_size_drop_it(site, admin):
    add_audit(site, 70)
    page = admin.get("/admin/audit/?per_page=5000&flt0_0=thing")
    assert page.status_code == 400
    older = link(page.text, "next")
    assert "per_page" not in older and "flt0_0=thing" in older
    assert admin.get(older).status_code == 200
