"""pip-audit over a plugin's dependency set, pinned to the installed versions, against OSV.

The dependency set: for a pip-installed plugin, its distribution (itself and
its requirements, transitively, at the versions installed here); for a
drop-in or builtin plugin, ``python_dependencies`` from ``plugin.toml``
resolved the same way. The kernel's own distribution and its requirements
are the kernel's business and are not followed.

The advisory service is pip-audit's :class:`OsvService` aimed at
``PTEROCA_OSV_URL`` (an OSV-compatible server such as an internal mirror) with
its HTTP cache under the instance path; pip-audit's default PyPI service is
never used. Whatever could not be audited is reported as ``not-audited``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from kernel.plugins.discovery import DiscoveredPlugin
from kernel.security import policy
from kernel.security.findings import Finding

CHECK = "pip-audit"
KERNEL_DISTRIBUTION = "pteroca"
QUERY_PATH = "/v1/query"
TIMEOUT_SECONDS = 15

# ScanRecord.advisory_state values
STATE_NONE, STATE_OK, STATE_PARTIAL, STATE_UNREACHABLE = "none", "ok", "partial", "unreachable"


@dataclass
class DependencySet:
    """``pins``: canonical name -> version to audit; ``missing``: name -> why it cannot be."""

    source: str  # what findings point at: "plugin.toml" or "<dist> metadata"
    pins: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def fingerprint(self) -> dict[str, str]:
        """What the audit depends on, stored with the scan record so an upgrade forces a rescan."""
        return {**self.pins, **{name: "?" for name in self.missing}}


def query_url(osv_url: str) -> str:
    """``PTEROCA_OSV_URL`` is the service root (``https://api.osv.dev``) or the full query URL."""
    url = osv_url.rstrip("/")
    return url if url.endswith(QUERY_PATH) else url + QUERY_PATH


def _installed_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _requirements(dist_name: str, extras: set[str]) -> list[Requirement]:
    try:
        raw = metadata.requires(dist_name) or []
    except metadata.PackageNotFoundError:
        return []
    found = []
    for line in raw:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.marker is not None and not any(
            req.marker.evaluate({"extra": extra}) for extra in (extras or {""})
        ):
            continue
        found.append(req)
    return found


def _exact_pin(req: Requirement) -> str | None:
    specs = list(req.specifier)
    if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
        return specs[0].version
    return None


def _resolve(deps: DependencySet, roots: list[Requirement]) -> DependencySet:
    """Pin ``roots`` (markers already evaluated) and what they require, breadth first."""
    queue = list(roots)
    seen: set[str] = {KERNEL_DISTRIBUTION, *deps.pins}
    while queue:
        req = queue.pop(0)
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        installed = _installed_version(req.name)
        if installed is not None:
            deps.pins[name] = installed
            queue.extend(_requirements(req.name, set(req.extras)))
        elif (pin := _exact_pin(req)) is not None:
            deps.pins[name] = pin  # not installed: audit the version the plugin asks for
        else:
            deps.missing[name] = f"{req} is not installed and not pinned with =="
    return deps


def dependency_set(plugin: DiscoveredPlugin) -> DependencySet:
    dist = plugin.distribution
    if plugin.source == "entry_point" and dist and canonicalize_name(dist) != KERNEL_DISTRIBUTION:
        deps = DependencySet(source=f"{dist} metadata")
        version = plugin.distribution_version or _installed_version(dist)
        if version:
            deps.pins[canonicalize_name(dist)] = version
        roots = _requirements(dist, set())
    else:
        deps = DependencySet(source="plugin.toml")
        roots = []
        for line in plugin.manifest.python_dependencies if plugin.manifest else []:
            try:
                req = Requirement(line)
            except InvalidRequirement:
                deps.missing[line] = f"{line!r} is not a valid requirement"
                continue
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                roots.append(req)
    return _resolve(deps, roots)


def _not_audited(deps: DependencySet, subject: str, why: str, require_audit: bool) -> Finding:
    return Finding(
        check=CHECK,
        rule=policy.NOT_AUDITED_RULE,
        severity=policy.not_audited_severity(require_audit),
        file=deps.source,
        line=None,
        message=f"{subject}: not audited, {why}",
    )


def audit(
    deps: DependencySet,
    *,
    osv_url: str,
    cache_dir: Path,
    require_audit: bool,
    timeout: float = TIMEOUT_SECONDS,
) -> tuple[list[Finding], str]:
    """(findings, advisory_state) for a dependency set. Never calls PyPI's own service."""
    findings = [_not_audited(deps, name, why, require_audit) for name, why in deps.missing.items()]
    if not deps.pins:
        return findings, STATE_PARTIAL if deps.missing else STATE_NONE

    import requests
    from pip_audit._service.interface import ConnectionError as OsvUnreachable
    from pip_audit._service.interface import ResolvedDependency, ServiceError
    from pip_audit._service.osv import OsvService

    cache_dir.mkdir(parents=True, exist_ok=True)
    url = query_url(osv_url)
    service = OsvService(cache_dir=cache_dir, timeout=timeout, osv_url=url)
    pins = sorted(deps.pins.items())
    audited = failed = 0
    for position, (name, version) in enumerate(pins):
        try:
            dependency = ResolvedDependency(name=name, version=Version(version))
        except InvalidVersion:
            findings.append(
                _not_audited(deps, f"{name} {version}", "not a PEP 440 version", require_audit)
            )
            continue
        try:
            _, vulns = service.query(dependency)
        except (OsvUnreachable, requests.ConnectionError, requests.Timeout) as exc:
            rest = [n for n, _ in pins[position:]]
            findings.append(
                _not_audited(
                    deps,
                    "advisory service",
                    f"{url} unreachable ({type(exc).__name__}); "
                    f"{len(rest)} unchecked: {', '.join(rest)}",
                    require_audit,
                )
            )
            return findings, STATE_PARTIAL if audited else STATE_UNREACHABLE
        except (ServiceError, requests.RequestException, ValueError, KeyError, TypeError) as exc:
            failed += 1
            findings.append(
                _not_audited(
                    deps,
                    f"{name} {version}",
                    f"the advisory service failed: {exc.__cause__ or exc}",
                    require_audit,
                )
            )
            continue
        audited += 1
        for vuln in vulns:
            fixes = ", ".join(str(v) for v in vuln.fix_versions)
            findings.append(
                Finding(
                    check=CHECK,
                    rule=vuln.id,
                    severity=policy.vulnerability_severity(bool(vuln.fix_versions)),
                    file=deps.source,
                    line=None,
                    message=f"{name} {version}: {vuln.description.strip()[:300]} "
                    + (f"(fixed in {fixes})" if fixes else "(no fixed version)"),
                )
            )
    if audited == 0 and failed:
        return findings, STATE_UNREACHABLE
    return findings, STATE_OK if audited == len(pins) and not deps.missing else STATE_PARTIAL
