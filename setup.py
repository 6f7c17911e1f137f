"""Package list for setuptools.

pyproject.toml holds the metadata; this file exists only because the default
theme lives in ``themes/`` in the source tree but installs as the
``pteroca_themes`` package, and ``packages.find`` cannot combine that mapping
with discovery of the other packages.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["kernel", "kernel.*", "builtin_plugins", "builtin_plugins.*",
                                  "simulators", "simulators.*"])
    + ["pteroca_themes"],
    package_dir={"pteroca_themes": "themes"},
)
