"""A plugin package tests itself as its author would: installed as pip installs it, with its own
tests run by plain ``pytest`` in a process of their own, on Carnet's test kit (`portal.testing`,
which pytest finds through its ``pytest11`` entry point)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import THIRD_PARTY


def run_own_tests(package: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """Install the package at ``package`` (not in Carnet's environment: in a folder on the
    tests' path) and run its test suite, from its own folder."""
    site = tmp_path / "site-packages"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(site), str(package)],
        check=True,
    )  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=package,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=900,
    )


def passed(run: subprocess.CompletedProcess) -> bool:
    """The suite ran and every test of it passed (none failed, none was skipped)."""
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    return run.returncode == 0 and " passed" in summary and "skipped" not in summary


def test_the_sleep_diary_passes_its_own_tests(tmp_path):
    run = run_own_tests(THIRD_PARTY / "carnet_sleep_diary", tmp_path)
    assert passed(run), run.stdout[-5000:] + run.stderr[-2000:]
