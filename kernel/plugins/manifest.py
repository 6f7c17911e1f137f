"""``plugin.toml``: reading and validating a plugin manifest without importing the plugin."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from kernel.setting_types import SettingSpec

MANIFEST_FILE = "plugin.toml"
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,47}$")
SETTING_TYPES = ("string", "text", "int", "bool", "choice", "secret", "url", "email")
REQUIRED_FIELDS = ("name", "version", "kernel")


@dataclass(frozen=True)
class ManifestError:
    """One problem in a manifest; ``field`` names the key at fault."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass
class Manifest:
    name: str
    version: str
    kernel: str
    display_name: str = ""
    description: str = ""
    author: str = ""
    license: str = ""
    url_prefix: str = ""
    requires: dict[str, str] = field(default_factory=dict)
    capabilities: list[str] = field(default_factory=list)
    settings: dict[str, SettingSpec] = field(default_factory=dict)
    python_dependencies: list[str] = field(default_factory=list)

    @property
    def kernel_specifier(self) -> SpecifierSet:
        return SpecifierSet(self.kernel)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "version": self.version,
            "description": self.description,
            "author": self.author,
            "license": self.license,
            "kernel": self.kernel,
            "requires": dict(self.requires),
            "capabilities": list(self.capabilities),
            "settings": {k: s.__dict__ for k, s in self.settings.items()},
            "python_dependencies": list(self.python_dependencies),
        }


class ManifestInvalid(Exception):
    def __init__(self, errors: list[ManifestError]):
        super().__init__("; ".join(map(str, errors)))
        self.errors = errors


def _str(data: dict, key: str, errors: list, *, required: bool = False) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        errors.append(ManifestError(key, f"must be a string, not {type(value).__name__}"))
        return ""
    if required and not value.strip():
        errors.append(ManifestError(key, "is required"))
    return value


def _settings(raw: Any, errors: list) -> dict[str, SettingSpec]:
    if not isinstance(raw, dict):
        errors.append(ManifestError("settings", "must be a table of [settings.<key>] tables"))
        return {}
    out: dict[str, SettingSpec] = {}
    for key, spec in raw.items():
        where = f"settings.{key}"
        if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
            errors.append(ManifestError(where, "key must be lower_snake_case"))
            continue
        if not isinstance(spec, dict):
            errors.append(ManifestError(where, "must be a table"))
            continue
        kind = spec.get("type", "string")
        if kind not in SETTING_TYPES:
            errors.append(
                ManifestError(
                    f"{where}.type",
                    f"unknown type {kind!r}; use one of " + ", ".join(SETTING_TYPES),
                )
            )
            continue
        choices = spec.get("choices", [])
        if kind == "choice" and (not isinstance(choices, list) or not choices):
            errors.append(
                ManifestError(f"{where}.choices", "a choice setting needs a list of choices")
            )
            continue
        default = spec.get("default")
        if kind == "int" and default is not None and not isinstance(default, int):
            errors.append(ManifestError(f"{where}.default", "must be an integer"))
            continue
        bounds = {name: spec.get(name) for name in ("min", "max")}
        if any(v is not None for v in bounds.values()) and (
            kind != "int"
            or not all(
                v is None or (isinstance(v, int) and not isinstance(v, bool))
                for v in bounds.values()
            )
            or (None not in bounds.values() and bounds["min"] > bounds["max"])
        ):
            errors.append(
                ManifestError(f"{where}.min", "min and max are whole numbers of an int setting")
            )
            continue
        if (
            kind == "int"
            and isinstance(default, int)
            and not (
                (bounds["min"] is None or default >= bounds["min"])
                and (bounds["max"] is None or default <= bounds["max"])
            )
        ):
            errors.append(ManifestError(f"{where}.default", "is outside min and max"))
            continue
        if kind == "bool" and default is not None and not isinstance(default, bool):
            errors.append(ManifestError(f"{where}.default", "must be true or false"))
            continue
        if kind == "choice" and default is not None and default not in choices:
            errors.append(
                ManifestError(f"{where}.default", f"{default!r} is not one of the choices")
            )
            continue
        out[key] = SettingSpec(
            key=key,
            type=kind,
            default=default,
            label=str(spec.get("label", key.replace("_", " ").capitalize())),
            description=str(spec.get("description", "")),
            secret=bool(spec.get("secret", kind == "secret")),
            required=bool(spec.get("required", False)),
            choices=tuple(str(c) for c in choices),
            minimum=bounds["min"],
            maximum=bounds["max"],
        )
    return out


