"""What pyproject.toml cannot say: the built-in catalogue, kept in the repository's top-level
schemas/, ships inside the package as ``harness._schemas`` (package data: *.json, meta/,
responses/; harness.paths finds it there, or in a checkout's schemas/). Everything else is in
pyproject.toml. (``[tool.setuptools.packages.find]`` finds folders under their own names only,
and a fixed list of packages would miss the next one added.)"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["harness", "harness.*"]), "harness._schemas"],
    package_dir={"harness._schemas": "schemas"},
)
