"""``pip install .`` gives a working portal: templates, static files, translations and
migrations travel inside the wheel, and the French catalog is compiled at build time."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return next(out.glob("carnet-*.whl"))


def test_the_wheel_carries_everything_the_portal_reads(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "portal/templates/base.html",
        "portal/templates/home.html",
        "portal/templates/error.html",
        "portal/static/carnet.css",
        "portal/static/htmx.min.js",
        "portal/locale/fr/LC_MESSAGES/messages.mo",
        "portal/piccolo_migrations/__init__.py",
        "plugins/__init__.py",
        # What `carnet plugin new` writes a package from.
        "portal/scaffold/package/__package__/plugin.py.tmpl",
        "portal/scaffold/package/__package__/piccolo_migrations/__migration__.py.tmpl",
    ):
        assert needed in names, needed
    assert not [name for name in names if name.startswith("tests/")]
    entry_points = next(name for name in names if name.endswith("entry_points.txt"))
    declared = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "carnet = portal.cli:main" in declared
    assert "[pytest11]\ncarnet = portal.testing" in declared  # the test kit, for plugins' tests


def test_the_installed_portal_runs_outside_the_repository(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    script = """
import portal, sys
from litestar.testing import TestClient
from portal.app import create_app
from portal.settings import Settings
assert portal.__file__.startswith(sys.argv[1]), portal.__file__
settings = Settings.from_env({"CARNET_DATA_DIR": "var", "CARNET_ALLOWED_HOSTS": "testserver.local"})
with TestClient(create_app(settings)) as client:
    page = client.get("/")
    assert page.status_code == 200, page.status_code
    assert "Votre dossier médical" in page.text
    css = page.text.split('rel="stylesheet" href="')[1].split('"')[0]
    assert client.get(css).status_code == 200
print("ok")
"""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CARNET_")},
        "PYTHONPATH": str(target),
    }
    result = subprocess.run(
        [sys.executable, "-c", script, str(target)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip() == "ok", result.stderr
