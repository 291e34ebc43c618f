"""The plugin manager: the built-in sections and third-party packages, through the same hooks.

Built-in plugins are listed in `BUILTIN_PLUGINS`; third-party packages declare an entry point
in the ``carnet`` group (``[project.entry-points.carnet] my_section = "my_package.plugin"``).
Any of them can be switched off with ``CARNET_DISABLED_PLUGINS``. Loading fails loudly, naming
the plugin, when a plugin cannot be imported, implements a hook that does not exist
(``check_pending``) or breaks a convention of the contract: among them, a table that could keep
a patient's data after their dossier is purged, and free text of a dossier (a ``Text`` or
``JSON`` column: medical text) that is not encrypted at rest (`portal.crypto`).

Every hook is called through pluggy (``manager.hook.<name>`` or a subset of it): each
implementation gets only the arguments it names, and hook wrappers and pluggy's tracing apply.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy
from litestar import Router
from piccolo.columns import OnDelete
from piccolo.columns.reference import LazyTableReference
from piccolo.conf.apps import AppConfig
from piccolo.table import Table

from portal import crypto, hookspecs
from portal.dossiers.tables import Dossier
from portal.hookspecs import NO_PATIENT_DATA, Card, DemoData, EmergencyItem, Section

if TYPE_CHECKING:
    from portal.access.view import DossierView

ENTRY_POINT_GROUP = "carnet"

#: The sections that ship with Carnet, as ``key: module``.
BUILTIN_PLUGINS: dict[str, str] = {
    "vaccination": "plugins.vaccination.plugin",
    "occupational_health": "plugins.occupational_health.plugin",
    "organ_donation": "plugins.organ_donation.plugin",
    "end_of_life": "plugins.end_of_life.plugin",
    "measures": "plugins.measures.plugin",
}

PLUGIN_KEY = re.compile(r"^[a-z][a-z0-9_]{1,30}$")


class PluginError(RuntimeError):
    """A plugin cannot be loaded; the message names it and says what to do."""


@dataclass(frozen=True)
class PluginInfo:
    """What the portal knows of one loaded plugin (shown by ``carnet plugins``)."""

    key: str
    source: str  # "built-in" or the distribution that provides it
    version: str
    hooks: tuple[str, ...]
    directory: Path

    @property
    def templates_dir(self) -> Path:
        return self.directory / "templates"

    @property
    def static_dir(self) -> Path:
        return self.directory / "static"


class Plugins:
    """The loaded plugins and what they contribute, read once at start-up."""

    def __init__(self, manager: pluggy.PluginManager, infos: Iterable[PluginInfo]):
        self.manager = manager
        self.infos = {info.key: info for info in infos}
        self.sections = self._collect_sections()
        self.piccolo_apps = self._collect_piccolo_apps()

    @property
    def categories(self) -> list:
        """The document categories every section brings (see `portal.access.matrix`)."""
        return [category for section in self.sections for category in section.categories]

    @property
    def hook(self):
        return self.manager.hook

    def _collect_sections(self) -> list[Section]:
        sections = []
        for key, section in self._answers("register_section"):
            if not isinstance(section, Section):
                raise PluginError(f"Plugin {key!r}: register_section must return a Section.")
            if section.key != key:
                raise PluginError(
                    f"Plugin {key!r} registers the section {section.key!r}: a section's key "
                    "must be its plugin's key."
                )
            sections.append(section)
        return sorted(sections, key=lambda section: (section.order, section.key))

    def _collect_piccolo_apps(self) -> list[AppConfig]:
        apps = []
        for key, app_config in self._answers("register_piccolo_app"):
            if app_config.app_name != key:
                raise PluginError(
                    f"Plugin {key!r}: its Piccolo app must be named {key!r}, "
                    f"not {app_config.app_name!r}."
                )
            if "portal" not in [_app_name(dep) for dep in app_config.migration_dependencies]:
                raise PluginError(
                    f"Plugin {key!r}: its Piccolo app must list 'portal.piccolo_app' in "
                    "migration_dependencies, so that its migrations run after the core's."
                )
            for table in app_config.table_classes:
                _check_purged_with_its_dossier(key, table)
                _check_free_text_sealed(key, table)
            apps.append(app_config)
        return apps

    def routers(self) -> list[Router]:
        """One router per plugin, so every handler knows (in ``opt["plugin"]``) whose it is."""
        routers = []
        for key, handlers in self._answers("register_routes"):
            routers.append(Router(path="/", route_handlers=list(handlers), opt={"plugin": key}))
        return routers

    def section(self, key: str) -> Section | None:
        return next((section for section in self.sections if section.key == key), None)

    async def card(self, key: str, view: DossierView) -> Card | None:
        """The card of plugin ``key`` for ``view``, or None when it has none to show."""
        return await self._answer_of(key, "dossier_card", Card, view=view)

    async def print_section(self, key: str, view: DossierView) -> Card | None:
        """Plugin ``key``'s part of the whole-dossier PDF for ``view``, if it has one."""
        return await self._answer_of(key, "print_section", Card, view=view)

    async def emergency_items(self, key: str, view: DossierView) -> list[EmergencyItem]:
        """Plugin ``key``'s lines for the emergency card of ``view``."""
        items = await self._answer_of(key, "emergency_items", (list, tuple), view=view)
        if items and not all(isinstance(item, EmergencyItem) for item in items):
            raise PluginError(f"Plugin {key!r}: emergency_items must return EmergencyItems.")
        return list(items or [])

    async def fhir_resources(self, key: str, view: DossierView) -> list[dict]:
        """Plugin ``key``'s FHIR resources for ``view`` (the patient summary's entries)."""
        resources = await self._answer_of(key, "fhir_resources", (list, tuple), view=view)
        if resources and not all(
            isinstance(resource, dict) and resource.get("resourceType") and resource.get("id")
            for resource in resources
        ):
            raise PluginError(
                f"Plugin {key!r}: fhir_resources must return FHIR resources as dicts, "
                "each with its resourceType and id."
            )
        return list(resources or [])

    async def add_demo_data(self, demo: DemoData) -> None:
        await _settled(self.manager.hook.demo_data(demo=demo))

    async def send_reminders(self, now: datetime) -> int:
        """Every plugin's due reminders; how many were sent."""
        return sum(sent or 0 for sent in await _settled(self.manager.hook.send_reminders(now=now)))

    async def _answer_of(self, key: str, hook_name: str, kind, **arguments) -> Any:
        """Plugin ``key``'s answer to one of the hooks about a dossier (None if it has none),
        awaited when it is a coroutine, checked to be a ``kind``."""
        answers = await _settled(self._hook_of(key, hook_name)(**arguments))
        answer = answers[0] if answers else None
        if answer is not None and not isinstance(answer, kind):
            raise PluginError(f"Plugin {key!r}: {hook_name} returned {answer!r}.")
        return answer

    def _answers(self, hook_name: str) -> list[tuple[str, object]]:
        """Call one hook of every plugin, keeping who answered what (``None`` means nothing)."""
        answers = []
        for key, _plugin in self.manager.list_name_plugin():
            for answer in self._hook_of(key, hook_name)():
                answers.append((key, answer))
        return answers

    def _hook_of(self, key: str, hook_name: str) -> pluggy.HookCaller:
        """The hook as pluggy calls it on plugin ``key`` alone: the other plugins that answer it
        are left out, every hook wrapper stays (a plugin may wrap a hook it does not answer)."""
        hook = getattr(self.manager.hook, hook_name)
        others = {
            implementation.plugin
            for implementation in hook.get_hookimpls()
            if implementation.plugin_name != key
            and not (implementation.hookwrapper or implementation.wrapper)
        }
        return self.manager.subset_hook_caller(hook_name, remove_plugins=others)


