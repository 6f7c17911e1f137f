"""Writing announcements (validation, permissions, audit) and emailing them: once per person,
in batches through the job queue, when they start."""

from __future__ import annotations

from datetime import datetime, timedelta

from kernel import clock
from kernel.extensions import db
from tests.announcements.conftest import PEOPLE
from tests.markup_checks import PAYLOADS, problems
from tests.support.conftest import audit_actions

START = datetime(2026, 6, 1, 12, 0)


def recipients(instance) -> list[str]:
    return sorted(str(m["To"]) for m in instance.sent_mail())


BAD_INPUT = [
    ({"title": "  "}, "give the announcement a title"),
    ({"title": "x" * 161}, "under 160"),
    ({"body": "x" * 20001}, "under 20000"),
    ({"level": "panic"}, "choose a level"),
    ({"audience": "martians"}, "choose an audience"),
    ({"audience": "product"}, "choose at least one product"),
    ({"audience": "product", "product_ids": ["999"]}, "choose at least one product"),
    ({"audience": "product", "product_ids": ["1", "abc"]}, "choose at least one product"),
    ({"audience": "node", "node_ids": ["rack:9"]}, "choose at least one node"),
    ({"starts_at": "tomorrow"}, "is not a date and time"),
    ({"starts_at": "2026-06-02T10:00", "ends_at": "2026-06-02T09:00"}, "end must be after"),
    (
        {"starts_at": "2020-01-01T00:00", "ends_at": "2020-01-02T00:00", "email": "1"},
        "nothing to email",
    ),
]


def test_bad_input_is_a_400_that_keeps_the_form(panel):
    from builtin_plugins.announcements.models import Announcement

    writer = panel.client_as("writer")
    for fields, message in BAD_INPUT:
        data = {
            "title": "Hello",
            "body": "Body text",
            "level": "info",
            "audience": "everyone",
            **fields,
        }
        response = writer.post("/admin/announcements/new", data=data)
        assert response.status_code == 400 and message in response.text, fields
        if data["body"] == "Body text":
            assert "Body text</textarea>" in response.text
    with panel.app.app_context():
        assert db.session.scalar(db.select(db.func.count(Announcement.id))) == 0


def test_only_writers_reach_the_admin_pages(panel):
    assert panel.client_as("alpha").get("/admin/announcements/").status_code == 403
    assert panel.client_as("helper").get("/admin/announcements/").status_code == 403
    assert (
        panel.client_as("helper").post("/admin/announcements/new", data={"title": "x"}).status_code
        == 403
    )
    anonymous = panel.app.test_client().get("/admin/announcements/")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    writer = panel.client_as("writer")
    assert writer.get("/admin/announcements/").status_code == 200
    assert writer.get("/admin/announcements/9999").status_code == 404
    assert writer.post("/admin/announcements/9999/delete").status_code == 404


def test_edit_delete_and_audit(panel):
    ann = panel.announce(title="First", body="one")
    writer = panel.client_as("writer")
    form = writer.get(f"/admin/announcements/{ann}")
    assert 'value="First"' in form.text and "<p>one</p>" in form.text  # preview
    assert (
        writer.post(
            f"/admin/announcements/{ann}",
            data={"title": "Second", "body": "two", "level": "warning", "audience": "staff"},
        ).status_code
        == 303
    )
    assert banner_titles_of(panel, "writer") == ["Second"]
    assert banner_titles_of(panel, "alpha") == []
    assert writer.post(f"/admin/announcements/{ann}/delete").status_code == 303
    assert banner_titles_of(panel, "writer") == []
    actions = [a for a in audit_actions(panel.app) if a.startswith("announcements.")]
    assert actions == ["announcements.created", "announcements.changed", "announcements.deleted"]


def banner_titles_of(panel, who):
    from tests.announcements.conftest import banner_titles

    return banner_titles(panel.client_as(who).get("/dashboard").text)


