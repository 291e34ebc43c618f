"""Loading plugins: third-party sections appear without touching the core, and a broken
plugin stops the portal with a message that names it."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from portal.app import create_app
from portal.cli import main, upgrade_database
from portal.plugins import PluginError, load_plugins
from tests.conftest import TEST_HOST, make_settings

GOOD_PLUGIN = """
    from litestar import get
    from portal import Section, hookimpl
    from portal.access import public

    @hookimpl
    def register_section():
        return Section(key="{key}", title="{key} title")
"""


async def test_a_third_party_section_appears_in_the_portal(
    tmp_path, database_url, installed_third_party_plugin
):
    settings = make_settings(tmp_path, database_url)
    await upgrade_database(settings)
    async with AsyncTestClient(create_app(settings), base_url=f"http://{TEST_HOST}") as client:
        home = await client.get("/")
        assert "Sleep diary" in home.text  # listed among what the record holds
        page = await client.get("/sections/sleep_diary")
        assert page.status_code == 200
        assert "Note your nights" in page.text
        assert '<a class="skip-link"' in page.text  # it extends the core layout ("core:")


def test_carnet_plugins_lists_versions_and_hooks(
    tmp_path, monkeypatch, capsys, installed_third_party_plugin
):
    monkeypatch.setenv("CARNET_DATA_DIR", str(tmp_path))
    assert main(["plugins"]) == 0
    listing = capsys.readouterr().out
    line = next(line for line in listing.splitlines() if line.startswith("sleep_diary"))
    assert "1.0" in line
    assert "carnet-sleep-diary" in line
    for hook in ("register_piccolo_app", "register_routes", "register_section"):
        assert hook in line


def test_a_disabled_plugin_is_not_loaded(installed_third_party_plugin):
    assert "sleep_diary" in load_plugins().infos
    assert "sleep_diary" not in load_plugins(disabled={"sleep_diary"}).infos


def test_a_plugin_that_fails_to_import_is_named(install_distribution):
    install_distribution(
        "carnet-broken",
        {"broken": "broken_plugin"},
        {"broken_plugin": "import no_such_dependency\n"},
    )
    with pytest.raises(
        PluginError, match=r"'broken' failed to import.*CARNET_DISABLED_PLUGINS=broken"
    ):
        load_plugins()
    load_plugins(disabled={"broken"})  # switching it off lets the portal start


def test_a_misspelt_hook_fails_loudly(install_distribution):
    install_distribution(
        "carnet-typo",
        {"typo": "typo_plugin"},
        {
            "typo_plugin": """
        from portal import hookimpl

        @hookimpl
        def regster_routes():
            return []
    """
        },
    )
    with pytest.raises(
        PluginError, match=r"'typo' implements a hook that does not exist.*regster_routes"
    ):
        load_plugins()


def test_a_hook_asking_for_an_unknown_argument_is_refused(install_distribution):
    install_distribution(
        "carnet-greedy",
        {"greedy": "greedy_plugin"},
        {
            "greedy_plugin": """
        from portal import hookimpl

        @hookimpl
        def register_section(database):
            return None
    """
        },
    )
    with pytest.raises(PluginError, match=r"'greedy' cannot be registered"):
        load_plugins()


@pytest.mark.parametrize("key", ["Sleep", "sleep-diary", "x", "1sleep"])
def test_plugin_keys_must_be_identifiers(install_distribution, key):
    install_distribution("carnet-key", {key: "key_plugin"}, {"key_plugin": "x = 1\n"})
    with pytest.raises(PluginError, match="lowercase letters"):
        load_plugins()


def test_two_plugins_cannot_share_a_key(install_distribution):
    install_distribution("carnet-one", {"diary": "one_plugin"}, {"one_plugin": "x = 1\n"})
    install_distribution("carnet-two", {"diary": "two_plugin"}, {"two_plugin": "x = 1\n"})
    with pytest.raises(PluginError, match="same key"):
        load_plugins()


def test_a_section_key_must_be_its_plugin_key(install_distribution):
    install_distribution(
        "carnet-mismatch",
        {"mismatch": "mismatch_plugin"},
        {"mismatch_plugin": GOOD_PLUGIN.format(key="other")},
    )
    with pytest.raises(PluginError, match="'mismatch' registers the section 'other'"):
        load_plugins()


def test_a_piccolo_app_must_depend_on_the_core(install_distribution):
    install_distribution(
        "carnet-orphan",
        {"orphan": "orphan_plugin"},
        {
            "orphan_plugin": """
        from piccolo.conf.apps import AppConfig
        from portal import hookimpl

        APP_CONFIG = AppConfig(app_name="orphan", migrations_folder_path="/tmp", table_classes=[])

        @hookimpl
        def register_piccolo_app():
            return APP_CONFIG
    """
        },
    )
    with pytest.raises(PluginError, match=r"'orphan'.*portal\.piccolo_app"):
        load_plugins()


def test_an_unguarded_route_stops_the_portal(tmp_path, install_distribution):
    install_distribution(
        "carnet-open",
        {"open_door": "open_plugin"},
        {
            "open_plugin": """
        from litestar import get
        from portal import hookimpl

        @get("/open", sync_to_thread=False)
        def open_page() -> str:
            return "anyone"

        @hookimpl
        def register_routes():
            return [open_page]
    """
        },
    )
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/db.sqlite3")
    with pytest.raises(PluginError, match="'open_door' registers the route /open without a guard"):
        create_app(settings)


TABLE_PLUGIN = """
    from piccolo.columns import JSON, ForeignKey, OnDelete, Text, Varchar
    from piccolo.columns.reference import LazyTableReference
    from piccolo.conf.apps import AppConfig
    from piccolo.table import Table
    from portal import crypto, hookimpl, holds_no_patient_data
    from portal.dossiers.tables import Dossier

    {table}

    APP_CONFIG = AppConfig(
        app_name="notes",
        migrations_folder_path="/tmp",
        table_classes=[Note],
        migration_dependencies=["portal.piccolo_app"],
    )

    @hookimpl
    def register_piccolo_app():
        return APP_CONFIG
