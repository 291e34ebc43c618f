"""The plugin contract: every hook a Carnet plugin may implement.

A plugin is a module (or an object) whose functions carry ``@hookimpl`` and take any subset of
the arguments named below. Hooks "collect from everyone": the portal calls each plugin's
implementation, through pluggy, and uses every answer. `docs/plugin_hooks.md` has one section
per hook with an example; `tests/test_plugin_contract.py` checks that both stay complete.

Conventions every plugin follows (checked by the contract tests over every plugin):

- its key (the built-in module name or the ``carnet`` entry-point name) is its section key;
- its templates live in ``templates/<key>/`` next to its module;
- its tables are named ``<key>_…`` and its migrations live in its own ``piccolo_migrations/``;
- every table of patient data has a ``dossier`` foreign key that cascades (the portal refuses
  to start otherwise), any other is marked `holds_no_patient_data`;
- every route it registers carries one of the core's guards from `portal.access`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import pluggy
from litestar.types import ControllerRouterHandler
from piccolo.conf.apps import AppConfig
from piccolo.table import Table

if TYPE_CHECKING:
    from portal.access.view import DossierView

PROJECT_NAME = "carnet"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


#: The attribute `holds_no_patient_data` sets on a table.
NO_PATIENT_DATA = "carnet_holds_no_patient_data"


def holds_no_patient_data(table: type[Table]) -> type[Table]:
    """Mark a plugin's table as holding nothing about any patient (a reference list, a
    setting): the only kind of plugin table without a ``dossier`` foreign key that cascades.
    A class decorator."""
    setattr(table, NO_PATIENT_DATA, True)
    return table


@dataclass(frozen=True)
class Category:
    """A category of documents a section brings, with its default rules in the access matrix:
    the keys of the professions that may read and write it (a deployment's matrix file may
    replace them). The patient always reads every category of their own dossier."""

    key: str
    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    #: Its name as people read it (wrap it in `portal.gettext_lazy`); the key when empty.
    label: str = ""
    #: Read by a SAMU regulator during a regulation call (emergency-relevant).
    samu: bool = False
    #: The patient (or their legal representative) adds to it: their own documents, their
    #: end-of-life wishes, a vaccination copied from a paper carnet.
    by_patient: bool = False


@dataclass(frozen=True)
class Deed:
    """One thing people do in a section, as the patient's access history tells it: the
    ``action`` its routes trace (``"create"``, ``"update"``: a `portal.audit.Action` value) on
    ``target_type`` (as they pass it to ``open_dossier`` and ``view.acting``), in ``words``
    that follow the person's name, wrapped in `portal.gettext_lazy`: ``_("recorded a
    vaccination")``."""

    action: str
    target_type: str
    words: str


@dataclass(frozen=True)
class Section:
    """A part of the dossier brought by a plugin, shown in the portal under its own title.

    ``title`` and ``description`` are shown to people: wrap them in `portal.gettext_lazy` so
    they follow the reader's language.
    """

    key: str
    title: str
    description: str = ""
    #: Place among the sections, smallest first.
    order: int = 100
    #: The document categories it adds to the access matrix (ACCESS.md), with their rules.
    categories: tuple[Category, ...] = ()
    #: What people do in it, in words (`Deed`). The access history tells any other action
    #: with the section's title ("viewed the Vaccinations section").
    deeds: tuple[Deed, ...] = ()


@dataclass(frozen=True)
class Card:
    """A section's card on the dossier overview: one of the plugin's templates
    (``<key>/…``) and what it needs; the core adds ``view`` to the context."""

    template: str
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EmergencyItem:
    """A line of the emergency card, the first things a rescuer needs ("Tétanos" / "à jour,
    rappel le 12/03/2021"). ``key`` names the line within its section: the patient chooses
    which lines their card shows by ``<section key>.<key>``."""

    key: str
    label: str
    value: str


@dataclass(frozen=True)
class DemoData:
    """What ``carnet demo`` made before the plugins add their rows: the demo dossiers by the
    patient's first name in lower case (``camille``, ``jules``, ``leo``) and the demo
    accounts by login (CONVENTIONS.md)."""

    dossiers: Mapping[str, UUID]
    accounts: Mapping[str, UUID]


@hookspec
def register_section() -> Section | None:
    """The dossier section this plugin adds: its key, title, description, order, and the
    document categories it governs with their default rules in the access matrix."""


@hookspec
def register_piccolo_app() -> AppConfig | None:
    """The plugin's Piccolo app (``APP_CONFIG`` of its ``piccolo_app.py``): tables named
    ``<key>_…``, migrations in its own folder, ``migration_dependencies`` naming
    ``"portal.piccolo_app"``. Every table of patient data has a ``dossier`` foreign key with
    ``on_delete=OnDelete.cascade``: purging a dossier (the patient's deletion request, or the
    end of its ten years of archive) then purges the plugin's rows with it.
    """


@hookspec
def register_routes() -> Sequence[ControllerRouterHandler] | None:
    """Route handlers and controllers to mount; each must carry a guard from `portal.access`."""


@hookspec
def dossier_card(view: DossierView) -> Card | Awaitable[Card | None] | None:
    """The section's card on the dossier overview, for ``view``: the dossier as the person
    asking may see it. The portal asks only when that person may read one of the section's
    categories, loads the cards after the page (htmx, all in one request; without JavaScript, a
    link to each), and traces the reading. It may be an ``async def``, to read the section's
    tables for this dossier."""


@hookspec
def print_section(view: DossierView) -> Card | Awaitable[Card | None] | None:
    """The section's part of the whole-dossier PDF, for ``view``: one of the plugin's templates
    (``<key>/…``, an HTML fragment styled by the shared print stylesheet, printed under the
    section's title, which the core writes) and its context. Asked, like the card, only when
    that person may read one of the section's categories."""


@hookspec
def emergency_items(
    view: DossierView,
) -> Sequence[EmergencyItem] | Awaitable[Sequence[EmergencyItem]] | None:
    """The section's lines for the emergency card, for ``view`` (asked only when that person
    may read one of the section's categories). The patient chooses which lines their card
    shows; keep each short enough for a wallet-sized card."""


@hookspec
def fhir_resources(view: DossierView) -> list[dict] | Awaitable[list[dict]] | None:
    """The section's content as FHIR R4 resources (plain JSON dicts), for the patient summary
    (IPS) and the patient's own copy: only what ``view`` may read of the section, decided
    through ``view`` as the card decides (asked only when that person may read one of the
    section's categories). Each resource names the patient as
    ``{"reference": f"Patient/{view.id}"}`` and has an ``id`` unique within the bundle
    (prefixed by the plugin's key); the summary files it in its IPS section by resource type
    (`portal.fhir.ips`)."""


@hookspec
def demo_data(demo: DemoData) -> Awaitable[None] | None:
    """Add realistic rows of the section to the demo dossiers (``carnet demo``, on an empty
    database, after the core's demo). It writes to the plugin's own tables directly."""


@hookspec
def send_reminders(now: datetime) -> Awaitable[int] | int | None:
    """Send the section's reminders that are due at ``now`` (``carnet reminders``, from a
    daily timer), each through `portal.notifications.notify`, once; return how many went."""
