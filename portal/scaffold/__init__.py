"""`carnet plugin new NAME`: a new plugin package, ready to install and to test.

The package is written from the files in ``package/``, each a `string.Template` (``${key}``,
``${package}``...) whose path names the file it becomes (with ``__package__``, ``__key__`` and
``__migration__`` replaced, and ``.tmpl`` left off). It holds a section with its category, a
table with its migration, a card, a page with its htmx panel, its part of the dossier's PDF,
demo rows, and its tests on the test kit (`portal.testing`). A hook more is a function more
in ``plugin.py.tmpl``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from string import Template

from portal import clock
from portal.access.matrix import CORE_CATEGORIES
from portal.plugins import PLUGIN_KEY, Plugins

PACKAGE = Path(__file__).parent / "package"
SUFFIX = ".tmpl"


class ScaffoldError(ValueError):
    """The plugin cannot be written; the message says why."""


@dataclass(frozen=True)
class Names:
    """What a plugin is called, from its key (``blood_pressure``)."""

    key: str

    @property
    def package(self) -> str:
        return f"carnet_{self.key}"

    @property
    def distribution(self) -> str:
        return f"carnet-{self.key.replace('_', '-')}"

    @property
    def title(self) -> str:
        return self.key.replace("_", " ").capitalize()

    def substitutions(self, now: datetime) -> dict[str, str]:
        return {
            "key": self.key,
            "package": self.package,
            "distribution": self.distribution,
            "title": self.title,
            "migration_id": now.strftime("%Y-%m-%dT%H:%M:%S:%f"),
        }


def write_plugin(key: str, directory: Path, plugins: Plugins) -> Path:
    """Write the package of a new plugin ``key`` into ``directory``, beside the ``plugins``
    installed; returns its folder."""
    if not PLUGIN_KEY.match(key):
        raise ScaffoldError(
            f"{key!r} cannot name a plugin: lowercase letters, digits and underscores, from 2 "
            "to 31 characters, starting with a letter (e.g. blood_pressure)."
        )
    # Its key names its section and its category too.
    taken = {*CORE_CATEGORIES, *plugins.infos, *(category.key for category in plugins.categories)}
    if key in taken:
        raise ScaffoldError(f"{key!r} already names a part of Carnet: choose another name.")
    names = Names(key)
    folder = directory / names.distribution
    if folder.exists():
        raise ScaffoldError(f"{folder} already exists: nothing was written.")
    now = clock.now()
    substitutions = names.substitutions(now)
    placeholders = {
        "__package__": names.package,
        "__key__": key,
        "__migration__": f"{key}_{now.strftime('%Y_%m_%dt%H_%M_%S_%f')}",  # as Piccolo names them
    }
    for source in sorted(PACKAGE.rglob(f"*{SUFFIX}")):
        relative = str(source.relative_to(PACKAGE)).removesuffix(SUFFIX)
        for placeholder, name in placeholders.items():
            relative = relative.replace(placeholder, name)
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(Template(source.read_text()).substitute(substitutions))
    return folder
