"""Package list for setuptools.

pyproject.toml holds the metadata; this file exists only because the default theme lives in
``themes/`` in the source tree but installs as the ``pteroca_themes`` package, and
``[tool.setuptools.packages.find]`` cannot combine that mapping with discovery of the other
packages.

Every directory is declared, data-only ones too (templates, static files, migrations): with
namespace discovery setuptools ships them as packages instead of warning, once per folder, that
a folder it sees as importable is "absent from the packages configuration" (a clean
``pip install -e .`` prints no warning; tests/test_packaging.py checks the build output).
"""

from setuptools import find_namespace_packages, setup

SKIP = ["*.__pycache__", "*.__pycache__.*"]

setup(
    packages=find_namespace_packages(
        include=[
            "kernel",
            "kernel.*",
            "builtin_plugins",
            "builtin_plugins.*",
            "simulators",
            "simulators.*",
        ],
        exclude=SKIP,
    )
    + ["pteroca_themes"]
    + [f"pteroca_themes.{name}" for name in find_namespace_packages(where="themes", exclude=SKIP)],
    package_dir={"pteroca_themes": "themes"},
)
