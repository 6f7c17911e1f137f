"""Attachments as an attacker would try them: types by content, sizes, counts, names, where the
bytes land and how they come back."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kernel.extensions import db
from tests.support.conftest import PDF, PNG, models, open_ticket, post_files, ticket_id_of

ELF = b"\x7fELF\x02\x01\x01" + bytes(60)
EXE = b"MZ\x90\x00" + bytes(60)
MACHO = b"\xcf\xfa\xed\xfe" + bytes(60)
JAVA = b"\xca\xfe\xba\xbe" + bytes(60)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(32)


def stored_files(world) -> list[Path]:
    root = Path(world.app.config["INSTANCE_PATH"]) / "support" / "attachments"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def attachment_rows(world):
    with world.app.app_context():
        rows = list(
            db.session.scalars(db.select(models().Attachment).order_by(models().Attachment.id))
        )
        db.session.expunge_all()
        return rows


ACCEPTED = [
    ("screenshot.png", PNG, "png"),
    ("photo.JPG", b"\xff\xd8\xff\xe0" + bytes(40), "jpeg"),
    ("anim.gif", b"GIF89a" + bytes(40), "gif"),
    ("pic.webp", WEBP, "webp"),
    ("invoice.pdf", PDF, "pdf"),
    ("latest.log", b"[12:00] Server started\n", "text"),
    ("server.properties", b"motd=Hello\nmax-players=20\n", "text"),
    ("config.yml", "name: Zoë ✓\n".encode(), "text"),
    ("bom.txt", b"\xef\xbb\xbfhello", "text"),
]


def test_the_allowed_types_are_accepted_by_content(world):
    customer = world.client_as("customer")
    tid = ticket_id_of(open_ticket(customer, files=[(n, d) for n, d, _ in ACCEPTED[:5]]))
    assert (
        post_files(
            customer, f"/support/{tid}/reply", "more", files=[(n, d) for n, d, _ in ACCEPTED[5:]]
        ).status_code
        == 303
    )
    rows = attachment_rows(world)
    assert [(r.filename, r.kind) for r in rows] == [
        ("screenshot.png", "png"),
        ("photo.JPG".rsplit(".")[0] + ".jpg", "jpeg"),
        ("anim.gif", "gif"),
        ("pic.webp", "webp"),
        ("invoice.pdf", "pdf"),
        ("latest.log", "text"),
        ("server.properties", "text"),
        ("config.yml", "text"),
        ("bom.txt", "text"),
    ]
    assert len(stored_files(world)) == len(ACCEPTED)


REFUSED = [
    ("setup.exe", EXE, 415, "cannot be attached"),
    ("page.html", b"<p>hi</p>", 415, "cannot be attached"),
    ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", 415, "cannot be attached"),
    ("run.sh", b"#!/bin/sh\necho hi\n", 415, "cannot be attached"),
    ("bundle.zip", b"PK\x03\x04" + bytes(30), 415, "cannot be attached"),
    ("noextension", b"hello", 415, "cannot be attached"),
    ("tool.png", EXE, 415, "content does not match"),  # a program named as a picture
    ("tool.png", ELF, 415, "content does not match"),
    ("notes.txt", ELF, 415, "content does not match"),
    ("notes.txt", MACHO, 415, "content does not match"),
    ("notes.log", JAVA, 415, "content does not match"),
    ("script.txt", b"#!/usr/bin/env python\nprint(1)\n", 415, "content does not match"),
    ("fake.png", b"GIF89a" + bytes(10), 415, "content does not match"),
    ("fake.pdf", PNG, 415, "content does not match"),
    ("fake.webp", b"RIFF\x00\x00\x00\x00WAVEfmt ", 415, "content does not match"),
    ("page.txt", b"<!DOCTYPE html><script>alert(1)</script>", 415, "content does not match"),
    ("page.log", b"  \n<html><body onload=alert(1)>", 415, "content does not match"),
    ("vector.txt", b"<svg onload=alert(1)>", 415, "content does not match"),
    ("feed.yml", b"<?xml version='1.0'?><x/>", 415, "content does not match"),
    ("bom.txt", b"\xef\xbb\xbf<script>alert(1)</script>", 415, "content does not match"),
    ("binary.txt", b"abc\x00def", 415, "content does not match"),
    ("latin1.txt", "café".encode("latin-1"), 415, "content does not match"),
    ("utf16.txt", "hello".encode("utf-16"), 415, "content does not match"),
    ("empty.txt", b"", 400, "is empty"),
]


@pytest.mark.parametrize(
    ("name", "data", "status", "message"),
    REFUSED,
    ids=[f"{i}:{n}" for i, (n, _d, _s, _m) in enumerate(REFUSED)],
)
def test_refused_files_leave_nothing_behind(world, name, data, status, message):
    customer = world.client_as("customer")
    response = open_ticket(customer, subject="With a file", files=[("ok.png", PNG), (name, data)])
    assert response.status_code == status and message in response.text
    assert 'value="With a file"' in response.text  # the form comes back filled in
    with world.app.app_context():
        assert db.session.scalar(db.select(db.func.count(models().Ticket.id))) == 0
    assert stored_files(world) == [] and attachment_rows(world) == []


def test_size_and_count_limits_follow_the_settings(world):
    from kernel.plugins.settings import set_settings

    with world.app.app_context():
        set_settings(
            "support",
            {
                "max_attachment_kb": 1,
                "max_attachments": 2,
                "allowed_extensions": "png, TXT, svg, html, exe",
            },
        )
    customer = world.client_as("customer")
    big = open_ticket(customer, files=[("big.txt", b"x" * 1025)])
    assert big.status_code == 413 and "larger than 1 KiB" in big.text
    assert open_ticket(customer, files=[("fits.txt", b"x" * 1024)]).status_code == 303
    many = open_ticket(customer, files=[("a.png", PNG), ("b.png", PNG), ("c.png", PNG)])
    assert many.status_code == 400 and "at most 2 files" in many.text
    # an admin may narrow the types, never add dangerous ones
    assert open_ticket(customer, files=[("x.svg", b"<svg/>")]).status_code == 415
    assert open_ticket(customer, files=[("x.html", b"<p>")]).status_code == 415
    refused = open_ticket(customer, files=[("doc.pdf", PDF)])
    assert refused.status_code == 415 and "allowed: png, txt" in refused.text
    page = customer.get("/support/new").text
    assert 'accept=".png,.txt"' in page and "Up to 2 files of 1 KiB each" in page
    with world.app.app_context():
        set_settings("support", {"max_attachments": 0})
    off = open_ticket(customer, files=[("a.png", PNG)])
    assert off.status_code == 400 and "attachments are switched off" in off.text
    assert 'type="file"' not in customer.get("/support/new").text


def test_a_request_larger_than_the_settings_allow_is_a_clear_413(world):
    """The body cap follows the attachment settings (files x size + 1 MiB for the form), and
    is checked before the body is read: nothing is stored."""
    from kernel.plugins.settings import set_settings

    with world.app.app_context():
        set_settings("support", {"max_attachments": 1, "max_attachment_kb": 1})
    response = open_ticket(
        world.client_as("customer"), files=[("huge.txt", b"x" * (2 * 1024 * 1024))]
    )
    assert response.status_code == 413
    assert "too large: at most 1.00098 MiB is accepted here" in response.text  # 1 KiB + 1 MiB
    with world.app.app_context():
        assert db.session.scalar(db.select(db.func.count(models().Ticket.id))) == 0


def test_the_body_cap_grows_with_the_attachment_settings(world):
    """5 MiB of files is over the panel's 4 MiB default cap, within what the settings allow."""
    from kernel.plugins.settings import set_settings

    with world.app.app_context():
        set_settings("support", {"max_attachments": 1, "max_attachment_kb": 8192})
    response = open_ticket(
        world.client_as("customer"), files=[("big.txt", b"x" * (5 * 1024 * 1024))]
    )
    assert response.status_code in (200, 303), response.text[:500]
    with world.app.app_context():
        assert db.session.scalar(db.select(db.func.count(models().Ticket.id))) == 1


