"""The request gate (kernel/web/request_gate.py): body size, control characters, JSON, ids."""

from __future__ import annotations

import io

import pytest
from werkzeug.test import EnvironBuilder, run_wsgi_app

from kernel.accounts.models import User
from kernel.extensions import db
from kernel.testing import build_app, login
from tests.admin.conftest import PASSWORD

MiB = 1024 * 1024
LINE = b"a" * 63 + b"\n"  # filler in lines, as real data has: parsers split on line breaks


class Body(io.RawIOBase):
    """A request body of ``size`` bytes (``head``, filler, ``tail``) that counts what the
    server read of it."""

    def __init__(self, size: int, head: bytes = b"", tail: bytes = b""):
        self.size, self.head, self.tail, self.read_bytes = size, head, tail, 0

    def readable(self) -> bool:
        return True

    def _byte_range(self, start: int, end: int) -> bytes:
        tail_at = self.size - len(self.tail)
        first, last = max(start, len(self.head)), min(end, tail_at)
        lines = LINE * ((last - first) // len(LINE) + 2)
        middle = lines[first % len(LINE) :][: max(0, last - first)]
        return (
            self.head[start:end]
            + middle
            + self.tail[max(0, start - tail_at) : max(0, end - tail_at)]
        )

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.size - self.read_bytes)
        buffer[:n] = self._byte_range(self.read_bytes, self.read_bytes + n)
        self.read_bytes += n
        return n


def multipart_file(size: int, boundary: str = "gate") -> Body:
    """A multipart form with one file field ``archive``: ``size`` bytes in all."""
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="archive"; '
        f'filename="p.zip"\r\nContent-Type: application/zip\r\n\r\n'
    ).encode()
    return Body(size, head, f"\r\n--{boundary}--\r\n".encode())


def send(
    app,
    path: str,
    body: Body,
    *,
    content_type="application/x-www-form-urlencoded",
    chunked: bool = False,
    headers: dict | None = None,
) -> int:
    builder = EnvironBuilder(
        path=path, method="POST", headers=headers or {}, content_type=content_type
    )
    environ = builder.get_environ()
    environ["CONTENT_TYPE"] = content_type  # the builder invents its own multipart boundary
    environ["wsgi.input"] = body
    if chunked:
        environ.pop("CONTENT_LENGTH", None)
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = True
    else:
        environ["CONTENT_LENGTH"] = str(body.size)
    _iterable, status, _headers = run_wsgi_app(app, environ, buffered=True)
    return int(status.split()[0])


@pytest.mark.parametrize(
    "path,content_type",
    [
        ("/login", "application/x-www-form-urlencoded"),
        ("/register", "multipart/form-data"),
        ("/payments/stripe/webhook", "application/json"),
        ("/forgot-password", "text/plain"),
        ("/no-such-page", "application/octet-stream"),
    ],
)
def test_a_body_over_the_cap_is_refused_before_it_is_read(app, path, content_type):
    body = Body(60 * MiB)
    assert send(app, path, body, content_type=content_type) == 413
    assert body.read_bytes == 0


def test_a_chunked_body_stops_being_read_at_the_cap(app):
    body = Body(60 * MiB)
    assert send(app, "/login", body, chunked=True) == 413
    assert body.read_bytes <= 4 * MiB + 64 * 1024


def test_the_cap_is_configurable_and_says_what_it_is(instance, plugins_dir):
    app = build_app(instance, MAX_REQUEST_BYTES=2048)
    response = app.test_client().post("/login", data={"email": "x" * 4096})
    assert response.status_code == 413
    assert "at most 2 KiB is accepted here" in response.text
    assert app.test_client().post("/login", data={"email": "x" * 100}).status_code == 400


