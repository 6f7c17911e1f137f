"""The shared-tree bandit walk (kernel/security/bandit_walk.py) finds exactly what bandit's own
manager finds: on every builtin plugin, a fresh scaffold, the scan samples, hostile sources
and a slice of the standard library. Any difference is a weaker (or different) gate."""

from __future__ import annotations

import os
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest

from kernel.plugins.discovery import discover_entry_points
from kernel.plugins.scaffold import create_project
from kernel.security import bandit_walk
from kernel.security.bandit_check import run_bandit
from kernel.security.sources import ParsedSources
from tests.security.scanlib import SAMPLES, folder_plugin

HOSTILE = {
    "__init__.py": '''
        """Docstrings are skipped by the string tests; this one mentions /tmp/x and SELECT."""
        from . import helpers
        from .helpers import *
        import os, pickle as pk, subprocess as sp
        from subprocess import Popen as P
        import xml.etree.ElementTree as ET
        import telnetlib, ftplib, hashlib, random, ssl, yaml, requests, tempfile
        from hashlib import md5
        from paramiko import SSHClient, AutoAddPolicy

        PASSWORD = "hunter2"
        token: str = "abc"
        TMP = "/tmp/cache"
        BIND = "0.0.0.0"
        QUERY = "SELECT * FROM users WHERE name = '%s'" % os.environ["U"]
        blob = b"/tmp/bytes"
        assert PASSWORD, "asserts are informational"

        def connect(user, password="s3cret", timeout=None, *, key="k"):
            """nested names build bandit's namespace"""
            class Inner:
                def method(self, secret="p4ss"):
                    def deeper():
                        return eval("1 + 1")  # nosec
                    return deeper

            os.system("ls " + user)  # nosec B605
            sp.call("ls", shell=True)
            P(["ls"], shell=False)
            os.popen(user)
            os.execl("/bin/sh", "sh")
            os.spawnv(os.P_WAIT, "x", ["x"])
            os.chmod("/etc/x", 0o777)
            pk.loads(user.encode())
            yaml.load(user)
            exec(compile(user, "x", "exec"))
            hashlib.md5(user.encode())
            md5(b"x").hexdigest()
            random.random()
            requests.get("https://x", verify=False)
            requests.post("https://x")
            ssl.wrap_socket(None, ssl_version=ssl.PROTOCOL_SSLv2)
            tempfile.mktemp()
            ET.fromstring(user)
            c = SSHClient(); c.set_missing_host_key_policy(AutoAddPolicy())
            c.exec_command(user)
            sp.Popen("cat /tmp/x | sh", shell=True)
            sp.check_output(["tar", "-czf", "x", "*"])
            with open("/tmp/out", "w") as fh:
                fh.write(QUERY.format(user))
            try:
                pass
            except Exception:
                pass
            for _ in range(3):
                try:
                    continue
                except:  # noqa: E722
                    continue
            return lambda: __import__("os").system("id")

        async def later(password="async-default"):
            await something(f"DELETE FROM t WHERE id = {password}")

        def ssl_defaults(version=ssl.PROTOCOL_TLSv1):
            return version
    ''',
    "helpers.py": """
        import jinja2, marshal, shelve, dill
        from flask import Flask
        from markupsafe import Markup
        from django.utils.safestring import mark_safe
        from Crypto.Cipher import DES
        from cryptography.hazmat.primitives.asymmetric import dsa
        env = jinja2.Environment(autoescape=False)
        app = Flask(__name__)
        app.run(debug=True)
        value = Markup(input())
        safe = mark_safe(input())
        key = dsa.generate_private_key(key_size=512)
        code = marshal.loads(b"")
        import logging.config
        logging.config.listen(9999)
        import torch
        torch.load("model.pt")
        from huggingface_hub import hf_hub_download
        hf_hub_download(repo_id="org/m", filename="m.bin")
    """,
    # trojan source: a right-to-left override hides part of the line
    "bidi.py": 'access = "user\u202e \u2066# admin\u2069 \u2066"\n',
    "deep/__init__.py": "",
    "deep/pkg/__init__.py": "import subprocess\n",
    "deep/pkg/mod.py": "import subprocess\nsubprocess.run('x', shell=True)\n",
    "__pycache__/hidden.py": "import os\nos.system('id')\n",
    ".hidden/dot.py": "exec(input())\n",
    "broken.py": "def broken(:\n    pass\n",
    "nulls.py": b"x = 1\x00\n",
    "only_comments.py": "# nothing but a comment\n",
    "empty.py": "",
    "latin.py": "# -*- coding: latin-1 -*-\nname = 'caf\xe9'\nimport os\nos.system(name)\n".encode(
        "latin-1"
    ),
}

