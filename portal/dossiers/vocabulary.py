"""The words of the dossier: the document categories of ACCESS.md and their types, as people
read them. Plugin sections name their own categories (`portal.Category.label`)."""

from __future__ import annotations

from collections.abc import Iterable

from portal.hookspecs import Category
from portal.i18n import gettext_lazy as _

CATEGORY_LABELS = {
    "compte_rendu": _("Reports"),
    "synthese": _("Summaries"),
    "imagerie": _("Imaging"),
    "prescription": _("Prescriptions"),
    "dispensation": _("Dispensed medicines"),
    "plan_soins": _("Care plans"),
    "traitement_administre": _("Treatments given"),
    "certificat": _("Certificates"),
    "remboursement": _("Reimbursements"),
    "patient": _("My own documents"),
    "gestion": _("Administrative documents"),
}

#: Document types within the categories (``category/type``), as ACCESS.md names them.
TYPE_LABELS = {
    "compte_rendu/consultation": _("Consultation report"),
    "compte_rendu/hospitalisation": _("Hospital report"),
    "compte_rendu/operatoire": _("Operative report"),
    "compte_rendu/biologie": _("Laboratory results"),
    "compte_rendu/accouchement": _("Childbirth report"),
    "synthese/resume": _("Medical summary"),
}


def labels(plugin_categories: Iterable[Category]) -> dict[str, str]:
    """Every category's label: the core's, then the plugins' (their key when unnamed)."""
    names = dict(CATEGORY_LABELS)
    names.update({category.key: category.label or category.key for category in plugin_categories})
    return names
