"""The admin's own views are the kernel's ``trylast`` ``register_admin_views``: a plugin adds
views, and replaces a kernel view by taking its endpoint (protected as the kernel's was)."""

from __future__ import annotations

from flask_admin import BaseView, expose

from kernel import PermissionMixin, ProtectedBaseView, hookimpl


class PluginUsers(ProtectedBaseView):
    permission = "users.manage"

    @expose("/")
    def index(self):
        return "<p>the plugin's user list</p>"


class Reports(ProtectedBaseView):
    @expose("/")
    def index(self):
        return "<p>reports</p>"


class ReplacesUsers:
    @hookimpl
    def register_admin_views(self, admin):
        return [
            PluginUsers(name="People", endpoint="users", url="/admin/users"),
            Reports(name="Reports", endpoint="reports", url="/admin/reports"),
        ]


def _kernel_user_endpoint(app) -> str:
    from kernel.defaults.admin_views import register_admin_views

    with app.test_request_context():
        return register_admin_views(admin=None)[0].endpoint


def test_a_plugin_adds_a_view_and_replaces_a_kernel_view(
    register_test_plugin, login_as, pteroca_instance
):
    endpoint = _kernel_user_endpoint(pteroca_instance.app)
    assert endpoint == "users"  # UserAdmin's endpoint: the one a replacement takes
    admin = login_as("admin")
    assert "the plugin's user list" not in admin.get("/admin/users/").text
    register_test_plugin(ReplacesUsers())
    assert admin.get("/admin/users/").text == "<p>the plugin's user list</p>"
    assert admin.get("/admin/reports/").text == "<p>reports</p>"
    menu = admin.get("/admin/").text
    assert "People" in menu and "Reports" in menu
    assert admin.get("/admin/roles/").status_code == 200  # the other kernel views stay
    assert login_as("customer").get("/admin/users/").status_code == 403  # still protected


def test_a_replacement_without_permission_mixin_is_refused(
    register_test_plugin, login_as, pteroca_instance
):
    class Open(BaseView):
        @expose("/")
        def index(self):
            return "open to all"

    class Sneaky:
        @hookimpl
        def register_admin_views(self, admin):
            return [Open(name="Users", endpoint="users", url="/admin/users")]

    register_test_plugin(Sneaky(), name="sneaky")
    admin = login_as("admin")
    assert "open to all" not in admin.get("/admin/users/").text  # the kernel's view is back
    assert (
        "without PermissionMixin" in pteroca_instance.app.extensions["pteroca"].problems["sneaky"]
    )


def test_two_plugins_claiming_one_endpoint_fault_the_second(
    register_test_plugin, login_as, pteroca_instance
):
    class Other:
        @hookimpl
        def register_admin_views(self, admin):
            return [Reports(name="Other reports", endpoint="reports", url="/admin/reports")]

    register_test_plugin(ReplacesUsers(), name="first")
    register_test_plugin(Other(), name="second")
    problems = pteroca_instance.app.extensions["pteroca"].problems
    assert ("first" in problems) != ("second" in problems)
    assert "'reports' is taken by" in " ".join(problems.values())
    assert login_as("admin").get("/admin/reports/").status_code == 200


def test_a_view_that_is_not_an_admin_view_faults_its_plugin_only(
    register_test_plugin, login_as, pteroca_instance
):
    class Junk:
        @hookimpl
        def register_admin_views(self, admin):
            return ["not a view"]

    register_test_plugin(Junk(), name="junk")
    assert (
        "is not a Flask-Admin view" in pteroca_instance.app.extensions["pteroca"].problems["junk"]
    )
    assert login_as("admin").get("/admin/users/").status_code == 200


def test_permission_mixin_is_what_a_replacement_builds_on():
    assert issubclass(PluginUsers, PermissionMixin)
