"""Forms generated from declared settings (site settings and plugin manifests).

A field is described by a :class:`~kernel.plugins.manifest.SettingSpec`. Secrets
are write-only: never rendered back; an empty submit keeps the stored value.
Values overridden by the environment are shown read-only and never submitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

from kernel.setting_types import SettingSpec


@dataclass
class Field:
    spec: SettingSpec
    value: Any = None
    readonly_note: str = ""  # why the value cannot be changed here
    stored: bool = False  # a secret has a stored value
    choices: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def widget(self) -> str:
        if self.choices or self.spec.type == "choice":
            return "select"
        return {
            "bool": "checkbox",
            "text": "textarea",
            "int": "number",
            "secret": "password",
            "url": "url",
            "email": "email",
        }.get(self.spec.type, "text")

    @property
    def options(self) -> tuple[str, ...]:
        return self.choices or self.spec.choices

    @property
    def shown_value(self) -> str:
        if self.spec.secret or self.spec.type == "secret" or self.value is None:
            return ""
        return str(self.value)


def is_secret(spec: SettingSpec) -> bool:
    return spec.secret or spec.type == "secret"


def read_form(fields: list[Field], form: MultiDict) -> dict[str, Any]:
    """The values a submitted form changes (read-only fields and kept secrets are left out)."""
    values: dict[str, Any] = {}
    for field in fields:
        if field.readonly_note:
            continue
        key = field.key
        if field.spec.type == "bool":
            values[key] = key in form
        elif is_secret(field.spec):
            if form.get(f"clear-{key}"):
                values[key] = ""
            elif form.get(key, ""):
                values[key] = form[key]
        else:
            values[key] = form.get(key, "")
    return values


def with_submitted(fields: list[Field], form: MultiDict) -> list[Field]:
    """Fields showing what was submitted (after a refused save); secrets stay blank."""
    for field in fields:
        if field.readonly_note or is_secret(field.spec):
            continue
        field.value = (field.key in form) if field.spec.type == "bool" else form.get(field.key, "")
    return fields
