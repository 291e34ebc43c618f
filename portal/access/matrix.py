"""The access matrix as data: which professions read and write each category of document.

The rules live in ``matrix.toml`` next to this module (or in the file a deployment names in
``CARNET_ACCESS_MATRIX``), plugin sections add their categories and default rules, and
`load_matrix` checks everything when the portal starts. The mechanisms around the matrix
(care circle, blocks, masks, emergency access) are code, in `portal.access`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from portal.hookspecs import Category
from portal.identity.professions import PROFESSIONS

DEFAULT_MATRIX = Path(__file__).parent / "matrix.toml"

#: The document categories of the core (ACCESS.md); plugins add theirs.
CORE_CATEGORIES = (
    "compte_rendu",
    "synthese",
    "imagerie",
    "prescription",
    "dispensation",
    "plan_soins",
    "traitement_administre",
    "certificat",
    "remboursement",
    "patient",
    "gestion",
)

#: Facts every deployment keeps, whatever its file says: (profession, category, document
#: type or None for the whole category) that may never be read.
NEVER_READ = (
    ("chirurgien_dentiste", "directives", None),
    ("pedicure_podologue", "compte_rendu", "accouchement"),
)


class MatrixError(ValueError):
    """The matrix cannot be used; the message names the file and what is wrong in it."""


@dataclass(frozen=True)
class Rule:
    read: frozenset[str]
    write: frozenset[str]


@dataclass(frozen=True)
class CategoryRules:
    rule: Rule
    #: Read by a SAMU regulator during a regulation call.
    samu: bool = False
    #: Written by the patient and their legal representatives too.
    by_patient: bool = False
    #: Refinements by document type (``compte_rendu/accouchement``): they replace the rule.
    types: Mapping[str, Rule] = field(default_factory=dict)

    def for_type(self, document_type: str | None) -> Rule:
        return self.types.get(document_type or "", self.rule)


@dataclass(frozen=True)
class Matrix:
    categories: Mapping[str, CategoryRules]
    #: Who may open a dossier outside the rules, with a written reason.
    emergency_professions: frozenset[str]

    def by_patient(self, category: str) -> bool:
        rules = self.categories.get(category)
        return rules is not None and rules.by_patient

    @property
    def samu_categories(self) -> frozenset[str]:
        """What a SAMU regulator reads during a regulation call."""
        return frozenset(key for key, rules in self.categories.items() if rules.samu)

    def may_read(self, profession: str, category: str, document_type: str | None = None) -> bool:
        rules = self.categories.get(category)
        return rules is not None and profession in rules.for_type(document_type).read

    def may_write(self, profession: str, category: str, document_type: str | None = None) -> bool:
        rules = self.categories.get(category)
        return rules is not None and profession in rules.for_type(document_type).write


def load_matrix(path: Path | None = None, plugin_categories: Iterable[Category] = ()) -> Matrix:
    """Read and check the matrix; `MatrixError` names the first problem found."""
    path = path or DEFAULT_MATRIX
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except OSError as error:
        raise MatrixError(f"Cannot read the access matrix {path}: {error.strerror}.") from None
    except tomllib.TOMLDecodeError as error:
        raise MatrixError(f"The access matrix {path} is not valid TOML: {error}.") from None
    check = _Checker(path)
    check.only_keys(data, "the file", {"categories", "emergency"})

    plugin_rules = {category.key: category for category in plugin_categories}
    for key in plugin_rules:
        if key in CORE_CATEGORIES:
            raise MatrixError(f"A plugin declares the category {key!r}, which is the core's.")
    known = set(CORE_CATEGORIES) | set(plugin_rules)
    categories: dict[str, CategoryRules] = {}
    for key, table in data.get("categories", {}).items():
        if key not in known:
            raise MatrixError(
                f"{path}: unknown category {key!r} (known: {', '.join(sorted(known))})."
            )
        categories[key] = check.category(key, table)
    for key, category in plugin_rules.items():
        if key not in categories:  # the plugin's defaults, unless the file says otherwise
            rule = Rule(
                check.professions(f"category {key}", "read", category.read),
                check.professions(f"category {key}", "write", category.write),
            )
            categories[key] = CategoryRules(rule, category.samu, category.by_patient)
    missing = [key for key in CORE_CATEGORIES if key not in categories]
    if missing:
        raise MatrixError(f"{path}: no rules for the categories {', '.join(missing)}.")

    emergency = data.get("emergency", {})
    check.only_keys(emergency, "[emergency]", {"professions"})
    matrix = Matrix(
        categories=categories,
        emergency_professions=check.professions(
            "[emergency]", "professions", emergency.get("professions", [])
        ),
    )
    for profession, category, document_type in NEVER_READ:
        if matrix.may_read(profession, category, document_type):
            what = f"{category}/{document_type}" if document_type else category
            raise MatrixError(
                f"{path}: {profession} may never read {what}; every deployment keeps this rule."
            )
    return matrix


class _Checker:
    """Reads the parts of the file, refusing what it does not understand by name."""

    def __init__(self, path: Path):
        self.path = path

    def only_keys(self, table: object, where: str, allowed: set[str]) -> None:
        if not isinstance(table, dict):
            raise MatrixError(f"{self.path}: {where} must be a table.")
        unknown = set(table) - allowed
        if unknown:
            raise MatrixError(f"{self.path}: unknown key {sorted(unknown)[0]!r} in {where}.")

    def category(self, key: str, table: object) -> CategoryRules:
        where = f"[categories.{key}]"
        self.only_keys(table, where, {"read", "write", "types", "samu", "by_patient"})
        for flag in ("samu", "by_patient"):
            if not isinstance(table.get(flag, False), bool):
                raise MatrixError(f"{self.path}: {where} {flag} must be true or false.")
        types = {}
        for document_type, type_table in table.get("types", {}).items():
            type_where = f"[categories.{key}.types.{document_type}]"
            self.only_keys(type_table, type_where, {"read", "write"})
            types[document_type] = self.rule(type_where, type_table)
        return CategoryRules(
            self.rule(where, table),
            samu=table.get("samu", False),
            by_patient=table.get("by_patient", False),
            types=types,
        )

    def rule(self, where: str, table: dict) -> Rule:
        for side in ("read", "write"):
            if side not in table:
                raise MatrixError(f"{self.path}: {where} needs a {side} list (it may be empty).")
        return Rule(
            self.professions(where, "read", table["read"]),
            self.professions(where, "write", table["write"]),
        )

    def professions(self, where: str, name: str, values: object) -> frozenset[str]:
        professions = self.strings(where, name, values)
        for profession in professions:
            if profession not in PROFESSIONS:
                raise MatrixError(
                    f"{self.path}: unknown profession {profession!r} in {where} {name} "
                    "(see portal/identity/professions.py)."
                )
        return frozenset(professions)

    def strings(self, where: str, name: str, values: object) -> list[str]:
        if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
            raise MatrixError(f"{self.path}: {where} {name} must be a list of names.")
        return list(values)
