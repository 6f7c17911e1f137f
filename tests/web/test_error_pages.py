"""The 403 and 404 pages are the kernel's ``trylast`` answer to ``error_page``: a plugin's wins."""

from __future__ import annotations

from flask import Response
from markupsafe import Markup

from kernel import hookimpl


class LostPage:
    @hookimpl
    def error_page(self, code, error):
        if code == 404:
            return Markup("<h1>Lost in space</h1>")
        return None  # 403: the next implementation (the kernel's) answers


def test_hook_error_page(register_test_plugin, pteroca_instance):
    client = pteroca_instance.client()
    before = client.get("/no/such/page")
    assert before.status_code == 404 and "This page does not exist." in before.text
    register_test_plugin(LostPage())
    page = client.get("/no/such/page")
    assert page.status_code == 404  # the status is the error's, whatever the plugin answers
    assert "Lost in space" in page.text and "This page does not exist." not in page.text


def test_a_plugin_passing_leaves_the_kernel_page(register_test_plugin, login_as):
    register_test_plugin(LostPage())
    page = login_as("customer").get("/admin/users/")
    assert page.status_code == 403
    assert "You do not have permission to open this page." in page.text


def test_a_response_keeps_the_error_status(register_test_plugin, pteroca_instance):
    client = pteroca_instance.client()

    class Redirecting:
        @hookimpl
        def error_page(self, code, error):
            return Response("gone elsewhere", status=302, headers={"Location": "/"})

    register_test_plugin(Redirecting())
    page = client.get("/no/such/page")
    assert page.status_code == 404 and page.text == "gone elsewhere"


class Broken:
    @hookimpl
    def error_page(self, code, error):
        raise RuntimeError("the error page broke")


class Wrong:
    @hookimpl
    def error_page(self, code, error):
        return {"not": "a page"}


def test_a_broken_or_wrong_error_page_falls_back_to_the_kernel_s(
    register_test_plugin, pteroca_instance
):
    client = pteroca_instance.client()
    register_test_plugin(Broken(), name="broken_errors")
    register_test_plugin(Wrong(), name="wrong_errors")
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "This page does not exist." in page.text
    from kernel.plugins import health

    with pteroca_instance.app.app_context():
        failing = health.tracker(pteroca_instance.app).failing["error_page"]
    assert set(failing) == {"broken_errors", "wrong_errors"}  # both counted against the plugin
