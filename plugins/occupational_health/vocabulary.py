"""The shipped lists of the occupational health record: the agents a worker may be exposed to
(with the follow-up some call for), how an exposure was assessed, the kinds of visit and of
fitness notice. Keys are stored; labels are shown, translated."""

from __future__ import annotations

from dataclasses import dataclass

from portal import gettext_lazy as _


@dataclass(frozen=True)
class Agent:
    key: str
    label: str
    #: The follow-up the exposure calls for, or "" when none beyond the periodic visits.
    follow_up: str = ""


#: Exposures that call for a post-exposure or post-professional follow-up (surveillance
#: post-exposition / post-professionnelle): asbestos, CMR agents, ionising radiation.
AGENTS: dict[str, Agent] = {
    agent.key: agent
    for agent in (
        Agent(
            "amiante",
            _("Asbestos"),
            _("Post-exposure and post-professional follow-up: chest CT scan every 5 to 10 years."),
        ),
        Agent("silice", _("Crystalline silica")),
        Agent("bruit", _("Noise")),
        Agent("vibrations", _("Vibrations")),
        Agent("solvants", _("Solvents")),
        Agent(
            "cmr",
            _("Carcinogenic, mutagenic or reprotoxic agents (CMR)"),
            _("Post-exposure and post-professional follow-up, as the agent requires."),
        ),
        Agent(
            "rayonnements_ionisants",
            _("Ionising radiation"),
            _("Reinforced follow-up and post-professional follow-up (dosimetry record)."),
        ),
        Agent("travail_de_nuit", _("Night work")),
        Agent("port_de_charges", _("Carrying heavy loads")),
        Agent("postures_penibles", _("Strenuous postures")),
        Agent("temperatures_extremes", _("Extreme temperatures")),
        Agent("milieu_hyperbare", _("Hyperbaric environment")),
        Agent("agents_biologiques", _("Biological agents")),
        Agent("poussieres_de_bois", _("Wood dust")),
    )
}

INTENSITIES = {
    "faible": _("Low"),
    "moyenne": _("Medium"),
    "forte": _("High"),
}

ASSESSMENTS = {
    "mesure": _("Measurement at the workstation"),
    "etude_de_poste": _("Study of the workstation"),
    "matrice_emplois_expositions": _("Job-exposure matrix"),
    "declaration": _("Stated by the worker"),
}

VISIT_KINDS = {
    "information_prevention": _("Information and prevention visit"),
    "embauche": _("Pre-employment visit"),
    "periodique": _("Periodic visit"),
    "pre_reprise": _("Pre-return-to-work visit"),
    "reprise": _("Return-to-work visit"),
    "a_la_demande": _("Visit on request"),
}

NOTICES = {
    "": _("No notice"),
    "aptitude": _("Fit for the job"),
    "inaptitude": _("Unfit for the job"),
}

INCIDENT_KINDS = {
    "accident_du_travail": _("Occupational accident"),
    "accident_de_trajet": _("Commuting accident"),
    "maladie_professionnelle": _("Occupational disease"),
}
