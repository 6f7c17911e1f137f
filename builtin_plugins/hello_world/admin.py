"""hello_world's admin view: greetings CRUD behind the hello_world.manage permission."""

from __future__ import annotations

from flask_admin.contrib.sqla import ModelView

from builtin_plugins.hello_world.models import Greeting
from kernel import PermissionMixin, db


class GreetingAdmin(PermissionMixin, ModelView):
    permission = "hello_world.manage"
    column_list = ("text", "by", "created_at")
    column_searchable_list = ("text", "by")
    form_columns = ("text", "by")

    def __init__(self):
        super().__init__(
            Greeting, db, name="Greetings", endpoint="greetings", url="/admin/greetings"
        )
