"""Themes: discovery, the sandboxed template loader, cache-busted static files, ``theme create``.

A theme is data. Its templates render in a sandboxed Jinja environment whose rules
are an allow-list (``kernel/theme_sandbox.py``): plain values, declared fields of
models, registered helpers; Flask's ``request``, ``session``, ``g``, ``config`` and
``current_user`` are replaced by plain views (``kernel/theme_context.py``). Only a
theme's ``panel/``, ``landing/`` and ``email/`` folders are read. Loader order:
active theme -> default theme -> plugin templates -> kernel templates.

Admin templates (``admin/...``: Flask-Admin, the kernel's and plugins' admin pages)
are trusted code and render in a second environment, the *admin environment*: the
same globals and filters with Jinja's stock sandbox, loading plugin, kernel and
Flask-Admin templates and never a theme (``kernel/theme_environment.py``). A theme
template cannot load them.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import pteroca_themes
from flask import (
    Flask,
    abort,
    current_app,
    g,
    has_app_context,
    request,
    send_from_directory,
    url_for,
)

from kernel import theme_context, theme_sandbox
from kernel.theme_environment import ADMIN_FOLDER, ThemeEnvironment, WithoutAdmin

log = logging.getLogger(__name__)

DEFAULT_THEME_DIR = Path(pteroca_themes.__file__).resolve().parent / "default"
CONTEXTS = ("panel", "landing", "email")
NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{1,47}$")
STATIC_MAX_AGE = 365 * 24 * 3600  # a versioned URL never changes content
UNVERSIONED_MAX_AGE = 3600


class ThemeError(ValueError):
    """A theme that cannot be used or created; the message is one line."""


@dataclass(frozen=True)
class Theme:
    name: str
    path: Path
    display_name: str = ""
    version: str = ""
    author: str = ""
    contexts: tuple[str, ...] = CONTEXTS
    builtin: bool = False
    errors: tuple[str, ...] = field(default=())

    @property
    def static_dir(self) -> Path:
        return self.path / "static"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "display_name": self.display_name or self.name,
            "version": self.version,
            "author": self.author,
            "contexts": list(self.contexts),
            "path": str(self.path),
            "builtin": self.builtin,
            "errors": list(self.errors),
        }


def read_theme(path: Path, *, builtin: bool = False) -> Theme:
    """Read ``theme.toml``; problems are kept on the theme (``errors``), never raised."""
    name = path.name
    try:
        data = tomllib.loads((path / "theme.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return Theme(name=name, path=path, errors=(f"theme.toml: {exc}",))
    errors = []
    if data.get("name", name) != name:
        errors.append(f"theme.toml name {data.get('name')!r} differs from the folder {name!r}")
    contexts = data.get("contexts", list(CONTEXTS))
    if not isinstance(contexts, list) or any(c not in CONTEXTS for c in contexts):
        errors.append(f"contexts must be a list drawn from {', '.join(CONTEXTS)}")
        contexts = []
    return Theme(
        name=name,
        path=path,
        display_name=str(data.get("display_name", name)),
        version=str(data.get("version", "")),
        author=str(data.get("author", "")),
        contexts=tuple(contexts),
        builtin=builtin,
        errors=tuple(errors),
    )


def discover_themes(themes_dir: str | Path | None) -> dict[str, Theme]:
    """The packaged default theme plus every folder with a ``theme.toml`` under ``themes_dir``."""
    found = {"default": read_theme(DEFAULT_THEME_DIR, builtin=True)}
    folder = Path(themes_dir) if themes_dir else None
    if folder and folder.is_dir():
        for child in sorted(folder.iterdir()):
            if child.name == "default" or not (child / "theme.toml").is_file():
                continue  # "default" is always the packaged one
            if not NAME_RE.match(child.name):
                continue
            found[child.name] = read_theme(child)
    return found


def themes_dir(app: Flask | None = None) -> Path:
    return Path((app or current_app).config["THEMES_DIR"])


# --- templates -------------------------------------------------------------------------


class ThemeLoader(jinja2.BaseLoader):
    """Templates of the given themes, in order; only their context folders are visible.

    ``panel/...``, ``landing/...`` and ``email/...`` come from the theme as named.
    A plugin's template ``<plugin>/page.html`` may be restyled by a theme file
    ``panel/<plugin>/page.html``. Anything else (``admin/...``) is not a theme's.
    """

    def __init__(self, themes: list[Theme], plugin_names: frozenset[str] = frozenset()):
        self.themes = themes
        self.plugin_names = plugin_names - {ADMIN_FOLDER}

    def _candidates(self, template: str) -> list[tuple[Theme, str]]:
        pieces = template.split("/")
        if any(p in ("", ".", "..") for p in pieces) or "\\" in template:
            return []
        first = pieces[0]
        out = []
        for theme in self.themes:
            if first in CONTEXTS and first in theme.contexts:
                out.append((theme, template))
            elif first in self.plugin_names and "panel" in theme.contexts:
                out.append((theme, "panel/" + template))
        return out

    @staticmethod
    def _file(theme: Theme, relative: str) -> Path | None:
        path = theme.path.joinpath(*relative.split("/"))
        # A symlink must not lead out of the theme folder.
        if path.is_file() and path.resolve().is_relative_to(theme.path.resolve()):
            return path
        return None

    def get_source(self, environment, template):
        for theme, relative in self._candidates(template):
            path = self._file(theme, relative)
            if path is not None:
                source = path.read_text(encoding="utf-8")
                mtime = path.stat().st_mtime
                return (
                    source,
                    str(path),
                    lambda p=path, m=mtime: p.is_file() and p.stat().st_mtime == m,
                )
        raise jinja2.TemplateNotFound(template)

    def load(self, environment, name, globals=None):
        # A theme template that does not compile falls back to the next theme's copy.
        for theme, relative in self._candidates(name):
            if self._file(theme, relative) is None:
                continue
            try:
                return ThemeLoader([theme], self.plugin_names).load_one(environment, name, globals)
            except jinja2.TemplateSyntaxError as exc:
                if theme.builtin:
                    raise
                log.error(
                    "theme %s: template %s does not compile (%s); using the next theme",
                    theme.name,
                    name,
                    exc,
                )
        raise jinja2.TemplateNotFound(name)

    def load_one(self, environment, name, globals):
        return super().load(environment, name, globals)


@dataclass
class ThemeState:
    """What one app build uses: the active theme, the default one, static file versions."""

    active: Theme
    default: Theme
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def chain(self) -> list[Theme]:
        return [self.active] if self.active.name == "default" else [self.active, self.default]

    def static_file(self, filename: str) -> Path | None:
        for theme in self.chain:
            path = (theme.static_dir / filename).resolve()
            if path.is_relative_to(theme.static_dir.resolve()) and path.is_file():
                return path
        return None

    def version(self, filename: str) -> str:
        if filename not in self.versions:
            path = self.static_file(filename)
            self.versions[filename] = (
                hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path else ""
            )
        return self.versions[filename]


def active_theme_name() -> str:
    from kernel.extensions import database_ready

    if not database_ready():
        return "default"
    from kernel import site_settings

    return site_settings.get("active_theme") or "default"


def install_loader(app: Flask, plugin_names, after: list[jinja2.BaseLoader]) -> None:
    """Set the app's loader: active theme -> default theme -> ``after`` (plugins, kernel, ...).

    The active theme is read from the site settings now, at app build; changing
    it bumps the plugin generation, so every process rebuilds with the new one.
    When a custom theme is active, a second environment over the default theme
    renders the pages the custom theme breaks.
    """
    found = discover_themes(app.config.get("THEMES_DIR"))
    with app.app_context():
        name = active_theme_name()
    active = found.get(name)
    if active is None or active.errors:
        problem = "not installed" if active is None else "invalid: " + "; ".join(active.errors)
        app.logger.error("active theme %r is %s; using the default theme", name, problem)
        active = found["default"]
    state = ThemeState(active=active, default=found["default"])
    app.extensions["pteroca_theme"] = state
    plugins = frozenset(plugin_names)
    env = app.jinja_env
    admin = env.overlay(loader=jinja2.ChoiceLoader(after))
    admin.strict, admin.fallback, admin.admin = False, None, None
    admin.policies = dict(env.policies)  # Flask's JSON encoder stays for admin templates
    env.policies["json.dumps_function"] = theme_sandbox.json_dumps
    env.admin = admin
    env.loader = jinja2.ChoiceLoader(
        [ThemeLoader(state.chain, plugins), WithoutAdmin(jinja2.ChoiceLoader(after))]
    )
    if active.name != "default":
        fallback = env.overlay(
            loader=jinja2.ChoiceLoader(
                [ThemeLoader([state.default], plugins), WithoutAdmin(jinja2.ChoiceLoader(after))]
            )
        )
        fallback.fallback = None
        env.fallback = fallback


def init_app(app: Flask) -> None:
    """Sandbox the Jinja environment and add theme helpers (call before jinja_env is used)."""
    app.jinja_environment = ThemeEnvironment
    env = app.jinja_env
    env.globals["config"] = theme_context.public_config(app.config)
    env.globals["theme_url"] = theme_url
    env.globals["site_name"] = site_name
    env.globals["event_label"] = label_for

    @app.errorhandler(jinja2.exceptions.SecurityError)
    def _refused(exc):
        app.logger.error("a template was refused by the sandbox: %s", exc)
        return (
            "<!doctype html><title>Error</title><h1>Something went wrong</h1>"
            "<p>This page could not be shown. The error was logged.</p>",
            500,
        )


def label_for(action: str) -> str:
    """Words for an audit or activity event (:mod:`kernel.audit_labels`)."""
    from kernel.audit_labels import label_for as registered

    return registered(action)


def site_name() -> str:
    """The site's name for page titles (read once per request)."""
    if "pteroca_site_name" not in g:
        from kernel import site_settings
        from kernel.extensions import database_ready

        name = site_settings.get("site_name") if database_ready() else ""
        g.pteroca_site_name = name or "pteroca"
    return g.pteroca_site_name


