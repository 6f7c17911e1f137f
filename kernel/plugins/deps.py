"""Dependency rules: kernel range, required plugins, cycles, enable order, dependents."""

from __future__ import annotations

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from kernel.plugins.discovery import DiscoveredPlugin


class DependencyError(Exception):
    """A dependency rule refused the operation; the message says which and why."""


def check_kernel_range(plugin: DiscoveredPlugin, kernel_version: str) -> None:
    spec = plugin.manifest.kernel_specifier
    if Version(kernel_version) not in spec:
        raise DependencyError(
            f"plugin {plugin.name!r} needs kernel {spec} but this is pteroca {kernel_version}"
        )


def find_cycle(plugins: dict[str, DiscoveredPlugin], start: str) -> list[str] | None:
    """Return a cycle reachable from ``start`` as ``[a, b, a]``, or None."""
    path: list[str] = []
    on_path: set[str] = set()
    done: set[str] = set()

    def visit(name: str) -> list[str] | None:
        if name in on_path:
            return path[path.index(name) :] + [name]
        if name in done or name not in plugins or not plugins[name].manifest:
            return None
        path.append(name)
        on_path.add(name)
        for dep in plugins[name].manifest.requires:
            cycle = visit(dep)
            if cycle:
                return cycle
        path.pop()
        on_path.discard(name)
        done.add(name)
        return None

    return visit(start)


def enable_order(plugins: dict[str, DiscoveredPlugin], name: str) -> list[str]:
    """Plugins to enable for ``name``, dependencies first (topological order), ``name`` last."""
    cycle = find_cycle(plugins, name)
    if cycle:
        raise DependencyError("dependency cycle: " + " -> ".join(cycle))
    order: list[str] = []

    def visit(current: str, wanted_by: str | None, spec: str | None) -> None:
        plugin = plugins.get(current)
        if plugin is None:
            raise DependencyError(
                f"plugin {wanted_by!r} requires {current!r}, which is not installed"
            )
        if not plugin.ok:
            raise DependencyError(
                f"plugin {wanted_by!r} requires {current!r}, whose manifest is "
                f"invalid: {'; '.join(map(str, plugin.errors))}"
            )
        if spec and Version(plugin.version) not in SpecifierSet(spec):
            raise DependencyError(
                f"plugin {wanted_by!r} requires {current} {spec}, but {plugin.version} is installed"
            )
        for dep, dep_spec in plugin.manifest.requires.items():
            visit(dep, current, dep_spec)
        if current not in order:
            order.append(current)

    visit(name, None, None)
    return order


def dependents(plugins: dict[str, DiscoveredPlugin], name: str, enabled: set[str]) -> list[str]:
    """Enabled plugins that (transitively) require ``name``, deepest dependents first."""
    out: list[str] = []

    def visit(target: str) -> None:
        for other in sorted(enabled):
            plugin = plugins.get(other)
            if (
                plugin
                and plugin.manifest
                and target in plugin.manifest.requires
                and other not in out
            ):
                visit(other)
                out.append(other)

    visit(name)
    return out


def enabled_order(plugins: dict[str, DiscoveredPlugin], names: set[str]) -> list[str]:
    """``names`` sorted so that each plugin comes after the plugins it requires."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order or name in visiting or name not in names:
            return
        visiting.add(name)
        plugin = plugins.get(name)
        if plugin and plugin.manifest:
            for dep in plugin.manifest.requires:
                visit(dep)
        order.append(name)

    for name in sorted(names):
        visit(name)
    return order
