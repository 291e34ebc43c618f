"""Sleep diary: an example third-party Carnet section."""
