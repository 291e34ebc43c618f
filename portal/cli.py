"""The ``carnet`` command. ``carnet --help`` lists what it can do."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import warnings
from collections.abc import Sequence

from portal.db import (
    Database,
    DatabaseUnavailable,
    create_engine,
    describe_error,
    is_unavailable_error,
)
from portal.piccolo_app import APP_CONFIG as CORE_APP
from portal.plugins import PluginError, load_plugins
from portal.settings import Settings, SettingsError


class CommandError(Exception):
    """A failure to report to the person in one line (exit status 1)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Piccolo reports connection problems as warnings with colours; ours say it in one line.
    warnings.filterwarnings("ignore", category=Warning, module="piccolo")
    try:
        return arguments.command(arguments) or 0
    except (SettingsError, PluginError, CommandError) as error:
        print(f"carnet: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="carnet",
        description="Carnet, the patient-owned shared health record. Settings come from the "
        "CARNET_* environment variables (see README.md).",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    serve = commands.add_parser("serve", help="serve the portal over HTTP")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    serve.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    serve.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="worker processes; they share nothing but the database (default: %(default)s)",
    )
    serve.set_defaults(command=serve_command)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(title="commands", metavar="COMMAND", required=True)
    upgrade = db_commands.add_parser(
        "upgrade", help="apply the migrations of the core and every plugin"
    )
    upgrade.set_defaults(command=upgrade_command)
    new_migration = db_commands.add_parser(
        "new-migration",
        help="write a migration for the changes to an app's tables (for plugin authors)",
    )
    new_migration.add_argument("app", help="the app: 'portal' or a plugin key")
    new_migration.add_argument("--description", default="", help="what the migration does")
    new_migration.set_defaults(command=new_migration_command)

    plugins = commands.add_parser("plugins", help="list the plugins, their versions and hooks")
    plugins.set_defaults(command=plugins_command)
    return parser


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def serve_command(arguments: argparse.Namespace) -> int:
    import uvicorn

    # Fail here, in one line, rather than in every worker with a traceback.
    settings = Settings.from_env()
    load_plugins(settings.disabled_plugins)
    print(
        f"Carnet on http://{arguments.host}:{arguments.port} ({settings.env}, "
        f"{arguments.workers} worker{'s' if arguments.workers > 1 else ''})"
    )
    uvicorn.run(
        "portal.app:create_app",
        factory=True,
        host=arguments.host,
        port=arguments.port,
        workers=arguments.workers,
        proxy_headers=False,
        server_header=False,
        log_level="info",
    )
    return 0


def upgrade_command(arguments: argparse.Namespace) -> int:
    applied = asyncio.run(upgrade_database(Settings.from_env()))
    if applied:
        print(f"Applied {len(applied)} migration{'s' if len(applied) > 1 else ''}:")
        for name in applied:
            print(f"  {name}")
    else:
        print("The database is up to date.")
    return 0


def new_migration_command(arguments: argparse.Namespace) -> int:
    from piccolo.apps.migrations.commands.new import new

    database = _installed_database(Settings.from_env())
    if arguments.app not in {config.app_name for config in database.app_configs}:
        raise CommandError(f"no app named {arguments.app!r}; see `carnet plugins`.")
    asyncio.run(new(app_name=arguments.app, auto=True, desc=arguments.description))
    return 0


def _installed_database(settings: Settings) -> Database:
    plugins = load_plugins(settings.disabled_plugins)
    database = Database(create_engine(settings.database_url), [CORE_APP, *plugins.piccolo_apps])
    database.install()
    return database


async def upgrade_database(settings: Settings) -> list[str]:
    database = _installed_database(settings)
    try:
        return await database.upgrade()
    except DatabaseUnavailable as error:
        raise CommandError(f"cannot reach the database: {error}") from None
    except Exception as error:
        if is_unavailable_error(error):
            raise CommandError(f"cannot reach the database: {describe_error(error)}") from None
        raise
    finally:
        await database.disconnect()


def plugins_command(arguments: argparse.Namespace) -> int:
    plugins = load_plugins(Settings.from_env().disabled_plugins)
    if not plugins.infos:
        print("No plugins are loaded.")
        return 0
    rows = [("plugin", "version", "from", "hooks")] + [
        (info.key, info.version, info.source, ", ".join(info.hooks))
        for info in plugins.infos.values()
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for row in rows:
        padded = [cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)]
        print("  ".join([*padded, row[3]]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
