"""The vaccination record (carnet de vaccination): a section of the dossier, as a plugin."""
