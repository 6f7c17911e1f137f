"""pip-audit against the local fake OSV: vulnerable pins block, unreachable is "not audited"."""

from __future__ import annotations

import json
import urllib.request

import pytest

from kernel.security import Severity, Verdict, verdict_for
from kernel.security import advisories as adv
from kernel.security.file_checks import run_file_checks
from tests.fakes.osv_server import unreachable_url
from tests.security.scanlib import entry_point_plugin, install_dist


def run(plugin, url, tmp_path, require_audit=False):
    deps = adv.dependency_set(plugin)
    return adv.audit(deps, osv_url=url, cache_dir=tmp_path / "cache", require_audit=require_audit)


@pytest.fixture
def libs(site_dir):
    """fakelib 1.2.3 -> fakedep 0.5 (installed); fakeextra only behind an extra/marker."""
    install_dist(
        site_dir,
        "fakelib",
        "1.2.3",
        requires=[
            "fakedep>=0.1",
            "fakeextra ; extra == 'more'",
            "fakewin ; sys_platform == 'win32'",
        ],
    )
    install_dist(site_dir, "fakedep", "0.5")
    return site_dir


def test_fake_server_speaks_osv(osv_server):
    osv_server.add("fakelib", "GHSA-aaaa", introduced="1.0", fixed="1.3")
    request = urllib.request.Request(
        osv_server.url + "/v1/query",
        method="POST",
        data=json.dumps(
            {"package": {"name": "FakeLib", "ecosystem": "PyPI"}, "version": "1.2.3"}
        ).encode(),
    )
    with urllib.request.urlopen(request) as response:  # noqa: S310 - local fake
        body = json.load(response)
    assert [v["id"] for v in body["vulns"]] == ["GHSA-aaaa"]
    events = body["vulns"][0]["affected"][0]["ranges"][0]["events"]
    assert events == [{"introduced": "1.0"}, {"fixed": "1.3"}]
    assert osv_server.answer({"package": {"name": "fakelib"}, "version": "1.3"}) == {}


def test_vulnerable_pinned_dependency_blocks(make_plugin, libs, osv_server, tmp_path):
    osv_server.add("fakedep", "GHSA-dep1", fixed="0.6", summary="remote code execution")
    plugin = make_plugin("vuln", deps=["fakelib"])
    findings, state = run(plugin, osv_server.url, tmp_path)
    assert state == "ok"
    # pinned to what is installed, transitively, extras and foreign markers skipped
    assert sorted(osv_server.queried()) == [("fakedep", "0.5"), ("fakelib", "1.2.3")]
    [finding] = findings
    assert (finding.check, finding.rule, finding.severity) == (
        "pip-audit",
        "GHSA-dep1",
        Severity.CRITICAL,
    )
    assert finding.message == "fakedep 0.5: remote code execution (fixed in 0.6)"
    assert finding.file == "plugin.toml"
    assert verdict_for(findings) == Verdict.BLOCK


def test_vulnerability_without_fix_warns(make_plugin, libs, osv_server, tmp_path):
    osv_server.add("fakelib", "PYSEC-0001", versions=["1.2.3"])
    findings, state = run(make_plugin("nofix", deps=["fakelib==1.2.3"]), osv_server.url, tmp_path)
    assert [(f.rule, f.severity) for f in findings] == [("PYSEC-0001", Severity.HIGH)]
    assert "(no fixed version)" in findings[0].message
    assert verdict_for(findings) == Verdict.WARN


def test_clean_dependency_set_passes(make_plugin, libs, osv_server, tmp_path):
    osv_server.add("fakelib", "GHSA-old", fixed="1.0")  # only older versions affected
    findings, state = run(make_plugin("fine", deps=["fakelib>=1"]), osv_server.url, tmp_path)
    assert (findings, state) == ([], "ok")
    assert (tmp_path / "cache").is_dir()


def test_unreachable_service_is_not_audited_never_clean(make_plugin, libs, tmp_path):
    findings, state = run(make_plugin("offline", deps=["fakelib"]), unreachable_url(), tmp_path)
    assert state == "unreachable"
    [finding] = findings
    assert (finding.rule, finding.severity) == ("not-audited", Severity.HIGH)
    assert finding.message.startswith("advisory service: not audited")
    assert "fakedep, fakelib" in finding.message
    assert verdict_for(findings) == Verdict.WARN
    strict, _ = run(
        make_plugin("offline2", deps=["fakelib"]), unreachable_url(), tmp_path, require_audit=True
    )
    assert strict[0].severity is Severity.CRITICAL
    assert verdict_for(strict, require_audit=True) == Verdict.BLOCK