NAMES = [
    ("../../etc/passwd.txt", "passwd.txt"),
    ("C:/Users/me/win.ini", "win.ini"),
    ("/abs/path/log.txt", "log.txt"),
    ("evil.php.png", "evil_php.png"),
    ("résumé final.pdf", "r_sum_final.pdf"),
    ("<script>alert(1)</script>.png", "script.png"),  # "/" ends a path part
    ("<img src=x onerror=alert(1)>.png", "img src_x onerror_alert_1.png"),
    ("\x00\x1b[31mred.txt", "31mred.txt"),
    (".hidden.txt", "hidden.txt"),
    ("-rf .txt", "rf.txt"),
    ("ＦＵＬＬ.txt", "FULL.txt"),
    ("a" * 300 + ".txt", "a" * 80 + ".txt"),
    ("....txt", "attachment.txt"),
]


def test_names_are_sanitised(world):
    customer = world.client_as("customer")
    files = [
        (raw, PDF if raw.endswith(".pdf") else PNG if raw.endswith(".png") else b"x")
        for raw, _ in NAMES
    ]
    tid = ticket_id_of(open_ticket(customer, files=files[:5]))
    with world.app.app_context():
        from kernel.plugins.settings import set_settings

        set_settings("support", {"max_attachments": 10})
    assert post_files(customer, f"/support/{tid}/reply", "more", files=files[5:]).status_code == 303
    assert [r.filename for r in attachment_rows(world)] == [clean for _, clean in NAMES]