def load_plugins(disabled: Iterable[str] = ()) -> Plugins:
    """Register the built-in and installed plugins, except the disabled ones, and validate them."""
    disabled = set(disabled)
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    infos = []
    for key, module_name in BUILTIN_PLUGINS.items():
        if key not in disabled:
            module = _import(
                key, lambda module_name=module_name: importlib.import_module(module_name)
            )
            infos.append(_register(manager, key, module, "built-in", _carnet_version()))
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name in disabled:
            continue
        if entry_point.name in BUILTIN_PLUGINS or manager.has_plugin(entry_point.name):
            raise PluginError(
                f"Plugin {entry_point.name!r} from {entry_point.value!r} has the same key as a "
                "plugin already loaded; rename its entry point."
            )
        plugin = _import(entry_point.name, entry_point.load)
        distribution = entry_point.dist
        infos.append(
            _register(
                manager,
                entry_point.name,
                plugin,
                distribution.name if distribution else entry_point.value,
                distribution.version if distribution else "",
            )
        )
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as error:
        raise PluginError(
            f"Plugin {manager.get_name(error.plugin)!r} implements a hook that does not exist: "
            f"{error}. See docs/plugin_hooks.md for the hooks."
        ) from None
    return Plugins(manager, infos)


def _import(key: str, load) -> object:
    try:
        return load()
    except Exception as error:
        raise PluginError(
            f"Plugin {key!r} failed to import: {type(error).__name__}: {error}. Fix it, or "
            f"switch it off with CARNET_DISABLED_PLUGINS={key}."
        ) from error