# --- static files ------------------------------------------------------------------------


def theme_url(filename: str) -> str:
    """URL of a theme static file with a content hash, so it can be cached for a year."""
    state: ThemeState = current_app.extensions["pteroca_theme"]
    version = state.version(filename)
    if version:
        return url_for("web.theme_static", filename=filename, v=version)
    return url_for("web.theme_static", filename=filename)


def send_static(filename: str):
    """Serve a static file of the active theme, else of the default theme."""
    state: ThemeState = current_app.extensions["pteroca_theme"]
    path = state.static_file(filename)
    if path is None:
        abort(404)
    versioned = request.args.get("v") == state.version(filename)
    response = send_from_directory(
        path.parent, path.name, max_age=STATIC_MAX_AGE if versioned else UNVERSIONED_MAX_AGE
    )
    if versioned:
        response.cache_control.immutable = True
    return response


# --- management ----------------------------------------------------------------------------


def check_name(name: str) -> None:
    if not NAME_RE.match(name or ""):
        raise ThemeError(
            f"{name!r} is not a valid theme name: use 2-48 characters a-z, 0-9, "
            "_ or -, starting with a letter"
        )


def create_theme(name: str, directory: str | Path, *, actor: str | None = None) -> Theme:
    """Copy the default theme to ``directory/name`` as a starting point."""
    check_name(name)
    target = Path(directory) / name
    if name == "default" or target.exists():
        raise ThemeError(f"a theme named {name!r} already exists")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(
        DEFAULT_THEME_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    manifest = (DEFAULT_THEME_DIR / "theme.toml").read_text(encoding="utf-8")
    manifest = re.sub(r"(?m)^name\s*=.*$", f'name = "{name}"', manifest)
    manifest = re.sub(r"(?m)^display_name\s*=.*$", f'display_name = "{name}"', manifest)
    manifest = re.sub(r"(?m)^version\s*=.*$", 'version = "0.1.0"', manifest)
    (target / "theme.toml").write_text(manifest, encoding="utf-8")
    if has_app_context():
        from kernel import audit

        audit.record("theme.created", name, {"path": str(target)}, actor=actor)
    return read_theme(target)


def set_active_theme(name: str, *, actor: str | None = None) -> None:
    """Store the active theme and bump the generation so every process rebuilds its app."""
    from kernel import audit, site_settings
    from kernel.generation import bump_generation

    theme = discover_themes(themes_dir()).get(name)
    if theme is None:
        raise ThemeError(f"no theme named {name!r}")
    if theme.errors:
        raise ThemeError(f"theme {name!r} is invalid: {'; '.join(theme.errors)}")
    changed = site_settings.set_many({"active_theme": name})
    if changed:
        audit.record("theme.activated", name, actor=actor)
        bump_generation()