STDLIB = [subprocess.__file__, tempfile.__file__, tarfile.__file__, os.__file__]


def both(plugin):
    snapshot = plugin.snapshot()
    stock = run_bandit(snapshot, ParsedSources(snapshot), stock=True)
    walk = run_bandit(snapshot, ParsedSources(snapshot), stock=False)
    return stock, walk


def test_the_installed_bandit_is_one_the_walk_mirrors():
    # a bandit the walk was not checked against falls back to the (slower) stock manager;
    # this fails so the walk gets checked (the tests below) and SUPPORTED_SERIES extended
    assert bandit_walk.supported()


@pytest.mark.parametrize(
    "name", sorted(p.name for p in discover_entry_points() if p.distribution == "pteroca")
)
def test_builtin_plugins(name):
    plugin = next(p for p in discover_entry_points() if p.name == name)
    stock, walk = both(plugin)
    assert walk == stock


def test_scaffold_and_every_scan_sample(tmp_path):
    project = create_project("walk_scaffold", tmp_path)
    plugins = [folder_plugin(project.path / "src" / "walk_scaffold")]
    plugins += [folder_plugin(d) for d in sorted(SAMPLES.iterdir()) if d.is_dir()]
    assert len(plugins) >= 8
    for plugin in plugins:
        stock, walk = both(plugin)
        assert walk == stock, plugin.name


def test_hostile_sources_and_the_standard_library(make_plugin):
    files = dict(HOSTILE)
    for path in STDLIB:
        files[f"stdlib/{Path(path).name}"] = Path(path).read_bytes()
    plugin = make_plugin("walk_hostile", files)
    stock, walk = both(plugin)
    assert walk == stock
    rules = {f.rule for f in stock}
    # the corpus reaches every kind of node bandit tests: calls, imports, strings, bytes,
    # function defaults, asserts, except handlers, whole files (trojan source), and files
    # bandit cannot parse
    assert {
        "B102",
        "B307",
        "B602",
        "B605",
        "B301",
        "B403",
        "B105",
        "B107",
        "B108",
        "B104",
        "B608",
        "B101",
        "B110",
        "B112",
        "B613",
        "B201",
        "B701",
        "parse-error",
    } <= rules
    assert {f.file for f in stock if f.rule == "parse-error"} == {"broken.py", "nulls.py"}
    assert any(f.file == "__pycache__/hidden.py" for f in stock)
    assert any(f.file == ".hidden/dot.py" for f in stock)
    assert sum(f.file.startswith("stdlib/") for f in stock) > 5


def test_module_names_match_what_bandit_reads_from_disk(tmp_path):
    from bandit.core.utils import get_module_qualname_from_path

    root = tmp_path / "plug"
    rels = [
        "__init__.py",
        "a.py",
        "sub/__init__.py",
        "sub/b.py",
        "loose/c.py",
        "sub/inner/__init__.py",
        "sub/inner/d.py",
        "sub/noinit/e.py",
    ]
    for rel in rels:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("")
    for rel in rels:
        assert bandit_walk.module_qualname(rel, rels, "plug") == get_module_qualname_from_path(
            str(root / rel)
        ), rel