def test_windows_paths_lose_their_folders_too():
    from builtin_plugins.support.attachments import extension_of, safe_name

    raw = "..\\..\\windows\\win.ini"  # what a browser on Windows may send
    assert extension_of(raw) == "ini" and safe_name(raw, "ini") == "win.ini"
    assert safe_name("archive.tar.gz", "gz") == "archive_tar.gz"


def test_bytes_live_outside_the_web_root_with_private_modes(world):
    customer = world.client_as("customer")
    ticket_id_of(open_ticket(customer, files=[("shot.png", PNG)]))
    [row] = attachment_rows(world)
    [path] = stored_files(world)
    assert path.name == row.storage_key and path.read_bytes() == PNG
    assert "shot" not in str(path)  # random names on disk, never the uploader's
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    instance = Path(world.app.config["INSTANCE_PATH"]).resolve()
    assert instance in path.resolve().parents
    static = [world.app.static_folder, world.app.config.get("THEME_STATIC")]
    assert all(s is None or Path(s).resolve() not in path.resolve().parents for s in static)
    for probe in (
        f"/-/plugin-static/support/{row.storage_key}",
        f"/-/plugin-static/support/../../support/attachments/{row.storage_key}",
        f"/-/theme/{row.storage_key}",
    ):
        assert customer.get(probe).status_code == 404


def test_downloads_are_attachments_that_never_render(world):
    customer = world.client_as("customer")
    tid = ticket_id_of(open_ticket(customer, files=[("shot.png", PNG), ("x.txt", b"<b>hi</b>")]))
    rows = attachment_rows(world)
    for row, mime in zip(rows, ("image/png", "text/plain; charset=utf-8"), strict=True):
        response = customer.get(f"/support/{tid}/files/{row.id}")
        assert response.status_code == 200
        assert response.headers["Content-Type"] == mime
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert row.filename in response.headers["Content-Disposition"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response.headers["Content-Security-Policy"]
        assert "no-store" in response.headers["Cache-Control"]
    # the uploader's own content type is never used
    sneaky = customer.post(
        f"/support/{tid}/reply",
        data={
            "body": "x",
            "files": [(__import__("io").BytesIO(b"plain words"), "a.txt", "text/html")],
        },
        content_type="multipart/form-data",
    )
    assert sneaky.status_code == 303
    last = attachment_rows(world)[-1]
    assert (
        customer.get(f"/support/{tid}/files/{last.id}").headers["Content-Type"]
        == "text/plain; charset=utf-8"
    )


def test_a_file_whose_bytes_vanished_is_a_404(world):
    customer = world.client_as("customer")
    tid = ticket_id_of(open_ticket(customer, files=[("shot.png", PNG)]))
    [row] = attachment_rows(world)
    for path in stored_files(world):
        os.unlink(path)
    response = customer.get(f"/support/{tid}/files/{row.id}")
    assert response.status_code == 404 and "no longer stored" in response.text
