"""hello_world: the reference plugin. Each hook below is the smallest real use of it."""

from __future__ import annotations

from pathlib import Path

from flask import url_for
from markupsafe import Markup, escape

from kernel import hookimpl

HERE = Path(__file__).resolve().parent


@hookimpl
def audit_labels():
    from flask_babel import lazy_gettext as _l

    return {
        "hello_world.welcome_back": _l("Welcomed back by Hello World"),
        "hello_world.thanks_for_paying": _l("Thanked for a payment by Hello World"),
        "hello_world.saw_password_change": _l("Hello World noticed a password change"),
        "hello_world.saw_profile_update": _l("Hello World noticed a profile update"),
        "hello_world.saw_refund": _l("Hello World noticed a refund"),
        "hello_world.saw_wallet_change": _l("Hello World noticed a balance change"),
    }


@hookimpl
def startup(app):
    app.jinja_env.filters["hello_shout"] = lambda text: f"{text}!"


@hookimpl
def plugin_enabled(name):
    from builtin_plugins.hello_world import services

    services.note_lifecycle("enabled", name)


@hookimpl
def plugin_disabled(name):
    from builtin_plugins.hello_world import services

    services.note_lifecycle("disabled", name)


@hookimpl
def register_blueprints(app):
    from builtin_plugins.hello_world.views import bp

    return [bp]


@hookimpl
def template_slots(slot, context):
    if slot == "dashboard_top":
        from builtin_plugins.hello_world import services

        return Markup('<div class="hello-banner">{}</div>').format(services.greeting_line())
    return None


@hookimpl
def extra_css_urls(request):
    return [url_for("web.plugin_static", name="hello_world", filename="hello.css")]


@hookimpl
def extra_js_urls(request):
    return [url_for("web.plugin_static", name="hello_world", filename="hello.js")]


@hookimpl
def client_menu_items(user):
    return [{"label": "Hello", "url": url_for("hello_world.index"), "order": 90}]


@hookimpl
def admin_menu_items(user):
    return [{"label": "Greetings", "url": "/admin/greetings/", "permission": "hello_world.manage"}]


@hookimpl
def dashboard_widgets(user):
    from builtin_plugins.hello_world import services

    count = services.count_greetings()
    return [
        {
            "title": "Hello",
            "order": 50,
            "html": Markup("<p>{} greetings so far. <a href='{}'>Say hello</a></p>").format(
                count, url_for("hello_world.index")
            ),
        }
    ]


@hookimpl
def migrations_dir():
    return HERE / "migrations"


@hookimpl
def register_admin_views(admin):
    from builtin_plugins.hello_world.admin import GreetingAdmin

    return [GreetingAdmin()]


@hookimpl
def register_permissions():
    return [("hello_world.manage", "Manage hello_world greetings")]


@hookimpl
def register_cron_tasks():
    from builtin_plugins.hello_world import services
    from kernel import CronTask

    return [
        CronTask(
            "hello_world.tidy",
            "0 4 * * *",
            services.tidy,
            "Delete greetings older than the keep_days setting",
        )
    ]


@hookimpl
def register_commands(cli):
    from builtin_plugins.hello_world.commands import hello

    cli.add_command(hello)


@hookimpl
def demo_seed(admin, customer):
    from builtin_plugins.hello_world import services

    if not services.greeted_by("demo"):
        services.add_greeting(f"welcome to the demo, {customer.name or customer.email}!", by="demo")
    return ["hello_world: a welcome greeting is on /plugins/hello_world/"]


@hookimpl
def health_checks():
    from builtin_plugins.hello_world import services

    return [("greetings_table", services.health)]


@hookimpl
def register_payment_providers():
    from builtin_plugins.hello_world.payments import DemoProvider

    return [DemoProvider()]


@hookimpl
def register_hookspecs():
    from builtin_plugins.hello_world import hookspecs

    return [hookspecs]


@hookimpl
def user_registered(user):
    from builtin_plugins.hello_world import services

    services.add_greeting(user.name or user.email, by=user.email)


@hookimpl
def user_logged_in(user):
    from builtin_plugins.hello_world import services

    services.note_login(user)


@hookimpl
def veto_registration(email, name):
    from builtin_plugins.hello_world import services

    return services.registration_refusal(email)


@hookimpl
def veto_login(user):
    from builtin_plugins.hello_world import services

    notice = services.setting("login_notice")
    if notice and not user.has_permission("admin.access"):
        return str(escape(notice))
    return None


@hookimpl
def payment_settled(payment):
    from builtin_plugins.hello_world import services

    services.note_payment(payment)


@hookimpl
def payment_refunded(payment, amount, kind):
    from builtin_plugins.hello_world import services

    services.note_refund(payment, amount, kind)


@hookimpl
def wallet_changed(user, entry):
    from builtin_plugins.hello_world import services

    services.note_wallet(user, entry)


@hookimpl
def veto_wallet_credit(user, amount, reference):
    from builtin_plugins.hello_world import services

    return services.credit_refusal(amount)


@hookimpl
def topup_adjustment(user, amount, form):
    from builtin_plugins.hello_world import services

    return services.topup_refusal(amount)  # None: the top-up goes ahead unchanged


@hookimpl
def user_updated(user, changes):
    from builtin_plugins.hello_world import services

    services.note_profile(user, changes)


@hookimpl
def user_password_changed(user, password):
    from builtin_plugins.hello_world import services

    services.note_password_change(user)  # never keep or log the password itself


@hookimpl
def before_email_send(message):
    from builtin_plugins.hello_world import services

    message["X-Hello-World"] = services.greeting_line()


@hookimpl
def personal_data(user):
    from builtin_plugins.hello_world import services

    return {"greetings": services.greetings_by(user)}


@hookimpl
def erase_personal_data(user):
    from builtin_plugins.hello_world import services

    services.erase_greetings_by(user)
