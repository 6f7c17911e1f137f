from kernel.testing import build_app


def test_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert (
        "script-src 'self' 'nonce-" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_nonce_changes_per_request(client):
    first = client.get("/login").headers["Content-Security-Policy"]
    assert first != client.get("/login").headers["Content-Security-Policy"]


def test_cookies_are_secure_behind_https(tmp_path):
    app = build_app(tmp_path / "inst", BASE_URL="https://panel.example.com")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert "Strict-Transport-Security" in app.test_client().get("/login").headers
    plain = build_app(tmp_path / "inst2")
    assert plain.config["SESSION_COOKIE_SECURE"] is False
