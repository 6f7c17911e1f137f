"""A plugin's templates and static files, served only from the bytes its verdict recorded.

Templates are code of a kind (Jinja runs them) and static files reach every
browser, so they get the verified loader's rule: a file is read once, its sha256
is checked against the admission's list, and those bytes are used. A file added
or changed after the scan is refused (the template fails to render, the static
URL answers 404) and the refusal makes the process rebuild, which turns the
plugin ``update_pending`` with the reason.
"""

from __future__ import annotations

import io
import mimetypes
import os
import posixpath

import jinja2
from flask import Blueprint, Flask, abort, current_app, send_file

from kernel.plugins.verified import Admission, PluginImportRefused, admission_of


class TemplateRefused(jinja2.TemplateError):
    """A plugin template exists but is not the verified one (a ChoiceLoader does not skip it)."""


def _join(folder: str | None, name: str) -> str | None:
    """``folder/name`` as a key of the file list, or None if it would leave ``folder``."""
    if folder is None:
        return None
    clean = posixpath.normpath(name.replace("\\", "/"))
    if clean.startswith(("../", "/")) or clean in ("..", "."):
        return None
    return posixpath.join(folder, clean) if folder else clean


class VerifiedTemplateLoader(jinja2.BaseLoader):
    """Templates below ``folder`` (relative to the plugin root) of one admission."""

    def __init__(self, admission: Admission, folder: str | None):
        self.admission, self.folder = admission, folder

    def get_source(self, environment, template):
        rel = _join(self.folder, template)
        if rel is None:
            raise jinja2.TemplateNotFound(template)
        path = os.path.join(self.admission.root, rel)
        if rel not in self.admission.files and not os.path.lexists(path):
            raise jinja2.TemplateNotFound(template)
        try:
            data = self.admission.read(rel)
        except PluginImportRefused as exc:
            raise TemplateRefused(f"{template}: {exc}") from None
        return data.decode("utf-8"), path, lambda: True  # compiled from verified bytes

    def list_templates(self):
        prefix = f"{self.folder}/" if self.folder else ""
        return sorted(
            rel[len(prefix) :]
            for rel in self.admission.files
            if rel.startswith(prefix) and "__pycache__" not in rel.split("/")
        )


def send_verified(
    admission: Admission, folder: str | None, filename: str, max_age: int | None = None
):
    """A verified static file of the plugin as a response; 404 for anything else."""
    rel = _join(folder, filename)
    if rel is None or rel not in admission.files:
        if rel is not None and os.path.lexists(os.path.join(admission.root, rel)):
            admission.refused(f"{rel} is not among the files its scan verified")
        abort(404)
    try:
        data = admission.read(rel)
    except PluginImportRefused:
        abort(404)
    mimetype = mimetypes.guess_type(rel)[0] or "application/octet-stream"
    return send_file(
        io.BytesIO(data),
        mimetype=mimetype,
        download_name=posixpath.basename(rel),
        etag=admission.files[rel][:32],
        conditional=True,
        max_age=max_age if max_age is not None else current_app.get_send_file_max_age(filename),
    )


def folder_of(admission: Admission, path: str | os.PathLike | None) -> str | None:
    """``path`` relative to the plugin root ("" for the root), None when outside it."""
    if path is None:
        return None
    return admission.relative(path)


def protect_blueprint(app: Flask, blueprint: Blueprint, module: str) -> None:
    """Route a plugin blueprint's templates and static files through its admission."""
    admission = admission_of(module)
    if admission is None:
        return
    if blueprint.template_folder is not None:
        folder = folder_of(admission, os.path.join(blueprint.root_path, blueprint.template_folder))
        blueprint.jinja_loader = VerifiedTemplateLoader(admission, folder)
    if blueprint.has_static_folder:
        folder = folder_of(admission, blueprint.static_folder)
        endpoint = f"{blueprint.name}.static"
        if endpoint in app.view_functions:
            app.view_functions[endpoint] = lambda filename, _a=admission, _f=folder: send_verified(
                _a, _f, filename
            )
