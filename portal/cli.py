"""The ``carnet`` command. ``carnet --help`` lists what it can do."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import warnings
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from uuid import UUID

from portal import audit, clock, crypto
from portal.access.matrix import MatrixError
from portal.audit import signing, witness
from portal.audit.verification import verify
from portal.backup import BackupError, create_backup, known_migrations, restore_backup
from portal.crypto.rotation import rotate
from portal.db import (
    Database,
    DatabaseUnavailable,
    create_engine,
    describe_error,
    is_unavailable_error,
)
from portal.demo import load_demo, logins_text
from portal.dossiers.creation import purge_abandoned_registrations
from portal.dossiers.lifecycle import purge_archives
from portal.dossiers.summary import remind_outdated
from portal.identity.accounts import FormErrors, NewAccount, create_account, send_password_link
from portal.identity.professions import PROFESSIONS
from portal.identity.tables import Account, Role
from portal.notifications import service as notifications
from portal.notifications.messaging import MessageNotSent, channel_for
from portal.oauth.demo import register_demo_software, software_text
from portal.oauth.store import purge_ended as purge_ended_grants
from portal.piccolo_app import APP_CONFIG as CORE_APP
from portal.plugins import PluginError, load_plugins
from portal.settings import Settings, SettingsError, parse_database_url


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
    except (SettingsError, PluginError, MatrixError, CommandError, BackupError) as error:
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
    serve.add_argument(
        "--access-log",
        action="store_true",
        help="log every request (address, method, path, status); off by default: the audit "
        "trail records every access to a dossier",
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

    backup = commands.add_parser(
        "backup",
        help="write a backup of the whole database to FILE, while the portal serves",
        description="Write a backup of every table (the plugins' included) to FILE: the "
        "database's own dump, a consistent snapshot taken while the portal serves, with a "
        "manifest of its row counts and migrations. FILE is replaced once the backup is whole.",
    )
    backup.add_argument("file", type=Path, metavar="FILE")
    backup.set_defaults(command=backup_command)
    restore = commands.add_parser(
        "restore",
        help="restore a backup made by `carnet backup`, then verify its rows and audit trail",
        description="Restore FILE into the database of CARNET_DATABASE_URL, all or nothing, "
        "then check every table's row count and every audit chain and signature. Refuses a "
        "database that is not empty unless --force is given; a failed restore leaves the "
        "database as it was.",
    )
    restore.add_argument("file", type=Path, metavar="FILE")
    restore.add_argument(
        "--force",
        action="store_true",
        help="replace everything in a database that is not empty by the backup",
    )
    restore.set_defaults(command=restore_command)

    demo = commands.add_parser("demo", help="load the demo people into an empty database")
    demo.set_defaults(command=demo_command)

    user = commands.add_parser("user", help="accounts")
    user_commands = user.add_subparsers(title="commands", metavar="COMMAND", required=True)
    create = user_commands.add_parser(
        "create",
        help="open an account; the person receives a link to choose a password",
        description="Open an account. Unless --password-stdin is given, a single-use link to "
        "choose a password is sent through the messaging channel (CARNET_MESSAGING).",
    )
    create.add_argument("role", choices=[role.value for role in Role])
    create.add_argument("--login", required=True, help="the person's e-mail address")
    create.add_argument("--first-name", required=True)
    create.add_argument("--last-name", required=True)
    create.add_argument("--phone", default="")
    create.add_argument("--rpps", default="", help="professionals: 11-digit RPPS number")
    create.add_argument(
        "--profession", default="", choices=["", *PROFESSIONS], help="professionals: profession"
    )
    create.add_argument("--specialty", default="")
    create.add_argument("--nir", default="", help="patients: social security number")
    create.add_argument(
        "--birth-date", default=None, type=date.fromisoformat, help="patients: YYYY-MM-DD"
    )
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input instead of sending a link",
    )
    create.set_defaults(command=user_create_command)

    audit = commands.add_parser("audit", help="the audit trail")
    audit_commands = audit.add_subparsers(title="commands", metavar="COMMAND", required=True)
    verify = audit_commands.add_parser(
        "verify",
        help="check every hash chain, signature and checkpoint, and that no chain is shorter "
        "than its witness; exit 1 if broken",
    )
    verify.add_argument("--dossier", type=UUID, default=None, help="only this dossier's chain")
    verify.set_defaults(command=audit_verify_command)
    sign = audit_commands.add_parser(
        "sign",
        help="sign a checkpoint on the chains whose last events were written before every "
        "event was signed (run once after upgrading)",
    )
    sign.set_defaults(command=audit_sign_command)
    new_witness = audit_commands.add_parser(
        "new-witness",
        help="after a restore: start a new witness from the verified database, keeping the "
        "old file under another name",
    )
    new_witness.set_defaults(command=audit_new_witness_command)

    reminders = commands.add_parser(
        "reminders",
        help="send the reminders that are due: medical summaries over a year old, and the "
        "sections' own (run daily)",
    )
    reminders.set_defaults(command=reminders_command)

    purge = commands.add_parser(
        "purge",
        help="delete the dossiers closed ten years ago and the online registrations never "
        "activated whose codes expired, leaving a tombstone in the audit trail (run daily)",
    )
    purge.set_defaults(command=purge_command)

    keys = commands.add_parser("keys", help="the keys that encrypt the records at rest")
    keys_commands = keys.add_subparsers(title="commands", metavar="COMMAND", required=True)
    rotate = keys_commands.add_parser(
        "rotate",
        help="re-wrap every record's data key under CARNET_MASTER_KEY (the old master key in "
        "CARNET_PREVIOUS_MASTER_KEYS); resumable, the portal keeps serving",
    )
    rotate.set_defaults(command=keys_rotate_command)

    plugins = commands.add_parser("plugins", help="list the plugins, their versions and hooks")
    plugins.set_defaults(command=plugins_command)

    plugin = commands.add_parser("plugin", help="for plugin authors")
    plugin_commands = plugin.add_subparsers(title="commands", metavar="COMMAND", required=True)
    new_plugin = plugin_commands.add_parser(
        "new",
        help="write a new plugin package: a section with its table, pages, card, PDF part, "
        "demo rows and tests",
    )
    new_plugin.add_argument(
        "name", help="the plugin's key: lowercase letters, digits and _ (e.g. blood_pressure)"
    )
    new_plugin.add_argument(
        "--directory",
        type=Path,
        default=Path(),
        help="where to write its folder (default: the current one)",
    )
    new_plugin.set_defaults(command=plugin_new_command)
    return parser


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def serve_command(arguments: argparse.Namespace) -> int:
    import uvicorn

    from portal import serving

    # Fail here, in one line, rather than in every worker with a traceback.
    settings = Settings.from_env()
    load_plugins(settings.disabled_plugins)
    print(
        f"Carnet on http://{arguments.host}:{arguments.port} ({settings.env}, "
        f"{arguments.workers} worker{'s' if arguments.workers > 1 else ''})"
    )
    try:
        _run_with_database(_with_database(settings, crypto.check_keys))
    except crypto.WrongMasterKey as error:
        raise CommandError(str(error)) from None
    except CommandError:  # the database is down: the portal answers 503 until it is back
        pass
    if arguments.workers > 1 and parse_database_url(settings.database_url).engine == "sqlite":
        print(
            "carnet: warning: the workers share SQLite's one writer and wait on each other's "
            "writes, for seconds under load; serve SQLite with one worker, or use PostgreSQL.",
            file=sys.stderr,
        )
    config = uvicorn.Config(
        "portal.app:create_served_app",
        factory=True,
        host=arguments.host,
        port=arguments.port,
        workers=arguments.workers,
        loop="uvloop",
        http="httptools",
        proxy_headers=False,
        server_header=False,
        log_level="info",
        access_log=arguments.access_log,
    )
    serving.serve(config)
    return 0


def upgrade_command(arguments: argparse.Namespace) -> int:
    applied = _run_with_database(upgrade_database(Settings.from_env()))
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
    audit.install(settings)
    crypto.install(crypto.keyring_for(settings))
    return database


async def _with_database(settings: Settings, work):
    """Run ``work()`` with the database open, and close it afterwards."""
    database = _installed_database(settings)
    try:
        await database.connect()
        return await work()
    finally:
        await database.disconnect()


def audit_verify_command(arguments: argparse.Namespace) -> int:
    settings = Settings.from_env()
    key = signing.key_from_text(settings.audit_key)

    async def check():
        heads = await witness.load(settings.audit_witness, key)
        return await verify(key, dossier_id=arguments.dossier, witness=heads)

    try:
        report = _run_with_database(_with_database(settings, check))
    except witness.WitnessError as error:
        raise CommandError(str(error)) from None
    print(
        f"{report.events} events in {report.chains} chain{'s' if report.chains != 1 else ''}, "
        f"{report.checkpoints} signed checkpoint{'s' if report.checkpoints != 1 else ''}."
    )
    if report.unsigned:
        waiting = sum(report.unsigned.values())
        print(
            f"{waiting} recent event{'s' if waiting != 1 else ''} not yet signed "
            "(carnet audit sign)."
        )
    print(f"{report.witnessed} chain{'s' if report.witnessed != 1 else ''} compared with the "
          f"witness {settings.audit_witness}.")  # fmt: skip
    if report.intact:
        print("The audit trail is intact.")
        return 0
    print("THE AUDIT TRAIL HAS BEEN TAMPERED WITH:")
    for problem in report.problems:
        print(f"  {problem}")
    return 1


def audit_sign_command(arguments: argparse.Namespace) -> int:
    settings = Settings.from_env()
    key = signing.key_from_text(settings.audit_key)
    count = _run_with_database(_with_database(settings, lambda: signing.sign_heads(key)))
    print(f"Signed {count} chain head{'s' if count != 1 else ''}.")
    return 0


def backup_command(arguments: argparse.Namespace) -> int:
    settings = Settings.from_env()
    manifest = _run_with_database(create_backup(settings.database_url, arguments.file))
    print(
        f"Backed up {manifest.rows} rows in {len(manifest.row_counts)} tables to {arguments.file}."
    )
    return 0


def restore_command(arguments: argparse.Namespace) -> int:
    settings = Settings.from_env()
    plugins = load_plugins(settings.disabled_plugins)
    known = known_migrations([CORE_APP, *plugins.piccolo_apps])
    manifest = _run_with_database(
        restore_backup(settings.database_url, arguments.file, known, force=arguments.force)
    )
    # The audit chains now end where they ended when the backup was made: once they verify,
    # the witness starts again from the restored heads (the previous one kept aside).
    restored = (
        f"Restored {manifest.rows} rows in {len(manifest.row_counts)} tables from the backup "
        f"of {manifest.created_at}"
    )
    key = signing.key_from_text(settings.audit_key)
    try:
        kept = _run_with_database(
            _with_database(settings, lambda: witness.restart(settings.audit_witness, key))
        )
    except witness.WitnessError as error:
        print(f"{restored}; audit: {error} (see carnet audit verify).")
        return 1
    aside = f" (the previous one kept as {kept})" if kept else ""
    print(f"{restored}; a new audit witness started{aside}; audit: intact.")
    missing = known - set(manifest.migrations)
    if missing:
        print(
            f"This version has {len(missing)} migration{'s' if len(missing) > 1 else ''} the "
            "backup predates: run `carnet db upgrade`."
        )
    return 0


def audit_new_witness_command(arguments: argparse.Namespace) -> int:
    settings = Settings.from_env()
    key = signing.key_from_text(settings.audit_key)
    try:
        kept = _run_with_database(
            _with_database(settings, lambda: witness.restart(settings.audit_witness, key))
        )
    except witness.WitnessError as error:
        raise CommandError(str(error)) from None
    if kept:
        print(f"The previous witness is kept as {kept}.")
    print(f"New witness started in {settings.audit_witness}.")
    return 0


def reminders_command(arguments: argparse.Namespace) -> int:
    settings = Settings.from_env()
    notifications.install(channel_for(settings), settings.language)
    plugins = load_plugins(settings.disabled_plugins)

    async def remind() -> int:
        now = clock.now()
        return await remind_outdated(now) + await plugins.send_reminders(now)

    count = _run_with_database(_with_database(settings, remind))
    print(f"Sent {count} reminder{'s' if count != 1 else ''}.")
    return 0


def purge_command(arguments: argparse.Namespace) -> int:
    settings = Settings.from_env()

    async def purge() -> tuple[int, int, int]:
        return (
            await purge_archives(clock.now()),
            await purge_abandoned_registrations(),
            await purge_ended_grants(),
        )

    archives, registrations, grants = _run_with_database(_with_database(settings, purge))
    print(f"Purged {archives} dossier{'s' if archives != 1 else ''} closed ten years ago.")
    print(
        f"Purged {registrations} online registration{'s' if registrations != 1 else ''} "
        "never activated, every code expired."
    )
    print(f"Purged {grants} ended grant{'s' if grants != 1 else ''} of software access.")
    return 0


async def upgrade_database(settings: Settings) -> list[str]:
    database = _installed_database(settings)
    try:
        return await database.upgrade()
    finally:
        await database.disconnect()


def demo_command(arguments: argparse.Namespace) -> int:
    settings = Settings.from_env()
    plugins = load_plugins(settings.disabled_plugins)

    async def load() -> bool:
        loaded = await load_demo(plugins)
        if loaded:
            await register_demo_software(settings.data_dir)
        return loaded

    loaded = _run_with_database(_with_database(settings, load))
    print("Demo data loaded." if loaded else "The database is not empty: demo data left as it is.")
    print(logins_text())
    print(software_text(settings.data_dir))
    return 0


def user_create_command(arguments: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\n") if arguments.password_stdin else ""
    if arguments.password_stdin and not password:
        raise CommandError("no password on standard input.")
    settings = Settings.from_env()

    async def create() -> str:
        try:
            account_id = await create_account(
                NewAccount(
                    role=Role(arguments.role),
                    login=arguments.login,
                    first_name=arguments.first_name,
                    last_name=arguments.last_name,
                    phone=arguments.phone,
                    password=password,
                    rpps=arguments.rpps,
                    profession=arguments.profession,
                    specialty=arguments.specialty,
                    nir=arguments.nir,
                    birth_date=arguments.birth_date,
                )
            )
        except FormErrors as problem:
            raise CommandError(
                "; ".join(f"{field}: {message}" for field, message in problem.errors.items())
            ) from None
        account = await Account.select().where(Account.id == account_id).first()
        if not password:
            try:
                await send_password_link(
                    account, settings.base_url, channel_for(settings), welcome=True
                )
            except MessageNotSent as problem:
                raise CommandError(
                    f"account {account['login']} opened, but the link to choose a password "
                    f"could not be sent ({problem}). Once messaging works, they can use "
                    '"Forgotten password?" on the login page.'
                ) from None
            return f"Account {account['login']} opened; a link to choose a password was sent."
        return f"Account {account['login']} opened."

    print(_run_with_database(_with_database(settings, create)))
    return 0


def _run_with_database(coroutine):
    """Run a command's coroutine; an unreachable database is a one-line error."""
    try:
        return asyncio.run(coroutine)
    except DatabaseUnavailable as error:
        raise CommandError(f"cannot reach the database: {error}") from None
    except Exception as error:
        if is_unavailable_error(error):
            raise CommandError(f"cannot reach the database: {describe_error(error)}") from None
        raise