"""


def _notes_plugin(install_distribution, table: str) -> None:
    source = TABLE_PLUGIN.replace("{table}", table.strip().replace("\n", "\n    "))
    install_distribution("carnet-notes", {"notes": "notes_plugin"}, {"notes_plugin": source})


@pytest.mark.parametrize(
    "table",
    [
        # No dossier at all: the notes would outlive the patient's deletion request.
        'class Note(Table, tablename="notes_note"):\n    text = Varchar()',
        # The dossier, but its rows stay when it goes.
        'class Note(Table, tablename="notes_note"):\n'
        "    dossier = ForeignKey(Dossier, on_delete=OnDelete.set_null)",
    ],
)
def test_a_table_that_would_outlive_its_dossier_stops_the_portal(install_distribution, table):
    _notes_plugin(install_distribution, table)
    with pytest.raises(PluginError) as refusal:
        load_plugins()
    message = str(refusal.value)
    assert "'notes'" in message
    assert "'notes_note'" in message
    assert "dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True)" in message
    assert "@holds_no_patient_data" in message


@pytest.mark.parametrize(
    "table",
    [
        'class Note(Table, tablename="notes_note"):\n'
        "    dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True)",
        'class Note(Table, tablename="notes_note"):\n'
        '    dossier = ForeignKey(LazyTableReference("Dossier", app_name="portal"), '
        "on_delete=OnDelete.cascade)",
        '@holds_no_patient_data\nclass Note(Table, tablename="notes_note"):\n    text = Varchar()',
    ],
)
def test_a_table_purged_with_its_dossier_or_holding_no_patient_data_loads(
    install_distribution, table
):
    _notes_plugin(install_distribution, table)
    assert "notes" in [app.app_name for app in load_plugins().piccolo_apps]


DOSSIER_NOTE = (
    'class Note(Table, tablename="notes_note"):\n'
    "    dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True)\n"
)


@pytest.mark.parametrize(
    ("columns", "named", "fix"),
    [
        ("    text = Text()", "'notes_note.text'", "crypto.sealed(Note, Note.text)"),
        (
            "    text = Text()\n    details = JSON()\n    kind = Varchar()\n"
            "crypto.sealed(Note, Note.text)",
            "'notes_note.details'",
            "crypto.sealed(Note, Note.details)",
        ),
    ],
)
def test_free_text_of_a_dossier_that_is_not_sealed_stops_the_portal(
    install_distribution, columns, named, fix
):
    _notes_plugin(install_distribution, DOSSIER_NOTE + columns)
    with pytest.raises(PluginError) as refusal:
        load_plugins()
    message = str(refusal.value)
    assert "'notes'" in message
    assert named in message
    assert fix in message
    assert "crypto.insert" in message
    assert "crypto.opened" in message


@pytest.mark.parametrize(
    "columns",
    [
        "    text = Text()\n    details = JSON()\ncrypto.sealed(Note, Note.text, Note.details)",
        "    kind = Varchar()",  # a short value, not free text
    ],
)
def test_sealed_free_text_or_none_loads(install_distribution, columns):
    _notes_plugin(install_distribution, DOSSIER_NOTE + columns)
    assert "notes" in [app.app_name for app in load_plugins().piccolo_apps]


def test_a_table_holding_no_patient_data_may_hold_free_text(install_distribution):
    table = '@holds_no_patient_data\nclass Note(Table, tablename="notes_note"):\n    text = Text()'
    _notes_plugin(install_distribution, table)
    assert "notes" in [app.app_name for app in load_plugins().piccolo_apps]
