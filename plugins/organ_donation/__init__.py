"""Organ donation: the patient's position on organ and tissue donation after death, and the
help to make a refusal count (the Registre national des refus does not come from Carnet)."""
