"""The Jinja environments: the theme environment, and the admin environment beside it.

Every template that a theme can restyle (panel, landing, email, plugin pages) renders in
:class:`ThemeEnvironment`, with the theme sandbox (``kernel/theme_sandbox.py``) and plain
globals (``kernel/theme_context.py``). Admin templates (``admin/...``: Flask-Admin's, the
kernel's, the plugins') are trusted code: ``render_template("admin/...")`` from Python is
handed to the admin environment, an overlay with Jinja's stock sandbox whose loader holds
no theme; a theme template's own ``include``, ``extends`` or ``import`` of an admin name
finds nothing.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

import jinja2
from flask.templating import Environment as FlaskEnvironment
from jinja2.loaders import split_template_path

from kernel import theme_context
from kernel.theme_sandbox import ThemeSandbox

log = logging.getLogger("kernel.themes")
ADMIN_FOLDER = "admin"

# Set while a theme template renders: its own includes never reach the admin environment.
_rendering_theme: ContextVar[bool] = ContextVar("pteroca_rendering_theme", default=False)


def is_admin_template(name: str) -> bool:
    """``admin/...`` in any spelling a loader accepts (``./admin/x``, ``admin//x``)."""
    try:
        pieces = split_template_path(name)
    except jinja2.TemplateNotFound:
        return False
    return bool(pieces) and pieces[0] == ADMIN_FOLDER


class WithoutAdmin(jinja2.BaseLoader):
    """A loader that never serves admin templates (the theme environment's view of the
    plugin, kernel and Flask-Admin loaders)."""

    def __init__(self, loader: jinja2.BaseLoader):
        self.loader = loader

    def get_source(self, environment, template):
        if is_admin_template(template):
            raise jinja2.TemplateNotFound(template)
        return self.loader.get_source(environment, template)


class ThemeTemplate(jinja2.Template):
    """A template of the theme environment: sees plain globals, and falls back to the
    default theme when rendering a custom theme's page is refused."""

    def new_context(self, vars=None, shared=False, locals=None):
        if self.environment.strict:
            vars = {**(vars or {}), **theme_context.public_values()}
        return super().new_context(vars, shared, locals)

    def render(self, *args, **kwargs):
        token = _rendering_theme.set(True) if self.environment.strict else None
        try:
            return super().render(*args, **kwargs)
        except Exception as exc:  # a custom theme's page that breaks, however it breaks
            fallback = getattr(self.environment, "fallback", None)
            if fallback is None:
                raise
            log.error(
                "theme template %s failed (%s: %s); rendering the default theme's",
                self.name,
                type(exc).__name__,
                exc,
            )
            return fallback.get_template(self.name).render(*args, **kwargs)
        finally:
            if token is not None:
                _rendering_theme.reset(token)


class ThemeEnvironment(ThemeSandbox, FlaskEnvironment):
    """Flask's Jinja environment with the theme sandbox (``kernel/theme_sandbox.py``).

    ``render_template("admin/...")`` (a top-level render, no parent template) is handed
    to :attr:`admin`, the admin environment; a theme template's own ``extends``,
    ``include`` or ``import`` of an admin name finds nothing.
    """

    template_class = ThemeTemplate
    fallback: ThemeEnvironment | None = None
    admin: ThemeEnvironment | None = None

    def _to_admin(self, parent) -> bool:
        """A request from Python code (``render_template``, a Flask-Admin widget), not from
        inside a theme template (``include``, ``extends``, ``import``)."""
        return parent is None and self.admin is not None and not _rendering_theme.get()

    def get_template(self, name, parent=None, globals=None):
        if self._to_admin(parent) and isinstance(name, str) and is_admin_template(name):
            return self.admin.get_template(name, globals=globals)
        return super().get_template(name, parent, globals)

    def select_template(self, names, parent=None, globals=None):
        if (
            self._to_admin(parent)
            and not isinstance(names, str)
            and names
            and all(isinstance(n, str) and is_admin_template(n) for n in names)
        ):
            return self.admin.select_template(names, globals=globals)
        return super().select_template(names, parent, globals)