def test_an_active_announcement_is_emailed_once_to_its_audience(panel, pteroca_instance):
    panel.announce(
        title="Rust restart",
        audience="product",
        email="1",
        product_ids=[str(panel.products["rust"])],
        body="At **noon**",
    )
    assert recipients(pteroca_instance) == ["beta@example.com"]
    [mail] = pteroca_instance.sent_mail()
    assert str(mail["Subject"]) == "[info] Rust restart"
    text = mail.get_body(("plain",)).get_content()
    assert "At **noon**" in text and "/announcements/" in text
    from builtin_plugins.announcements import mailing

    with panel.app.app_context():
        assert mailing.dispatch_due() == 0  # claimed already: never twice
        from builtin_plugins.announcements.models import Announcement

        ann_id = db.session.scalar(db.select(db.func.max(Announcement.id)))
        assert mailing.send_batch(ann_id, [panel.ids["beta"]]) == 0  # a job run twice
    assert len(pteroca_instance.sent_mail()) == 1
    assert "announcements.emailed" in audit_actions(panel.app)


def test_a_scheduled_announcement_is_emailed_when_it_starts(panel, pteroca_instance):
    from builtin_plugins.announcements import mailing

    clock.freeze(START)
    try:
        panel.announce(title="Later", audience="everyone", email="1", starts_at="2026-06-01T15:00")
        assert pteroca_instance.sent_mail() == []
        with panel.app.app_context():
            assert mailing.dispatch_due() == 0
        clock.freeze(START + timedelta(hours=3))
        with panel.app.app_context():
            assert mailing.dispatch_due() == len(PEOPLE)
            assert mailing.dispatch_due() == 0
    finally:
        clock.reset()
    assert recipients(pteroca_instance) == sorted(p[0] for p in PEOPLE.values())


def test_emails_go_in_batches_through_the_job_queue(panel, pteroca_instance, monkeypatch):
    from builtin_plugins.announcements import mailing
    from kernel.accounts.models import User
    from kernel.plugins.settings import set_settings

    with panel.app.app_context():
        set_settings("announcements", {"mail_batch": 2})
        db.session.get(User, panel.ids["nobody"]).is_blocked = True
        db.session.commit()
    jobs = []
    real = mailing.enqueue

    def spy(fn, *args, **kwargs):
        jobs.append((fn.__name__, args))
        return real(fn, *args, **kwargs)

    monkeypatch.setattr(mailing, "enqueue", spy)
    panel.announce(title="Everyone", audience="everyone", email="1")
    assert [name for name, _ in jobs] == ["send_batch", "send_batch"]
    assert [len(args[1]) for _, args in jobs] == [2, 2]  # 4 people: the blocked one is not mailed
    assert "nobody@example.com" not in recipients(pteroca_instance)
    assert len(recipients(pteroca_instance)) == 4


def test_staff_audience_mail_and_no_mail_without_the_flag(panel, pteroca_instance):
    panel.announce(title="Quiet", audience="everyone")
    assert pteroca_instance.sent_mail() == []
    panel.announce(title="Staff meeting", audience="staff", email="1")
    assert recipients(pteroca_instance) == ["helper@example.com", "writer@example.com"]


def test_hostile_markdown_is_inert_everywhere_it_shows(panel):
    body = "\n\n".join(PAYLOADS)
    panel.announce(
        title="<script>alert('title')</script>",
        body=body,
        level="maintenance",
        audience="product",
        product_ids=[str(panel.products["mc"])],
    )
    alpha = panel.client_as("alpha")
    pages = [
        alpha.get("/dashboard").text,
        alpha.get("/announcements/").text,
        alpha.get(f"/servers/{panel.servers['alpha']}").text,
    ]
    for page in pages:
        for chunk in page.split('class="announcement-body')[1:]:
            body_html = chunk.split(">", 1)[1].split("</div>", 1)[0]
            assert problems(body_html) == [], body_html
        assert "<script>alert" not in page
        assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in page
