"""The dossier sections that ship with Carnet, each a plugin (see portal/hookspecs.py)."""
