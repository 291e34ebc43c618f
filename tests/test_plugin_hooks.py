"""One test per hook of portal/hookspecs.py, named ``test_hook_<hook>`` (a meta-test checks)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pluggy
import pytest
from litestar.testing import AsyncTestClient

from portal import Card, DemoData, EmergencyItem, Section, hookimpl, hookspecs
from portal.app import create_app
from portal.cli import upgrade_database
from portal.demo import load_demo
from portal.dossiers.tables import Dossier
from portal.identity.tables import Account
from portal.plugins import PluginError, Plugins
from tests.audit.test_audit_cli import carnet as carnet_command
from tests.audit.test_audit_cli import use_database
from tests.conftest import TEST_HOST, make_settings, plugins_with


class _Early:
    @hookimpl
    def register_section(self):
        return Section(key="early", title="Early section", description="Shown first.", order=1)


async def test_hook_register_section(tmp_path, installed_third_party_plugin):
    plugins = plugins_with(early=_Early())
    keys = [section.key for section in plugins.sections]
    assert keys[0] == "early"  # sorted by order: early's is 1
    assert "sleep_diary" in keys
    app = create_app(make_settings(tmp_path, f"sqlite:///{tmp_path}/db.sqlite3"), plugins)
    async with AsyncTestClient(app, base_url=f"http://{TEST_HOST}") as client:
        home = (await client.get("/")).text
    assert home.index("Early section") < home.index("Sleep diary")
    assert "Shown first." in home
    # Its document categories are governed by the access matrix like the core's.
    assert app.state.matrix.may_read("infirmier", "sommeil")
    assert not app.state.matrix.may_write("medecin", "sommeil")


async def test_hook_register_piccolo_app(tmp_path, database_url, installed_third_party_plugin):
    settings = make_settings(tmp_path, database_url)
    app = create_app(settings)
    assert "sleep_diary" in app.state.database.registry.app_configs
    await upgrade_database(settings)

    from carnet_sleep_diary.tables import Night

    await Night.insert(Night(hours=7, note="bonne nuit"))
    assert await Night.count() == 1


async def test_hook_register_routes(tmp_path, installed_third_party_plugin):
    app = create_app(make_settings(tmp_path, f"sqlite:///{tmp_path}/db.sqlite3"))
    owners = {
        handler.opt.get("plugin")
        for route in app.routes
        if route.path == "/sections/sleep_diary"
        for handler in route.route_handlers
        if "GET" in handler.http_methods
    }
    assert owners == {"sleep_diary"}
    async with AsyncTestClient(app, base_url=f"http://{TEST_HOST}") as client:
        assert (await client.get("/sections/sleep_diary")).status_code == 200


class _AsyncCard:
    @hookimpl
    def register_section(self):
        return Section(key="async_card", title="Async card")

    @hookimpl
    async def dossier_card(self, view):
        return Card("async_card/card.html", {"name": view.patient["first_name"]})


async def test_hook_dossier_card(installed_third_party_plugin):
    """Each plugin answers for its own section, plainly or as a coroutine; the pages that show
    the cards are tested in tests/access/test_plugin_sections.py."""
    plugins = plugins_with(async_card=_AsyncCard())
    view = SimpleNamespace(id="d", patient={"first_name": "Alice"})
    assert await plugins.card("sleep_diary", view) == Card(
        "sleep_diary/card.html", {"patient_name": "Alice"}
    )
    assert await plugins.card("async_card", view) == Card("async_card/card.html", {"name": "Alice"})
    assert await plugins.card("no_such_section", view) is None


class _Printed:
    """A section that prints, puts lines on the emergency card, fills the demo and reminds."""

    def __init__(self):
        self.demo = None

    @hookimpl
    def register_section(self):
        return Section(key="printed", title="Printed section")

    @hookimpl
    def print_section(self, view):
        return Card("printed/print.html", {"name": view.patient["first_name"]})

    @hookimpl
    async def emergency_items(self, view):
        return [EmergencyItem("status", "Statut", f"à jour pour {view.patient['first_name']}")]

    @hookimpl
    async def demo_data(self, demo):
        self.demo = demo

    @hookimpl
    async def send_reminders(self, now):
        return 2 if now.year == 2026 else 0


async def test_hook_print_section(installed_third_party_plugin):
    """The whole-dossier PDF that prints the sections is tested in tests/pdf."""
    plugins = plugins_with(printed=_Printed())
    view = SimpleNamespace(id="d", patient={"first_name": "Alice"})
    assert await plugins.print_section("printed", view) == Card(
        "printed/print.html", {"name": "Alice"}
    )
    assert await plugins.print_section("sleep_diary", view) is None  # it prints nothing


async def test_hook_emergency_items(installed_third_party_plugin):
    """The emergency card that shows them is tested in tests/pdf."""
    plugins = plugins_with(printed=_Printed())
    view = SimpleNamespace(id="d", patient={"first_name": "Alice"})
    assert await plugins.emergency_items("printed", view) == [
        EmergencyItem("status", "Statut", "à jour pour Alice")
    ]
    assert await plugins.emergency_items("sleep_diary", view) == []


async def test_hook_fhir_resources(carnet):
    """Each section's resources for the person asking; the patient summary that files them in
    its sections is tested in tests/fhir/test_ips.py."""
    camille = carnet.dossiers["camille"]
    view = await carnet.view("dr.bernard@demo.carnet.fr", camille)
    plugins = carnet.app.state.plugins
    immunizations = await plugins.fhir_resources("vaccination", view)
    assert immunizations
    assert {resource["resourceType"] for resource in immunizations} == {"Immunization"}
    assert {resource["patient"]["reference"] for resource in immunizations} == {
        f"Patient/{camille}"
    }
    assert len({resource["id"] for resource in immunizations}) == len(immunizations)
    plugins = plugins_with(printed=_Printed(), malformed=_Malformed())
    assert await plugins.fhir_resources("sleep_diary", view) == []  # it has none
    with pytest.raises(PluginError, match="'malformed': fhir_resources must return FHIR"):
        await plugins.fhir_resources("malformed", view)


class _Malformed:
    @hookimpl
    def register_section(self):
        return Section(key="malformed", title="Malformed section")

    @hookimpl
    def fhir_resources(self, view):
        return [{"resourceType": "Immunization"}]  # no id: it could not be referenced


async def test_hook_demo_data(database):
    printed = _Printed()
    assert await load_demo(plugins_with(printed=printed))
    assert set(printed.demo.dossiers) == {"camille", "jules", "leo"}
    assert printed.demo.accounts["ph.petit@demo.carnet.fr"] in {
        row["id"] for row in await Account.select(Account.id)
    }
    camille = await Dossier.select(Dossier.patient.first_name.as_alias("name")).where(
        Dossier.id == printed.demo.dossiers["camille"]
    )
    assert camille == [{"name": "Camille"}]


async def test_hook_send_reminders(database, monkeypatch, capsys):
    use_database(monkeypatch, database)
    monkeypatch.setattr(
        "portal.cli.load_plugins", lambda disabled=(): plugins_with(printed=_Printed())
    )
    assert await carnet_command(database, "reminders") == 0
    assert "Sent 2 reminders." in capsys.readouterr().out


# --- every hook goes through pluggy ---------------------------------------------------------


class _Terse:
    """A section whose hooks take fewer arguments than the hooks offer, as pluggy allows."""

    @hookimpl
    def register_section(self):
        return Section(key="terse", title="Terse")

    @hookimpl
    def dossier_card(self):
        return Card("terse/card.html")

    @hookimpl
    def print_section(self):
        return Card("terse/print.html")

    @hookimpl
    def emergency_items(self):
        return [EmergencyItem("line", "Line", "value")]

    @hookimpl
    def fhir_resources(self):
        return [{"resourceType": "Consent", "id": "terse-1"}]

    @hookimpl
    def demo_data(self):
        return None

    @hookimpl
    def send_reminders(self):
        return 1


def only(**extra: object) -> Plugins:
    """Plugins with none but the test-only ones given, as ``key=plugin object``."""
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    for key, plugin in extra.items():
        manager.register(plugin, name=key)
    return Plugins(manager, [])


async def test_an_implementation_may_take_only_some_of_the_arguments():
    plugins = only(terse=_Terse())
    view = SimpleNamespace(id="d", patient={"first_name": "Alice"})
    assert await plugins.card("terse", view) == Card("terse/card.html")
    assert await plugins.print_section("terse", view) == Card("terse/print.html")
    assert await plugins.emergency_items("terse", view) == [EmergencyItem("line", "Line", "value")]
    assert await plugins.fhir_resources("terse", view) == [
        {"resourceType": "Consent", "id": "terse-1"}
    ]
    await plugins.add_demo_data(DemoData(dossiers={}, accounts={}))
    assert await plugins.send_reminders(datetime(2026, 3, 2, tzinfo=UTC)) == 1


class _Framing:
    """Another plugin's wrapper around every section's card: it sees each call and changes
    each answer."""

    def __init__(self):
        self.seen = []

    @hookimpl(wrapper=True)
    def dossier_card(self, view):
        self.seen.append(view.patient["first_name"])
        answers = yield
        return [Card(card.template, {**card.context, "framed": True}) for card in answers]


async def test_wrappers_and_tracing_apply_to_every_hook_call():
    framing = _Framing()
    plugins = only(terse=_Terse(), framing=framing)
    traced = []
    undo = plugins.manager.add_hookcall_monitoring(
        lambda name, implementations, kwargs: traced.append(name), lambda *answer: None
    )
    view = SimpleNamespace(id="d", patient={"first_name": "Alice"})
    try:
        assert await plugins.card("terse", view) == Card("terse/card.html", {"framed": True})
    finally:
        undo()
    assert framing.seen == ["Alice"]
    assert traced == ["dossier_card"]