def test_failing_service_is_not_audited(make_plugin, libs, osv_server, tmp_path):
    osv_server.status = 500
    findings, state = run(make_plugin("failing", deps=["fakedep"]), osv_server.url, tmp_path)
    assert state == "unreachable"
    assert [(f.rule, f.message.partition(":")[0]) for f in findings] == [
        ("not-audited", "fakedep 0.5")
    ]


def test_missing_and_pinned_uninstalled_dependencies(make_plugin, libs, osv_server, tmp_path):
    osv_server.add("notinstalledlib", "GHSA-pin", fixed="2.0")
    plugin = make_plugin("mixed", deps=["fakedep", "ghostlib>=1", "notinstalledlib==1.0"])
    findings, state = run(plugin, osv_server.url, tmp_path)
    assert state == "partial"
    assert sorted(osv_server.queried()) == [("fakedep", "0.5"), ("notinstalledlib", "1.0")]
    assert {(f.rule, f.message.partition(":")[0]) for f in findings} == {
        ("not-audited", "ghostlib"),
        ("GHSA-pin", "notinstalledlib 1.0"),
    }


def test_extras_and_markers_are_followed(make_plugin, libs, site_dir, osv_server, tmp_path):
    install_dist(site_dir, "fakeextra", "3.0")
    plugin = make_plugin("extras", deps=["fakelib[more]", "fakewin ; sys_platform == 'win32'"])
    findings, state = run(plugin, osv_server.url, tmp_path)
    assert (findings, state) == ([], "ok")
    assert sorted(osv_server.queried()) == [
        ("fakedep", "0.5"),
        ("fakeextra", "3.0"),
        ("fakelib", "1.2.3"),
    ]


def test_no_dependencies_means_no_audit_and_no_finding(make_plugin, osv_server, tmp_path):
    assert run(make_plugin("nodeps"), osv_server.url, tmp_path) == ([], "none")
    assert osv_server.queries == []


def test_query_url_accepts_root_or_full_endpoint(make_plugin, libs, osv_server, tmp_path):
    assert adv.query_url("https://osv.internal/") == "https://osv.internal/v1/query"
    assert adv.query_url("https://osv.internal/v1/query") == "https://osv.internal/v1/query"
    findings, state = run(
        make_plugin("full", deps=["fakedep"]), osv_server.url + "/v1/query", tmp_path
    )
    assert state == "ok"


def test_pip_installed_plugin_audits_its_distribution(site_dir, libs, osv_server, tmp_path):
    install_dist(
        site_dir,
        "pteroca-fancy",
        "2.0.0",
        plugin="fancy",
        requires=["fakelib>=1", "pteroca>=0.1"],
        package_files={
            "__init__.py": "",
            "plugin.toml": ('name = "fancy"\nversion = "2.0.0"\nkernel = ">=0.1"\n'),
        },
    )
    osv_server.add("pteroca-fancy", "GHSA-self", fixed="2.0.1")
    plugin = entry_point_plugin("fancy")
    assert plugin.distribution == "pteroca-fancy"
    findings, state = run(plugin, osv_server.url, tmp_path)
    queried = sorted(osv_server.queried())
    # the plugin itself and its requirements; the kernel (pteroca) is not followed
    assert queried == [("fakedep", "0.5"), ("fakelib", "1.2.3"), ("pteroca-fancy", "2.0.0")]
    assert [(f.rule, f.file) for f in findings] == [("GHSA-self", "pteroca-fancy metadata")]


def test_pip_installed_plugin_with_pth_and_outside_code(site_dir):
    install_dist(
        site_dir,
        "pteroca-sneaky",
        "1.0",
        plugin="sneaky",
        package_files={
            "__init__.py": "",
            "plugin.toml": ('name = "sneaky"\nversion = "1.0"\nkernel = ">=0.1"\n'),
        },
        extra_files={
            "sneaky_boot.pth": "import os\n",
            "sneaky_helper.py": "x = 1\n",
            "__editable__.sneaky-1.0.pth": "/src\n",
        },
    )
    plugin = entry_point_plugin("sneaky")
    found = {f.file: f for f in run_file_checks(plugin)}
    assert found["sneaky_boot.pth"].rule == "pth-file"
    assert found["sneaky_boot.pth"].severity is Severity.CRITICAL
    assert found["sneaky_helper.py"].rule == "outside-package"
    assert found["__editable__.sneaky-1.0.pth"].rule == "editable-pth"