def test_only_the_plugin_upload_takes_more(app, users):
    client = app.test_client()
    login(client, users["admin"], PASSWORD)
    cookie = client.get_cookie("session").value
    headers = {"Cookie": f"session={cookie}"}
    form = "multipart/form-data; boundary=gate"
    body = multipart_file(6 * MiB)  # over the 4 MiB cap, under the 10 MiB archive limit
    assert send(app, "/admin/plugins/upload", body, content_type=form, headers=headers) == 400
    assert body.read_bytes == 6 * MiB  # read, then refused: not a zip archive
    login_body = multipart_file(6 * MiB)
    assert send(app, "/login", login_body, content_type=form) == 413
    assert login_body.read_bytes == 0
    huge = multipart_file(20 * MiB)
    assert send(app, "/admin/plugins/upload", huge, content_type=form, headers=headers) == 413
    assert huge.read_bytes == 0


# --- control characters ---------------------------------------------------------------------

CONTROLS = ["\x00", "\x01", "\x08", "\x0b", "\x1b", "\x7f", "\x85", "\x9f"]


def users_named(app, email: str) -> int:
    with app.app_context():
        count = db.session.scalar(db.select(db.func.count(User.id)).where(User.email == email))
        db.session.remove()
    return count


@pytest.mark.parametrize("field", ["email", "name", "password"])
def test_registration_refuses_control_characters(app, field):
    for char in CONTROLS:
        form = {
            "email": "new@example.com",
            "name": "New",
            "password": "long enough pass 1",
            "terms": "1",
        }
        form[field] = form[field][:3] + char + form[field][3:]
        response = app.test_client().post("/register", data=form)
        assert response.status_code == 400, repr(char)
        assert f"“{field}” contains a control character (U+{ord(char):04X})" in response.text
    assert users_named(app, "new@example.com") == 0
    with app.app_context():  # no account at all: the address with the character neither
        assert db.session.scalar(db.select(db.func.count(User.id))) == 0
        db.session.remove()


@pytest.mark.parametrize(
    "url,data",
    [
        ("/account/profile", {"name": "Evil\x00Name", "language": ""}),
        ("/account/profile", {"name": "Fine", "language": "e\x00n"}),
        ("/account/email", {"email": "nul\x00x@example.com", "password": PASSWORD}),
        (
            "/account/password",
            {
                "current_password": PASSWORD,
                "new_password": "new pass\x00word 1",
                "confirm": "new pass\x00word 1",
            },
        ),
        ("/forgot-password", {"email": "customer@example.com\x00"}),
        ("/login", {"email": "customer@example.com", "password": PASSWORD + "\x00"}),
        ("/wallet/topup", {"amount": "1\x000", "provider": "x"}),
    ],
)
def test_every_form_refuses_control_characters(app, users, url, data):
    client = app.test_client()
    login(client, users["customer"], PASSWORD)
    response = client.post(url, data=data)
    assert response.status_code == 400, url
    assert "contains a control character (U+0000)" in response.text
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == users["customer"]))
        assert user.name == "Customer" and "\x00" not in user.email


@pytest.mark.parametrize(
    "url",
    [
        "/login?next=/x%00y",
        "/store?q=%1b[31m",
        "/login?%00=1",
        "/-/theme/x%00.css",
        "/reset-password/x%00y",
    ],
)
def test_query_strings_and_paths_refuse_control_characters(client, url):
    assert client.get(url).status_code == 400


def test_text_areas_keep_line_breaks_but_names_are_one_line(app, users):
    client = app.test_client()
    login(client, users["customer"], PASSWORD)
    response = client.post("/account/profile", data={"name": "Two\nLines", "language": ""})
    assert response.status_code == 400 and "must be a single line" in response.text
    response = app.test_client().post(
        "/register",
        data={
            "email": "tab@example.com",
            "name": "a\tb",
            "password": "long enough pass 1",
            "terms": "1",
        },
    )
    assert response.status_code == 400 and users_named(app, "tab@example.com") == 0


def test_the_cli_refuses_control_characters_too(cli):
    result = cli("user", "create", "nul\x00x@example.com", "--password", "long enough pass 1")
    assert result.exit_code != 0 and "control character" in result.output


