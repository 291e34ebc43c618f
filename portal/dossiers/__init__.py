"""Dossiers: one per person, owned by the patient, managed by their legal representatives."""
