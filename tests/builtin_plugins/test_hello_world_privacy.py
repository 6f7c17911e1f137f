"""hello_world's privacy hooks, end to end through the kernel's export and erasure."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

from kernel.accounts.services import create_user
from kernel.clock import now as utcnow
from kernel.extensions import db
from kernel.privacy import erasure, export
from kernel.privacy.models import DataExport
from tests.builtin_plugins.test_hello_world import PASSWORD, greetings, hello  # noqa: F401


def _zip(app, export_id: int) -> zipfile.ZipFile:
    with app.app_context():
        row = db.session.get(DataExport, export_id)
        return zipfile.ZipFile(io.BytesIO((export.exports_dir() / row.filename).read_bytes()))


def test_hook_personal_data(hello):  # noqa: F811
    with hello.test_request_context():
        ann = create_user("ann@example.com", PASSWORD, name="Annabel")
        create_user("ben@example.com", PASSWORD, name="Benedict")
        made = export.request_export(ann).id
    archive = _zip(hello, made)
    mine = json.loads(archive.read("plugins/hello_world/greetings.json"))
    assert [g["text"] for g in mine] == ["Hello, Annabel"]
    assert "Benedict" not in json.dumps(mine)


def test_hook_erase_personal_data(hello):  # noqa: F811
    with hello.test_request_context():
        ann = create_user("ann@example.com", PASSWORD, name="Annabel")
        create_user("ben@example.com", PASSWORD, name="Benedict")
        request = erasure.schedule_by_staff(ann, actor="dpo@example.com", immediately=True)
        assert erasure.erase(request.id, now=utcnow() + timedelta(seconds=1)).status == "done"
    left = greetings(hello)
    assert "Hello, Annabel" not in left and "Hello, Benedict" in left