# --- JSON bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body,message",
    [
        (b"[1, 2]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (b"[" * 50 + b"]" * 50, "nested deeper than 32"),
        (b"[" * 200_000 + b"]" * 200_000, "nested deeper than 32"),
        (b'{"a": "\\u0000"}', "control character (U+0000)"),
        (b"{nope", "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
    ],
)
def test_json_bodies_must_be_plain_objects(client, body, message):
    response = client.post("/login", data=body, content_type="application/json")
    assert response.status_code == 400
    assert message in response.get_json()["error"]


# --- ids and the way back after login -------------------------------------------------------


def test_ids_beyond_a_database_integer_are_404(app, users):
    client = app.test_client()
    login(client, users["customer"], PASSWORD)
    for url in (
        "/wallet/return/99999999999999999999999999",
        "/wallet/return/2147483648",
        "/wallet/return/9223372036854775808",
        "/wallet/cancel/" + "9" * 5000,
        "/wallet/return/2147483647",
    ):  # the last just fits: no such payment
        assert client.get(url).status_code == 404, url
    assert client.post("/wallet/payments/4294967296/check").status_code == 404


@pytest.mark.parametrize(
    "target",
    [
        "/%0d%0aSet-Cookie:%20evil=1",
        "/%0aLocation:%20x",
        "//evil.example",
        "/\\evil.example",
        "/%09/evil.example",
        "https://evil.example/",
        "/%5cevil.example",
        "/%e2%80%a8evil",
        "javascript:alert(1)",
    ],
)
def test_next_after_login_stays_on_the_site(app, users, target):
    response = app.test_client().post(
        f"/login?next={target}", data={"email": users["customer"], "password": PASSWORD}
    )
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert response.headers["Location"] == "/dashboard"


def test_next_after_login_keeps_a_local_path(app, users):
    response = app.test_client().post(
        "/login?next=/wallet%3Ftab%3D1", data={"email": users["customer"], "password": PASSWORD}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/wallet?tab=1"


def test_a_view_declares_its_own_cap_and_a_broken_declaration_falls_back(instance, plugins_dir):
    """``request_body_limit`` (public API): an int or a callable asked per request; a callable
    that raises or answers nonsense leaves the panel's default cap, never a 500."""
    from kernel import request_body_limit

    app = build_app(instance, MAX_REQUEST_BYTES=64 * 1024)
    answers = {"limit": 8 * 1024}

    @request_body_limit(lambda: answers["limit"])
    def upload():
        return "ok"

    @request_body_limit(2 * MiB)
    def big():
        return "ok"

    app.add_url_rule("/t/upload", "t_upload", upload, methods=["POST"])
    app.add_url_rule("/t/big", "t_big", big, methods=["POST"])
    app.config["WTF_CSRF_ENABLED"] = False
    form = "application/octet-stream"
    assert send(app, "/t/upload", Body(4 * 1024), content_type=form) == 200
    over = Body(9 * 1024)
    assert send(app, "/t/upload", over, content_type=form) == 413 and over.read_bytes == 0
    assert send(app, "/t/big", Body(MiB), content_type=form) == 200  # over the default cap
    assert send(app, "/t/big", Body(3 * MiB), content_type=form) == 413
    for broken in (lambda: 1 / 0, lambda: "lots", lambda: -5, lambda: True, "lots"):
        upload.pteroca_body_limit = broken  # what the decorator stores, gone wrong
        assert send(app, "/t/upload", Body(32 * 1024), content_type=form) == 200  # the default
        assert send(app, "/t/upload", Body(65 * 1024), content_type=form) == 413


@pytest.mark.parametrize("bad", ["4096", -1, 1.5, True, None])
def test_request_body_limit_refuses_what_is_not_a_byte_count(bad):
    from kernel import request_body_limit

    with pytest.raises(TypeError):
        request_body_limit(bad)
