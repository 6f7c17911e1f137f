"""hello_world's page under /plugins/hello_world/."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from builtin_plugins.hello_world import services

bp = Blueprint("hello_world", __name__)


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    if request.method == "POST":
        try:
            services.add_greeting(request.form.get("text", ""), by=current_user.email)
        except services.GreetingError as exc:
            flash(str(exc), "error")
            return render_template(
                "hello_world/index.html", greetings=services.recent(), line=services.greeting_line()
            ), 400
        flash("Greeting added", "success")
        return redirect(url_for("hello_world.index"))
    return render_template(
        "hello_world/index.html", greetings=services.recent(), line=services.greeting_line()
    )
