"""A typed setting: its declaration, how a raw value becomes its type, and the refusal.

Plugin settings (declared in ``plugin.toml``, :mod:`kernel.plugins.manifest`) and site-wide
settings (:mod:`kernel.site_settings`) are the same kind of thing; both read and store their
values through this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SettingSpec:
    """One declared setting: key, type (string, int, bool, choice, url, email), default, label."""

    key: str
    type: str = "string"
    default: Any = None
    label: str = ""
    description: str = ""
    secret: bool = False
    required: bool = False
    choices: tuple[str, ...] = ()
    # What a person reads for each choice, in the same order (empty: the choices themselves).
    # A choice value may carry an id a provisioner needs ("Paper (#3)"); the customer reads
    # "Paper" (a checkout form shows names, not internal ids).
    choice_labels: tuple[str, ...] = ()
    # Bounds of an int setting (None: unbounded); a value outside is refused with a sentence.
    minimum: int | None = None
    maximum: int | None = None

    def choice_label(self, value: Any) -> str:
        """The words shown for the choice ``value``."""
        if self.choice_labels and value in self.choices:
            return self.choice_labels[self.choices.index(value)]
        return str(value)


class SettingError(ValueError):
    """A value a user supplied that the setting's type refuses."""


def coerce(spec: SettingSpec, raw: Any) -> Any:
    """Turn a stored or submitted value into the setting's type, or raise SettingError."""
    if raw is None:
        return None
    if spec.type == "int":
        try:
            number = int(raw)
        except (TypeError, ValueError):
            raise SettingError(f"{spec.label} must be a whole number") from None
        if spec.minimum is not None and number < spec.minimum:
            raise SettingError(f"{spec.label} must be at least {spec.minimum}")
        if spec.maximum is not None and number > spec.maximum:
            raise SettingError(f"{spec.label} must be at most {spec.maximum}")
        return number
    if spec.type == "bool":
        if isinstance(raw, bool):
            return raw
        low = str(raw).strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off", ""):
            return False
        raise SettingError(f"{spec.label} must be true or false")
    value = str(raw)
    if spec.type == "choice" and value not in spec.choices:
        raise SettingError(f"{spec.label} must be one of: {', '.join(spec.choices)}")
    if spec.type == "url" and value and not value.startswith(("http://", "https://")):
        raise SettingError(f"{spec.label} must start with http:// or https://")
    if spec.type == "email" and value and "@" not in value:
        raise SettingError(f"{spec.label} must be an email address")
    return value
