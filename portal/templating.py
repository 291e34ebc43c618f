"""The one Jinja environment of the portal.

Templates are looked up, in order, in the deployment's override folder
(``CARNET_TEMPLATES_DIR``), each plugin's ``templates/`` folder and the core's ``templates/``.
A template that wants to extend the core page it replaces names it with the ``core:`` prefix
(``{% extends "core:base.html" %}``). Autoescaping is on for everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
    select_autoescape,
)
from markupsafe import Markup

from portal import clock, i18n
from portal.echo import shown_back
from portal.identity.numbers import readable_address


def core_templates_dir() -> Path:
    """The core's templates: inside the package once installed, at the repository's top level
    in a checkout."""
    installed = Path(__file__).parent / "templates"
    return installed if installed.is_dir() else Path(__file__).parent.parent / "templates"


def with_colon(label: str) -> Markup:
    """`portal.i18n.with_colon` for a page: the label escaped (unless already markup), then the
    colon as the translation writes it after a label."""
    return Markup.escape(label) + i18n.with_colon("")


def create_environment(
    plugin_template_dirs: Iterable[Path],
    overrides_dir: Path | None = None,
    template_globals: dict[str, Any] | None = None,
) -> Environment:
    core = FileSystemLoader(core_templates_dir())
    loaders = [FileSystemLoader(overrides_dir)] if overrides_dir else []
    loaders += [FileSystemLoader(folder) for folder in plugin_template_dirs if folder.is_dir()]
    loaders += [core, PrefixLoader({"core": core}, delimiter=":")]
    environment = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)
    environment.filters.update(
        day=clock.day,
        day_and_time=clock.day_and_time,
        time_of_day=clock.time_of_day,
        address=readable_address,
        colon=with_colon,
        shown_back=shown_back,
    )
    environment.globals.update(template_globals or {})
    return environment
