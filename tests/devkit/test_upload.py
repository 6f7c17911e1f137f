"""Uploading a drop-in plugin as a zip: every crafted archive is refused and leaves nothing."""

from __future__ import annotations

import io
import os
import stat
import sys
import warnings
import zipfile

import pytest

from kernel.plugin_lifecycle.upload import Limits, UploadRefused, install_zip
from tests.devkit.conftest import PAGE_CODE, plugin_files, zip_bytes

URL = "/admin/plugins/upload"


def in_folder(folder: str, files: dict[str, str]) -> dict[str, str]:
    return {f"{folder}/{rel}": content for rel, content in files.items()}


def upload(client, data: bytes, filename: str = "plugin.zip"):
    return client.post(
        URL, data={"archive": (io.BytesIO(data), filename)}, content_type="multipart/form-data"
    )


def tree(folder) -> list[str]:
    """Everything below ``folder``, hidden entries included."""
    found = []
    for root, dirs, files in os.walk(folder):
        found += [os.path.relpath(os.path.join(root, n), folder) for n in dirs + files]
    return sorted(found)


@pytest.fixture
def admin(login_as):
    return login_as("admin")


@pytest.fixture
def plugins_dir(pteroca_instance):
    return pteroca_instance.plugins_dir


def good(name: str = "uploaded") -> bytes:
    return zip_bytes(
        in_folder(
            name, plugin_files(name, code=PAGE_CODE.format(name=name), capabilities=("routes",))
        )
    )


