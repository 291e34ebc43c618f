"""Piccolo's configuration module (``PICCOLO_CONF``).

Piccolo's tools look here for ``DB`` and ``APP_REGISTRY``; both come from the database the
running portal installed (`portal.db.Database.install`), read at each access.
"""

from portal import db


def __getattr__(name: str):
    if name == "DB":
        return db.current().engine
    if name == "APP_REGISTRY":
        return db.current().registry
    raise AttributeError(name)
