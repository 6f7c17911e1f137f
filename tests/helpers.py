"""What pteroca's own tests share beyond the public fixtures (kernel.pytest_plugin and the
builders in kernel.testing): drop-in plugins written to disk, users on a test's own app, a
served app, themes."""

from __future__ import annotations

import textwrap
from contextlib import contextmanager
from pathlib import Path


def write_plugin(
    plugins_dir: Path,
    name: str,
    code: str = "",
    *,
    capabilities=(),
    version="1.0.0",
    kernel=">=0.1",
    requires: dict | None = None,
    extra_manifest: str = "",
    files: dict[str, str] | None = None,
) -> Path:
    """Create a drop-in plugin folder ``plugins_dir/name`` and return it."""
    folder = Path(plugins_dir) / name
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        f'name = "{name}"',
        f'version = "{version}"',
        f'kernel = "{kernel}"',
        f'description = "test plugin {name}"',
        "capabilities = [" + ", ".join(f'"{c}"' for c in capabilities) + "]",
    ]
    manifest = "\n".join(lines) + "\n" + textwrap.dedent(extra_manifest)
    if requires:
        manifest += "\n[requires]\n" + "".join(f'{k} = "{v}"\n' for k, v in requires.items())
    (folder / "plugin.toml").write_text(manifest)
    (folder / "__init__.py").write_text(textwrap.dedent(code))
    for rel, content in (files or {}).items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content))
    return folder


PAGE_PLUGIN = """
from flask import Blueprint
from kernel import hookimpl

bp = Blueprint("{name}", __name__)

@bp.get("/")
def index():
    return "hello from {name}"

@hookimpl
def register_blueprints(app):
    return [bp]
"""


def page_plugin(plugins_dir: Path, name: str, **kwargs) -> Path:
    """A drop-in plugin serving ``/plugins/<name>/`` with a fixed text."""
    kwargs.setdefault("capabilities", ["routes"])
    return write_plugin(plugins_dir, name, PAGE_PLUGIN.format(name=name), **kwargs)


PASSWORD = "correct horse battery"


def make_user(
    email: str = "user@example.com",
    password: str = PASSWORD,
    *,
    name: str = "",
    role: str = "customer",
    verified: bool = True,
    **columns,
):
    """Create a user through the real service (inside an app context) and return it."""
    from kernel.accounts.services import create_user
    from kernel.extensions import db

    user = create_user(email, password, name=name, role=role, verified=verified)
    for key, value in columns.items():
        setattr(user, key, value)
    if columns:
        db.session.commit()
    return user


def post_login(client, email: str = "user@example.com", password: str = PASSWORD, **extra):
    """POST the login form (success not required); returns the response."""
    return client.post("/login", data={"email": email, "password": password, **extra})


@contextmanager
def served(app, poll_seconds: float = 0.2):
    """Serve ``app`` on a free local port from a threaded server (as the hot swap does in
    production: rebuilt after plugin changes); yields the base URL."""
    import threading

    from werkzeug.serving import make_server

    from kernel.testing import rebuild
    from kernel.wsgi import HotSwapApplication

    wsgi = HotSwapApplication(factory=lambda: rebuild(app), poll_seconds=poll_seconds)
    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def make_theme(app, name: str, files: dict[str, str], activate: bool = True):
    """Write a theme folder with ``files`` (path -> text) and, unless told not to, make it
    the active theme (an app built afterwards uses it)."""
    from kernel import site_settings

    root = Path(app.config["THEMES_DIR"]) / name
    root.mkdir(parents=True)
    (root / "theme.toml").write_text(
        f'name = "{name}"\nversion = "1.0"\ncontexts = ["panel", "landing", "email"]\n'
    )
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    if activate:
        with app.app_context():
            site_settings.set_many({"active_theme": name})
    return root


def walk_pages(client, url: str, row_pattern: str, rel: str = "next") -> list[list[int]]:
    """The row ids (``row_pattern``'s group) of every page of a cursor-paged list from ``url``
    on, following its ``rel="next"`` (or ``"prev"``) links as a person clicking does."""
    import html
    import re

    link, row = re.compile(rf'rel="{rel}" href="([^"]+)"'), re.compile(row_pattern)
    pages: list[list[int]] = []
    while url:
        page = client.get(url)
        assert page.status_code == 200, (url, page.status_code)
        pages.append([int(found) for found in row.findall(page.text)])
        found = link.search(page.text)
        url = html.unescape(found.group(1)) if found else ""
        assert len(pages) < 1000, "the links go round in a circle"
    return pages