def parse_manifest(data: dict[str, Any]) -> Manifest:
    """Validate a decoded manifest; raise :class:`ManifestInvalid` listing every field at fault."""
    errors: list[ManifestError] = []
    for key in REQUIRED_FIELDS:
        if key not in data:
            errors.append(ManifestError(key, "is required"))
    name = _str(data, "name", errors)
    if name and not NAME_RE.match(name):
        errors.append(
            ManifestError(
                "name",
                f"{name!r} must be 2-48 characters of a-z, 0-9 and _, starting with a letter",
            )
        )
    version = _str(data, "version", errors)
    if version:
        try:
            Version(version)
        except InvalidVersion:
            errors.append(ManifestError("version", f"{version!r} is not a valid version (PEP 440)"))
    kernel = _str(data, "kernel", errors)
    if kernel:
        try:
            SpecifierSet(kernel)
        except InvalidSpecifier:
            errors.append(
                ManifestError("kernel", f"{kernel!r} is not a version range like '>=0.1,<1'")
            )
    requires_raw = data.get("requires", {})
    requires: dict[str, str] = {}
    if not isinstance(requires_raw, dict):
        errors.append(ManifestError("requires", 'must be a table of plugin = "version range"'))
    else:
        for dep, spec in requires_raw.items():
            try:
                SpecifierSet(spec if isinstance(spec, str) else "!")
                requires[dep] = spec
            except InvalidSpecifier:
                errors.append(ManifestError(f"requires.{dep}", f"{spec!r} is not a version range"))
    caps = data.get("capabilities", [])
    if not isinstance(caps, list) or not all(isinstance(c, str) for c in caps):
        errors.append(ManifestError("capabilities", "must be a list of strings"))
        caps = []
    deps = data.get("python_dependencies", [])
    if not isinstance(deps, list):
        errors.append(ManifestError("python_dependencies", "must be a list of requirement strings"))
        deps = []
    for dep in deps:
        try:
            Requirement(str(dep))
        except InvalidRequirement as exc:
            errors.append(ManifestError("python_dependencies", f"{dep!r}: {exc}"))
    settings = _settings(data.get("settings", {}), errors)
    url_prefix = _str(data, "url_prefix", errors)
    if url_prefix and not url_prefix.startswith("/"):
        errors.append(ManifestError("url_prefix", "must start with '/'"))
    display_name = _str(data, "display_name", errors)
    manifest = Manifest(
        name=name,
        version=version,
        kernel=kernel,
        display_name=display_name or name.replace("_", " ").title(),
        description=_str(data, "description", errors),
        author=_str(data, "author", errors),
        license=_str(data, "license", errors),
        url_prefix=url_prefix,
        requires=requires,
        capabilities=list(caps),
        settings=settings,
        python_dependencies=[str(d) for d in deps],
    )
    if errors:
        raise ManifestInvalid(errors)
    return manifest


def read_manifest(package_dir: Path) -> Manifest:
    """Read ``plugin.toml`` from a plugin's package folder."""
    path = Path(package_dir) / MANIFEST_FILE
    if not path.is_file():
        raise ManifestInvalid([ManifestError(MANIFEST_FILE, f"not found in {package_dir}")])
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ManifestInvalid([ManifestError(MANIFEST_FILE, f"is not valid TOML: {exc}")]) from None
    return parse_manifest(data)
