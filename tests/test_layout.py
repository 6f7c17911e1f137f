"""The folders the README's layout and the configuration defaults name exist in the repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

from kernel.config import load_config

ROOT = Path(__file__).resolve().parents[1]


def test_the_default_plugins_folder_is_the_repositorys_plugins_folder(monkeypatch):
    monkeypatch.chdir(ROOT)
    config = load_config(environ={"PTEROCA_INSTANCE_PATH": str(ROOT / "instance")})
    assert Path(config["PLUGINS_DIR"]) == ROOT / "plugins"
    assert (
        "`PTEROCA_PLUGINS_DIR` | drop-in plugins folder [`./plugins`]"
        in (ROOT / "README.md").read_text()
    )


def test_the_plugins_folder_keeps_only_its_readme_in_git():
    readme = ROOT / "plugins" / "README.md"
    assert "](../docs/plugins.md)" in readme.read_text()
    if not (ROOT / ".git").exists():
        return  # an unpacked source archive: nothing to ask git
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "plugins/README.md", "plugins/my_notes/__init__.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert ignored == ["plugins/my_notes/__init__.py"]