def _register(manager, key: str, plugin: object, source: str, version: str) -> PluginInfo:
    if not PLUGIN_KEY.match(key):
        raise PluginError(
            f"Plugin key {key!r} must be lowercase letters, digits and underscores (it names "
            "the plugin's tables and templates folder)."
        )
    try:
        manager.register(plugin, name=key)
    except (pluggy.PluginValidationError, ValueError) as error:
        raise PluginError(f"Plugin {key!r} cannot be registered: {error}") from None
    module_file = inspect.getfile(plugin if isinstance(plugin, ModuleType) else type(plugin))
    hooks = tuple(sorted(caller.name for caller in manager.get_hookcallers(plugin) or ()))
    return PluginInfo(key, source, version, hooks, Path(module_file).parent)


def _check_purged_with_its_dossier(key: str, table: type[Table]) -> None:
    """A plugin's table either hangs from the dossier, its rows deleted with it (the patient's
    deletion request, the end of the archive), or is marked as holding no patient data."""
    if getattr(table, NO_PATIENT_DATA, False):
        return
    for column in table._meta.foreign_key_columns:
        meta = column._foreign_key_meta
        if _is_the_dossier(meta.references) and meta.on_delete == OnDelete.cascade:
            return
    name = table._meta.tablename
    raise PluginError(
        f"Plugin {key!r}: the rows of its table {name!r} would outlive a purged dossier. Give "
        f"{table.__name__} a column `dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, "
        "index=True)` (Dossier from portal.dossiers.tables) and a migration; or, if it holds "
        "nothing about any patient, mark it with @holds_no_patient_data (from portal)."
    )


def _check_free_text_sealed(key: str, table: type[Table]) -> None:
    """The free text of a dossier (a ``Text`` or ``JSON`` column of a table with a ``dossier``
    column) is medical text: declared sealed, stored encrypted (docs/plugin_hooks.md)."""
    unsealed = crypto.unsealed_free_text(table)
    if not unsealed:
        return
    name, cls = table._meta.tablename, table.__name__
    columns = ", ".join(f"{cls}.{column}" for column in unsealed)
    raise PluginError(
        f"Plugin {key!r}: the column{'s' if len(unsealed) > 1 else ''} "
        f"{', '.join(repr(f'{name}.{column}') for column in unsealed)} of its table {name!r} "
        "hold free text of a dossier (medical text) and would be stored in clear. Declare "
        f"them sealed next to the table, `crypto.sealed({cls}, {columns})` (from portal import "
        "crypto), write the rows with crypto.insert and read them with crypto.opened, and add "
        "a migration sealing the rows already stored (portal.crypto.backfill.migrate); or, for "
        "a short value that says nothing medical (a code, a choice), use a Varchar column."
    )


def _is_the_dossier(references: type[Table] | LazyTableReference) -> bool:
    if isinstance(references, LazyTableReference):
        return references.table_class_name == Dossier.__name__ and (
            references.app_name == "portal" or references.module_path == Dossier.__module__
        )
    return references is Dossier


async def _settled(answers: list[Any]) -> list[Any]:
    """The hook's answers, each awaited in turn when an ``async def`` gave it; if one fails,
    those not reached are closed (never run)."""
    try:
        return [await answer if inspect.isawaitable(answer) else answer for answer in answers]
    finally:
        for answer in answers:
            if inspect.iscoroutine(answer):
                answer.close()  # nothing for one already awaited


def _app_name(dependency: str) -> str:
    return dependency.split(".")[0]


def _carnet_version() -> str:
    try:
        return importlib.metadata.version("carnet")
    except importlib.metadata.PackageNotFoundError:
        return "dev"