def lying_sizes() -> bytes:
    """A member that declares 1000 bytes and unpacks to 2 MiB: a bomb that lies in its headers."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for rel, content in in_folder("liar", plugin_files("liar")).items():
            archive.writestr(rel, content)
        archive.writestr("liar/data.bin", b"\0" * (2 * 1024 * 1024))
        archive.filelist[-1].file_size = 1000  # what the central directory will claim
    return buffer.getvalue()


def fifo_member() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for rel, content in in_folder("piped", plugin_files("piped")).items():
            archive.writestr(rel, content)
        info = zipfile.ZipInfo("piped/pipe")
        info.create_system = 3
        info.external_attr = (stat.S_IFIFO | 0o644) << 16
        archive.writestr(info, b"")
    return buffer.getvalue()


REFUSED = {
    "traversal": (
        lambda: zip_bytes(
            {**in_folder("evil", plugin_files("evil")), "evil/../../escaped.py": "print('out')"}
        ),
        400,
        "'evil/../../escaped.py': paths leading out of the folder ('..') are refused",
    ),
    "traversal at the top": (
        lambda: zip_bytes({**plugin_files("evil"), "../escaped.py": ""}),
        400,
        "'../escaped.py': paths leading out of the folder",
    ),
    "absolute path": (
        lambda: zip_bytes({**in_folder("evil", plugin_files("evil")), "/tmp/evil.py": "x"}),
        400,
        "'/tmp/evil.py': absolute paths are refused",
    ),
    "drive letter": (
        lambda: zip_bytes({"C:/evil/plugin.toml": "x"}),
        400,
        "'C:/evil/plugin.toml': absolute paths are refused",
    ),
    "backslashes": (
        lambda: zip_bytes({"evil\\..\\..\\x.py": "x"}),
        400,
        "'evil\\..\\..\\x.py': backslashes in member paths are refused",
    ),
    "symlink": (
        lambda: zip_bytes(
            in_folder("linky", plugin_files("linky")), symlinks={"linky/secrets": "/etc/passwd"}
        ),
        400,
        "'linky/secrets': symbolic links are refused",
    ),
    "fifo": (fifo_member, 400, "'piped/pipe': only regular files and folders are allowed"),
    "zip bomb": (
        lambda: zip_bytes(
            {
                **in_folder("bomb", plugin_files("bomb")),
                "bomb/zeros.bin": b"\0" * (30 * 1024 * 1024),
            }
        ),
        400,
        "'bomb/zeros.bin' unpacks to 30 MiB from",
    ),
    "zip bomb with lying sizes": (lying_sizes, 400, "the archive is damaged (liar/data.bin"),
    "missing manifest": (
        lambda: zip_bytes({"thing/__init__.py": "", "thing/views.py": ""}),
        400,
        "no plugin.toml found at the top of the archive or in its single top-level folder",
    ),
    "two top-level folders": (
        lambda: zip_bytes({**in_folder("one", plugin_files("one")), "two/x.txt": "x"}),
        400,
        "no plugin.toml found",
    ),
    "invalid manifest": (
        lambda: zip_bytes(
            in_folder(
                "bad",
                {
                    "plugin.toml": 'name = "Bad Name"\nversion = "x.y"\nkernel = ">=0.1"\n',
                    "__init__.py": "",
                },
            )
        ),
        400,
        "plugin.toml is invalid: name: 'Bad Name' must be 2-48",
    ),
    "manifest not TOML": (
        lambda: zip_bytes(in_folder("bad", {"plugin.toml": "name = [", "__init__.py": ""})),
        400,
        "plugin.toml is not valid TOML",
    ),
    "folder and manifest disagree": (
        lambda: zip_bytes(in_folder("folder", plugin_files("other"))),
        400,
        "the archive's folder is named 'folder' but plugin.toml names the plugin 'other'",
    ),
    "no __init__.py": (
        lambda: zip_bytes({"pkgless/plugin.toml": plugin_files("pkgless")["plugin.toml"]}),
        400,
        "no __init__.py beside plugin.toml",
    ),
    "builtin plugin name": (
        lambda: zip_bytes(in_folder("hello_world", plugin_files("hello_world"))),
        409,
        "a plugin named 'hello_world' is already installed (installed "
        "by the distribution pteroca); an upload never replaces one",
    ),
    "not a zip": (lambda: b"GIF89a this is not an archive", 400, "the file is not a zip archive"),
    "empty file": (lambda: b"", 400, "the uploaded file is empty"),
    "too large": (
        lambda: zip_bytes(
            {"big/plugin.toml": "", "big/blob.bin": os.urandom(10 * 1024 * 1024 + 10)},
            compression=zipfile.ZIP_STORED,
        ),
        413,
        "the archive is larger than the 10 MiB limit for uploaded plugins",
    ),
    "a file and a folder of the same name": (
        lambda: zip_bytes(
            {
                **in_folder("clash", plugin_files("clash")),
                "clash/a": "file",
                "clash/a/b.txt": "inside",
            }
        ),
        400,
        "'clash/a' is a file, but 'clash/a/b.txt' needs it to be a folder",
    ),
    "the folder first, then a file of its name": (
        lambda: zip_bytes(
            {
                **in_folder("clash", plugin_files("clash")),
                "clash/a/b/c.txt": "deep",
                "clash/a/b": "file",
            }
        ),
        400,
        "'clash/a/b' is a file, but 'clash/a/b/c.txt' needs it to be a folder",
    ),
    "a name the file system refuses": (
        lambda: zip_bytes(
            {
                **in_folder("longname", plugin_files("longname")),
                "longname/" + "x" * 300 + ".txt": "x",
            }
        ),
        400,
        f"'longname/{'x' * 300}.txt' cannot be unpacked here (File name too long)",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_crafted_archives_are_refused_and_leave_nothing(case, admin, plugins_dir):
    build, status, message = REFUSED[case]
    before = tree(plugins_dir)
    response = upload(admin, build())
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert "Upload refused: " + message in page.replace("&#39;", "'").replace("&#34;", '"')
    assert tree(plugins_dir) == before
    assert not any(p.startswith(".upload-") for p in os.listdir(plugins_dir))


def test_no_file_chosen(admin):
    response = admin.post(URL, data={}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Upload refused: choose a .zip file first" in response.get_data(as_text=True)


def test_upload_lands_discovered_unimported_and_enables_after_the_scan(
    admin, plugins_dir, pteroca_instance, client
):
    response = upload(admin, good("uploaded"))
    assert response.status_code == 303
    page = admin.get(response.location).get_data(as_text=True)
    assert "Uploaded uploaded 1.2.3 to the plugins folder. It is not enabled" in page
    assert 'id="plugin-uploaded"' in page
    folder = plugins_dir / "uploaded"
    assert sorted(os.listdir(folder)) == ["__init__.py", "plugin.toml"]
    assert stat.S_IMODE(os.stat(folder / "__init__.py").st_mode) == 0o644
    assert tree(plugins_dir) == ["uploaded", "uploaded/__init__.py", "uploaded/plugin.toml"]
    assert "pteroca_plugins.uploaded" not in sys.modules  # never imported by the upload
    assert client.get("/plugins/uploaded/").status_code == 404  # discovered, not enabled

    with pteroca_instance.app.app_context():
        from kernel.extensions import db
        from kernel.models import AuditLog
        from kernel.security import latest_scan

        assert latest_scan("uploaded") is None  # enabling will scan it
        [entry] = db.session.scalars(
            db.select(AuditLog).where(AuditLog.action == "plugin.uploaded")
        ).all()
        assert entry.actor == admin.user.email and entry.details["version"] == "1.2.3"

    assert admin.post("/admin/plugins/uploaded/enable").status_code == 303
    assert client.get("/plugins/uploaded/").text == "uploaded page of uploaded"
    with pteroca_instance.app.app_context():
        assert latest_scan("uploaded").verdict == "pass"


def test_same_plugin_twice_is_refused(admin, plugins_dir):
    assert upload(admin, good("twice")).status_code == 303
    before = tree(plugins_dir)
    (plugins_dir / "twice" / "__init__.py").write_text("# the admin's copy\n")
    response = upload(admin, good("twice"))
    assert response.status_code == 409
    assert "a plugin named 'twice' is already installed (in " in response.get_data(
        as_text=True
    ).replace("&#39;", "'")
    assert tree(plugins_dir) == before
    assert (plugins_dir / "twice" / "__init__.py").read_text() == "# the admin's copy\n"


def test_existing_folder_without_a_manifest_is_never_replaced(admin, plugins_dir):
    (plugins_dir / "occupied").mkdir()
    (plugins_dir / "occupied" / "notes.txt").write_text("mine")
    response = upload(admin, good("occupied"))
    assert response.status_code == 409
    assert "occupied already exists; an upload never replaces it" in response.get_data(as_text=True)
    assert tree(plugins_dir) == ["occupied", "occupied/notes.txt"]


def test_flat_archive_and_macos_metadata(admin, plugins_dir):
    files = plugin_files("flat", code=PAGE_CODE.format(name="flat"), capabilities=("routes",))
    data = zip_bytes(
        {
            **files,
            "templates/flat/page.html": "<p>hi</p>",
            "__MACOSX/._plugin.toml": "resource fork",
        }
    )
    assert upload(admin, data).status_code == 303
    assert tree(plugins_dir) == [
        "flat",
        "flat/__init__.py",
        "flat/plugin.toml",
        "flat/templates",
        "flat/templates/flat",
        "flat/templates/flat/page.html",
    ]


def test_uploaded_plugin_must_pass_the_scan(admin, plugins_dir, client):
    code = PAGE_CODE.format(name="sneaky") + "\nvalue = eval('1 + 1')\n"
    upload(
        admin,
        zip_bytes(in_folder("sneaky", plugin_files("sneaky", code=code, capabilities=("routes",)))),
    )
    response = admin.post("/admin/plugins/sneaky/enable")
    assert response.status_code == 400
    assert "sneaky: blocked by 1 CRITICAL finding: bandit B307" in response.get_data(as_text=True)
    assert client.get("/plugins/sneaky/").status_code == 404
    assert "pteroca_plugins.sneaky" not in sys.modules


def test_kernel_range_is_enforced_on_enable(admin, plugins_dir):
    upload(admin, zip_bytes(in_folder("future", plugin_files("future", kernel=">=99"))))
    response = admin.post("/admin/plugins/future/enable")
    assert response.status_code == 400
    assert (
        "plugin &#39;future&#39; needs kernel &gt;=99 but this is pteroca 0.1.0"
        in response.get_data(as_text=True)
    )


def test_upload_needs_the_plugins_permission(login_as, client, plugins_dir):
    data = good("denied")
    anonymous = upload(client, data)
    assert anonymous.status_code == 302 and "/login" in anonymous.location
    assert upload(login_as("customer"), data).status_code == 403
    assert upload(login_as("support"), data).status_code == 403  # admin.access, not admin.plugins
    assert tree(plugins_dir) == []


def test_upload_is_csrf_protected(tmp_path, monkeypatch):
    from kernel.pytest_plugin import PterocaTestInstance

    instance = PterocaTestInstance(tmp_path / "csrf", {"WTF_CSRF_ENABLED": True}, monkeypatch)
    admin = instance.login(instance.client(), instance.make_user(role="admin"))
    response = upload(admin, good("forged"))
    assert response.status_code == 400
    assert tree(instance.plugins_dir) == []
    page = admin.get("/admin/plugins/").get_data(as_text=True)
    assert 'id="plugin-upload"' in page and 'enctype="multipart/form-data"' in page
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = admin.post(
        URL,
        data={"archive": (io.BytesIO(good("forged")), "f.zip"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    assert (instance.plugins_dir / "forged" / "plugin.toml").is_file()


@pytest.mark.parametrize(
    ("limits", "data", "message"),
    [
        (
            Limits(files=3),
            lambda: zip_bytes(
                {**in_folder("many", plugin_files("many")), "many/a": "", "many/b": ""}
            ),
            "the archive holds 4 entries, over the limit of 3",
        ),
        (
            Limits(unpacked_bytes=4096),
            lambda: zip_bytes(
                {**in_folder("fat", plugin_files("fat")), "fat/blob": os.urandom(5000)}
            ),
            "the archive unpacks to 5 KiB, over the 4 KiB limit",
        ),
        (
            Limits(archive_bytes=100),
            lambda: good("tiny"),
            "the archive is larger than the 100 bytes",
        ),
    ],
)
def test_service_limits(pteroca_instance, limits, data, message):
    with pteroca_instance.app.app_context():
        with pytest.raises(UploadRefused) as refused:
            install_zip(io.BytesIO(data()), limits=limits)
    assert message in str(refused.value)
    assert tree(pteroca_instance.plugins_dir) == []


def test_duplicate_members_are_refused(pteroca_instance):
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about the duplicate
        with zipfile.ZipFile(buffer, "w") as archive:
            for rel, content in in_folder("dup", plugin_files("dup")).items():
                archive.writestr(rel, content)
            archive.writestr("dup/__init__.py", "import os  # the second copy wins on extract")
    with pteroca_instance.app.app_context():
        with pytest.raises(UploadRefused, match="'dup/__init__.py' appears twice"):
            install_zip(io.BytesIO(buffer.getvalue()))
    assert tree(pteroca_instance.plugins_dir) == []


def test_cli_install_zip(runner, pteroca_instance, tmp_path):
    archive = tmp_path / "cli_plugin.zip"
    archive.write_bytes(good("cli_plugin"))
    result = runner.invoke(args=["plugin", "install-zip", str(archive)])
    assert result.exit_code == 0, result.output
    assert "installed cli_plugin 1.2.3 in " in result.output
    assert "it is not enabled" in result.output
    again = runner.invoke(args=["plugin", "install-zip", str(archive)])
    assert again.exit_code == 1
    assert "error: a plugin named 'cli_plugin' is already installed" in again.output
    assert tree(pteroca_instance.plugins_dir) == [
        "cli_plugin",
        "cli_plugin/__init__.py",
        "cli_plugin/plugin.toml",
    ]


@pytest.mark.parametrize("folder", ["__pycache__", ".hidden"])
def test_uploaded_payload_in_any_folder_is_scanned_and_never_runs(
    admin, plugins_dir, client, pteroca_instance, tmp_path, folder
):
    marker = tmp_path / "PAYLOAD_RAN"
    code = (
        "from .__pycache__ import payload  # noqa\n"
        if folder == "__pycache__"
        else "import sys, pathlib\nsys.path.insert(0, str(pathlib.Path(__file__).parent / "
        f"{folder!r}))\nimport payload  # noqa\n"
    )
    files = plugin_files("zipsneak", code=code)
    files[f"{folder}/payload.py"] = f"import os\nos.system('touch {marker}')\n"
    assert upload(admin, zip_bytes(in_folder("zipsneak", files))).status_code == 303
    assert (plugins_dir / "zipsneak" / folder / "payload.py").is_file()
    refused = admin.post("/admin/plugins/zipsneak/enable")
    assert refused.status_code == 400
    assert f"{folder}/payload.py" in refused.get_data(as_text=True)
    with pteroca_instance.app.app_context():
        from kernel.security import latest_scan

        record = latest_scan("zipsneak")
        assert record.verdict == "block" and f"{folder}/payload.py" in record.files
    client.get("/")
    assert not marker.exists()


def test_uploaded_plugin_edited_after_its_verdict_is_update_pending(
    admin, plugins_dir, client, pteroca_instance, tmp_path
):
    marker = tmp_path / "PAYLOAD_RAN"
    assert upload(admin, good("zipedit")).status_code == 303
    assert admin.post("/admin/plugins/zipedit/enable").status_code == 303
    assert client.get("/plugins/zipedit/").text == "uploaded page of zipedit"
    (plugins_dir / "zipedit" / "__pycache__").mkdir()
    (plugins_dir / "zipedit" / "__pycache__" / "later.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n"
    )
    pteroca_instance.rebuild()
    assert client.get("/plugins/zipedit/").status_code == 404
    page = admin.get("/admin/plugins/").get_data(as_text=True)
    assert "update_pending" in page and "added __pycache__/later.py" in page
    assert not marker.exists()
