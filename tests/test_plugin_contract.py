"""The plugin contract, checked over every plugin: the built-ins and a third-party one.

Datasette's two meta-tests keep the contract honest: every hook is documented in
docs/plugin_hooks.md and has its own test in tests/test_plugin_hooks.py.
"""

from __future__ import annotations

import inspect
import re
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest
from piccolo.apps.migrations.commands.new import AutoMigrationManager

from portal import clock, hookspecs
from portal.access import is_core_guard
from portal.access.matrix import load_matrix
from portal.app import create_app, route_handlers
from portal.dossiers.lifecycle import MAINTENANCE, Reason, purge
from portal.dossiers.summary import remind_outdated
from portal.dossiers.tables import Dossier
from portal.notifications.tables import Notification
from portal.plugins import Plugins, load_plugins
from tests.conftest import make_settings

ROOT = Path(__file__).parent.parent
HOOKS = sorted(
    name
    for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
    if hasattr(function, "carnet_spec")
)
#: The plugins the portal loads here (the built-in ones, and any installed) and the example.
EVERY_PLUGIN = sorted({*load_plugins().infos, "sleep_diary"})


@pytest.fixture
def plugins(installed_third_party_plugin) -> Plugins:
    return load_plugins()


@pytest.mark.parametrize("key", EVERY_PLUGIN)
def test_registers_a_section_under_its_own_key(plugins, key):
    assert key in [section.key for section in plugins.sections]


@pytest.mark.parametrize("key", EVERY_PLUGIN)
def test_its_categories_are_governed_by_the_access_matrix(plugins, key):
    section = next(section for section in plugins.sections if section.key == key)
    matrix = load_matrix(plugin_categories=plugins.categories)  # refuses what is not valid
    for category in section.categories:
        assert category.key in matrix.categories


@pytest.mark.parametrize("key", EVERY_PLUGIN)
def test_templates_live_in_a_folder_named_after_the_plugin(plugins, key):
    folder = plugins.infos[key].templates_dir
    templates = [path for path in folder.rglob("*") if path.is_file()]
    assert templates, f"{key} has no templates in {folder}"
    misplaced = [str(path) for path in templates if path.relative_to(folder).parts[0] != key]
    assert not misplaced, f"templates outside templates/{key}/: {misplaced}"


@pytest.mark.parametrize("key", EVERY_PLUGIN)
def test_tables_are_prefixed_with_the_plugin_key(plugins, key):
    app_config = next(app for app in plugins.piccolo_apps if app.app_name == key)
    for table in app_config.table_classes:
        assert table._meta.tablename.startswith(f"{key}_"), table._meta.tablename


@pytest.mark.parametrize("key", EVERY_PLUGIN)
async def test_migrations_match_the_tables(plugins, key):
    app_config = next(app for app in plugins.piccolo_apps if app.app_name == key)
    folder = Path(app_config.resolved_migrations_folder_path)
    assert (folder / "__init__.py").is_file(), f"{key} needs a piccolo_migrations package"
    pending = await AutoMigrationManager(auto_input="n").get_alter_statements(app_config)
    missing = [statement for alter in pending for statement in alter.statements]
    assert not missing, f"{key}'s tables changed without a migration: carnet db new-migration {key}"


@pytest.mark.parametrize("key", EVERY_PLUGIN)
def test_every_route_carries_a_core_guard(tmp_path, plugins, key):
    app = create_app(make_settings(tmp_path, f"sqlite:///{tmp_path}/db.sqlite3"), plugins)
    for _path, handler in route_handlers(app):
        if handler.opt.get("plugin") != key:
            continue
        assert any(map(is_core_guard, handler.resolve_guards())), handler


# --- the meta-tests -------------------------------------------------------------------------


def test_every_hook_is_documented():
    documented = re.findall(
        r"^## ([a-z_]+)$", (ROOT / "docs" / "plugin_hooks.md").read_text(), re.M
    )
    assert sorted(documented) == HOOKS


def test_every_hook_has_its_own_test():
    source = (ROOT / "tests" / "test_plugin_hooks.py").read_text()
    tested = sorted(set(re.findall(r"^(?:async )?def test_hook_([a-z_]+)\(", source, re.M)))
    assert tested == HOOKS


def test_every_hook_has_a_docstring_and_types():
    for name in HOOKS:
        function = getattr(hookspecs, name)
        assert function.__doc__, name
        assert "return" in function.__annotations__, name


# --- a plugin's rows go with their dossier ----------------------------------------------------


async def rows_about(plugins: Plugins, dossier: UUID) -> dict[str, int]:
    """How many rows of each plugin table name ``dossier`` (every table that may hold patient
    data has a foreign key to it: the portal refuses to start otherwise)."""
    counts = {}
    for app_config in plugins.piccolo_apps:
        for table in app_config.table_classes:
            for column in table._meta.foreign_key_columns:
                if column._foreign_key_meta.resolved_references is Dossier:
                    counts[table._meta.tablename] = await table.count().where(column == dossier)
    return counts


async def notifications_about(dossier: UUID) -> int:
    return await Notification.count().where(
        (Notification.dossier == dossier) | Notification.link.like(f"%{dossier}%")
    )


async def test_purging_a_dossier_leaves_no_row_of_any_plugin_nor_any_notification(
    installed_third_party_plugin, carnet
):
    plugins, camille = carnet.app.state.plugins, carnet.dossiers["camille"]
    # Two years on, every reminder of the core and of the sections is due.
    later = clock.now() + timedelta(days=730)
    await remind_outdated(later)
    await plugins.send_reminders(later)
    before = await rows_about(plugins, camille)
    assert set(before) >= {
        f"{key}_{name}" for key, name in [("vaccination", "record"), ("sleep_diary", "night")]
    }
    assert sum(before.values()) > 0
    assert await notifications_about(camille) > 0

    await purge(camille, MAINTENANCE, Reason.REQUEST)

    assert await rows_about(plugins, camille) == dict.fromkeys(before, 0)
    assert await notifications_about(camille) == 0
    assert await Dossier.exists().where(Dossier.id == carnet.dossiers["leo"])  # the others stay