def keys_rotate_command(arguments: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if settings.master_key_generated:
        raise CommandError(
            "set CARNET_MASTER_KEY to the new master key and CARNET_PREVIOUS_MASTER_KEYS to the "
            f"one in use (in development, the content of {settings.data_dir / 'master_key'}); "
            "a new key: python -c 'import base64, os; "
            "print(base64.b64encode(os.urandom(32)).decode())'"
        )
    rotation = _run_with_database(_with_database(settings, rotate))
    print(f"{rotation.rewrapped} data keys re-wrapped under the master key {rotation.key_id}.")
    if rotation.shredded:
        print(f"{rotation.shredded} records were deleted: their keys stay destroyed.")
    if not rotation.complete:
        missing = ", ".join(f"{key} ({count})" for key, count in sorted(rotation.missing.items()))
        raise CommandError(
            f"data keys wrapped by keys not configured were left as they are: {missing}; "
            "add those keys to CARNET_PREVIOUS_MASTER_KEYS and run it again."
        )
    print("Every data key is under the new master key: the previous ones are no longer needed.")
    return 0


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


def plugin_new_command(arguments: argparse.Namespace) -> int:
    from portal.scaffold import ScaffoldError, write_plugin

    plugins = load_plugins(Settings.from_env().disabled_plugins)
    try:
        folder = write_plugin(arguments.name, arguments.directory, plugins)
    except (ScaffoldError, OSError) as error:  # a name it cannot take, a folder it cannot write
        raise CommandError(str(error)) from None
    print(f"Wrote the plugin {arguments.name!r} in {folder}. Install it beside Carnet, then:")
    print(f"  pip install -e '{folder}[test]'")
    print("  carnet db upgrade          # its table")
    print(f"  cd {folder} && pytest      # its tests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
