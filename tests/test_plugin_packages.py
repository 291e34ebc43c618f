"""A plugin package tests itself as its author would: installed as pip installs it, with its own
tests run by plain ``pytest`` in a process of their own, on Carnet's test kit (`portal.testing`,
which pytest finds through its ``pytest11`` entry point)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from portal.cli import main
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


def test_carnet_plugin_new_writes_a_package_that_passes_its_own_tests(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("CARNET_DATA_DIR", str(tmp_path / "var"))
    assert main(["plugin", "new", "home_readings", "--directory", str(tmp_path)]) == 0
    package = tmp_path / "carnet-home-readings"
    assert str(package) in capsys.readouterr().out
    source = package / "carnet_home_readings"
    assert (source / "templates" / "home_readings" / "_panel.html").is_file()
    [migration] = (source / "piccolo_migrations").glob("home_readings_*.py")
    assert 'app_name="home_readings"' in migration.read_text()

    run = run_own_tests(package, tmp_path)
    assert passed(run), run.stdout[-5000:] + run.stderr[-2000:]


def test_carnet_plugin_new_writes_code_in_carnet_s_own_style_whatever_the_key(
    tmp_path, monkeypatch
):
    """The longest key still gives lines that Carnet's linter and formatter accept, and the
    package's part of the dossier's PDF leaves the section's title to the core."""
    monkeypatch.setenv("CARNET_DATA_DIR", str(tmp_path / "var"))
    key = "home_blood_pressure_readings_ab"  # 31 characters, the most a key has
    assert main(["plugin", "new", key, "--directory", str(tmp_path)]) == 0
    package = tmp_path / "carnet-home-blood-pressure-readings-ab"
    config = str(Path(__file__).parent.parent / "pyproject.toml")
    sources = [str(path) for path in package.rglob("*.py") if "piccolo_migrations" not in str(path)]
    ruff = [sys.executable, "-m", "ruff"]
    for command in (["check", "--select", "E,W,F"], ["format", "--check"]):
        run = subprocess.run(
            [*ruff, *command, "--config", config, *sources], capture_output=True, text=True
        )
        assert run.returncode == 0, run.stdout + run.stderr
    printed = (package / f"carnet_{key}" / "templates" / key / "print.html").read_text()
    assert "<h1" not in printed
    assert "<h2" not in printed


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("Blood-Pressure", "cannot name a plugin"),
        ("vaccination", "already names a part of Carnet"),  # a built-in section
        ("imagerie", "already names a part of Carnet"),  # a category of the core
    ],
)
def test_carnet_plugin_new_refuses_a_name_it_cannot_take(
    tmp_path, monkeypatch, capsys, name, problem
):
    monkeypatch.setenv("CARNET_DATA_DIR", str(tmp_path / "var"))
    assert main(["plugin", "new", name, "--directory", str(tmp_path)]) == 1
    assert problem in capsys.readouterr().err
    assert not any(tmp_path.glob("carnet-*"))


def test_carnet_plugin_new_leaves_an_existing_folder_alone(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CARNET_DATA_DIR", str(tmp_path / "var"))
    (tmp_path / "carnet-home-readings").mkdir()
    assert main(["plugin", "new", "home_readings", "--directory", str(tmp_path)]) == 1
    assert "already exists: nothing was written" in capsys.readouterr().err
    assert not any((tmp_path / "carnet-home-readings").iterdir())


def test_carnet_plugin_new_says_when_it_cannot_write(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CARNET_DATA_DIR", str(tmp_path / "var"))
    not_a_folder = tmp_path / "not-a-folder"
    not_a_folder.write_text("")
    assert main(["plugin", "new", "home_readings", "--directory", str(not_a_folder)]) == 1
    assert "not-a-folder" in capsys.readouterr().err
