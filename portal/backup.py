"""Backups of the whole database and their restore (`carnet backup FILE`, `carnet restore FILE`).

A backup is one tar file holding two members:

- ``manifest.json``: the backup format's version, the engine, the Carnet version, when it was
  made, the migrations applied (``app:id``, the core's and every plugin's), the number of rows
  of every table, and the dump's name, size and SHA-256;
- the engine's own dump of every table: on SQLite a copy made with SQLite's online backup API
  (``database.sqlite3``), on PostgreSQL ``pg_dump``'s custom format (``database.pgdump``),
  taken in the same snapshot as the row counts (``pg_dump --snapshot``).

Both are made while the portal serves: a consistent snapshot, without stopping anything.

A restore first checks everything it can without touching the database: that the file is a
whole Carnet backup (its dump matches the checksum), of a format this version reads, of the
engine in ``CARNET_DATABASE_URL``, whose migrations this installation knows, and that the
database holds nothing (unless forced). Then it restores all or nothing and checks that every
table has the rows the manifest recorded:

- SQLite: the dump is checked (integrity, row counts) as a file of its own, then copied into
  the database with the same backup API, in one write transaction;
- PostgreSQL: the tables in place are dropped, ``pg_restore``'s script is run, and the row
  counts are checked, all in one transaction (``psql --single-transaction``): a failure at
  any step rolls everything back.

Verifying the audit trail of the restored database is the caller's next step (`portal.cli`).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.conf.apps import AppConfig

from portal import clock
from portal.db import SQLITE_BUSY_TIMEOUT
from portal.settings import parse_database_url

#: The version of the backup file's layout; a restore refuses a newer one.
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DUMPS = {"sqlite": "database.sqlite3", "postgres": "database.pgdump"}
ENGINE_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
#: Piccolo's own table of the migrations applied; a database holding only these rows is empty.
MIGRATION_TABLE = "migration"
#: Far more than the manifest of a database with a thousand tables and migrations needs.
MAX_MANIFEST_SIZE = 1 << 20
MIGRATIONS_APPLIED = "SELECT app_name, name FROM migration ORDER BY id"
CHUNK = 1 << 20


class BackupError(Exception):
    """A backup or restore that cannot be done, said in one line; the database is unchanged."""


@dataclass(frozen=True)
class Manifest:
    """What a backup holds, written beside its dump."""

    format: int
    engine: str
    carnet_version: str
    created_at: str
    migrations: list[str]
    row_counts: dict[str, int]
    dump: str
    dump_size: int
    dump_sha256: str

    @property
    def rows(self) -> int:
        return sum(self.row_counts.values())

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes, source: Path) -> Manifest:
        try:
            fields = json.loads(data)
            if not isinstance(fields, dict) or not isinstance(fields.get("format"), int):
                raise ValueError
            if fields["format"] > FORMAT_VERSION:
                raise BackupError(
                    f"{source} was made by a newer version of Carnet (backup format "
                    f"{fields['format']}; this one reads format {FORMAT_VERSION} and older): "
                    "upgrade Carnet to restore it."
                )
            manifest = cls(**fields)
            if not (
                manifest.engine in DUMPS
                and manifest.dump == DUMPS[manifest.engine]
                and all(isinstance(name, str) for name in manifest.migrations)
                and all(isinstance(count, int) for count in manifest.row_counts.values())
            ):
                raise ValueError
        except (ValueError, TypeError, AttributeError, UnicodeDecodeError):
            raise BackupError(
                f"{source} is not a Carnet backup: its manifest is unreadable."
            ) from None
        return manifest


def known_migrations(app_configs: Iterable[AppConfig]) -> set[str]:
    """Every migration (``app:id``) this installation can apply: the core's and its plugins'."""
    manager = BaseMigrationManager()
    return {
        f"{config.app_name}:{migration_id}"
        for config in app_configs
        for migration_id in manager.get_migration_modules(config.migrations_folder_path)
    }


# --- backup -----------------------------------------------------------------------------------


async def create_backup(database_url: str, target: Path) -> Manifest:
    """Write a backup of the database at ``database_url`` to ``target``, replacing it only once
    the new one is whole."""
    url = parse_database_url(database_url)
    folder = target.parent
    if not await asyncio.to_thread(folder.is_dir):
        raise BackupError(f"cannot write {target}: there is no folder {folder}.")
    with tempfile.TemporaryDirectory(prefix=".carnet-backup-", dir=folder) as work:
        dump = Path(work) / DUMPS[url.engine]
        if url.engine == "sqlite":
            migrations, counts = await asyncio.to_thread(_sqlite_backup, Path(url.path), dump)
        else:
            migrations, counts = await _postgres_backup(url.dsn, dump)
        return await asyncio.to_thread(_pack, url.engine, migrations, counts, dump, target)


def _pack(
    engine: str, migrations: list[str], counts: dict[str, int], dump: Path, target: Path
) -> Manifest:
    """Write the manifest and ``dump`` into a tar beside ``target``, then put it in its place."""
    size, digest = _digest(dump)
    manifest = Manifest(
        format=FORMAT_VERSION,
        engine=engine,
        carnet_version=version("carnet"),
        created_at=clock.now().isoformat(timespec="seconds"),
        migrations=migrations,
        row_counts=counts,
        dump=dump.name,
        dump_size=size,
        dump_sha256=digest,
    )
    archive = dump.with_name("backup.tar")
    # Health data: readable by the owner alone, as the database is.
    with open(os.open(archive, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as file:
        with tarfile.open(fileobj=file, mode="w", format=tarfile.PAX_FORMAT) as tar:
            data = manifest.to_json()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(data), int(clock.now().timestamp())
            tar.addfile(_private(info), io.BytesIO(data))
            tar.add(dump, arcname=dump.name, filter=_private)
        file.flush()
        os.fsync(file.fileno())
    os.replace(archive, target)
    return manifest


def _sqlite_backup(path: Path, dump: Path) -> tuple[list[str], dict[str, int]]:
    if not path.is_file():
        raise BackupError(f"there is no database at {path}.")
    source = sqlite3.connect(_read_only(path), uri=True, timeout=SQLITE_BUSY_TIMEOUT)
    copy = sqlite3.connect(dump)
    try:
        # All pages in one step, in one read transaction: a consistent snapshot, taken while
        # the portal goes on writing to the WAL.
        source.backup(copy)
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        return _sqlite_migrations(copy), _sqlite_counts(copy)
    except sqlite3.Error as error:
        raise BackupError(f"cannot back up {path}: {error}.") from None
    finally:
        source.close()
        copy.close()


async def _postgres_backup(dsn: str, dump: Path) -> tuple[list[str], dict[str, int]]:
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        # The row counts and pg_dump read the same snapshot, exported by this transaction.
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            snapshot = await connection.fetchval("SELECT pg_export_snapshot()")
            tables = await _postgres_tables(connection)
            counts = {table: await connection.fetchval(_count(table)) for table in tables}
            migrations = await _postgres_migrations(connection, tables)
            await _finish(
                "pg_dump",
                await _start(
                    "pg_dump", ["--format=custom", f"--snapshot={snapshot}", f"--file={dump}"], dsn
                ),
            )
    finally:
        await connection.close()
    return migrations, counts


# --- restore ----------------------------------------------------------------------------------


async def restore_backup(
    database_url: str, source: Path, known: set[str], *, force: bool = False
) -> Manifest:
    """Restore the backup at ``source`` into the database at ``database_url`` and check the
    row count of every table; raise `BackupError`, leaving the database as it was, when it
    cannot be done. ``known`` are the migrations this installation can apply."""
    url = parse_database_url(database_url)
    with tempfile.TemporaryDirectory(prefix=".carnet-restore-") as work:
        manifest, dump = await asyncio.to_thread(_unpack, source, Path(work))
        if manifest.engine != url.engine:
            raise BackupError(
                f"{source} is a backup of a {ENGINE_NAMES[manifest.engine]} database; "
                f"CARNET_DATABASE_URL names a {ENGINE_NAMES[url.engine]} one. Restore it "
                f"into a {ENGINE_NAMES[manifest.engine]} database."
            )
        unknown = sorted(set(manifest.migrations) - known)
        if unknown:
            raise BackupError(
                f"{source} holds tables of a newer version of Carnet or of plugins not "
                f"installed here (unknown migrations: {', '.join(unknown[:3])}"
                f"{f' and {len(unknown) - 3} more' if len(unknown) > 3 else ''}); install "
                "them, then restore."
            )
        if url.engine == "sqlite":
            await asyncio.to_thread(_sqlite_restore, dump, Path(url.path), manifest, force)
        else:
            await _postgres_restore(dump, url.dsn, manifest, force)
    return manifest


def _unpack(source: Path, work: Path) -> tuple[Manifest, Path]:
    """The manifest and the dump of the backup at ``source``, the dump checked against the
    manifest's size and checksum."""
    if not source.is_file():
        raise BackupError(f"there is no backup file {source}.")
    try:
        with tarfile.open(source, "r:") as tar:
            member = tar.next()
            if (
                member is None
                or member.name != MANIFEST
                or not member.isfile()
                or member.size > MAX_MANIFEST_SIZE
            ):
                raise BackupError(f"{source} is not a Carnet backup: it has no manifest.")
            manifest = Manifest.from_json(tar.extractfile(member).read(), source)
            member = tar.next()
            if member is None or member.name != manifest.dump or not member.isfile():
                raise BackupError(f"{source} is incomplete: its database dump is missing.")
            dump = work / manifest.dump
            digest = hashlib.sha256()
            with tar.extractfile(member) as data, open(dump, "wb") as copy:
                while chunk := data.read(CHUNK):
                    digest.update(chunk)
                    copy.write(chunk)
    except (tarfile.TarError, EOFError) as error:
        raise BackupError(f"{source} is not a whole Carnet backup (truncated?): {error}.") from None
    except OSError as error:
        raise BackupError(f"cannot read {source}: {error.strerror or error}.") from None
    if member.size != manifest.dump_size or digest.hexdigest() != manifest.dump_sha256:
        raise BackupError(
            f"{source} is damaged: its database dump does not match the checksum recorded "
            "when it was made."
        )
    return manifest, dump


def _sqlite_restore(dump: Path, path: Path, manifest: Manifest, force: bool) -> None:
    backup = sqlite3.connect(dump)
    try:
        try:
            damaged = backup.execute("PRAGMA integrity_check").fetchone()[0] != "ok"
            counts = _sqlite_counts(backup)
        except sqlite3.DatabaseError:
            damaged = True
        if damaged:
            raise BackupError("the database in the backup is damaged (integrity check failed).")
        _check_counts(manifest, counts, "in the backup")
        if not force and path.exists():
            _refuse_unless_empty(_sqlite_read(path, _sqlite_counts))
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # The journal of a deleted database would be replayed into the new one.
            for orphan in ("-wal", "-shm"):
                path.with_name(path.name + orphan).unlink(missing_ok=True)
        database = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT)
        try:
            database.execute("PRAGMA journal_mode = WAL")
            # Every page in one step: one write transaction, so the portal's connections see
            # the database before or after, and a failure leaves it as it was.
            backup.backup(database)
            restored = _sqlite_counts(database)
        except sqlite3.Error as error:
            raise BackupError(f"cannot restore into {path}: {error}.") from None
        finally:
            database.close()
    finally:
        backup.close()
    _check_counts(manifest, restored, "after the restore")


async def _postgres_restore(dump: Path, dsn: str, manifest: Manifest, force: bool) -> None:
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        schema = await connection.fetchval("SELECT current_schema()")
        tables = await _postgres_tables(connection)
        if not force:
            _refuse_unless_empty(
                {table: await connection.fetchval(_count(table)) for table in tables}
            )
    finally:
        await connection.close()
    # pg_restore's script between the removal of what is there and the check of what it
    # restored: one transaction, stopped and rolled back at the first error.
    read, write = os.pipe()
    try:
        script = await _start(
            "pg_restore", ["--no-owner", "--no-privileges", "--file=-", str(dump)], stdout=write
        )
    finally:
        os.close(write)
    try:
        restore = await _start(
            "psql",
            [
                "--no-psqlrc",
                "--quiet",
                "--single-transaction",
                "--set=ON_ERROR_STOP=1",
                f"--command={_postgres_clear(schema)}",
                "--file=-",
                f"--command={_postgres_check(schema, manifest.row_counts)}",
            ],
            dsn,
            stdin=read,
        )
    finally:
        os.close(read)
    # psql's complaint first: when it stops, pg_restore fails only for writing to no one.
    await _finish("psql", restore, "the restore was rolled back, the database is unchanged")
    await _finish("pg_restore", script)


def _postgres_clear(schema: str) -> str:
    """SQL removing the views, tables, sequences and functions of ``schema`` (not those of
    extensions), before the backup's are created."""
    literal = _literal(schema)
    return f"""DO $$DECLARE item record; BEGIN
FOR item IN
  SELECT 'VIEW' AS kind, format('%I.%I', schemaname, viewname) AS name
    FROM pg_views WHERE schemaname = {literal}
  UNION ALL SELECT 'TABLE', format('%I.%I', schemaname, tablename)
    FROM pg_tables WHERE schemaname = {literal}
  UNION ALL SELECT 'SEQUENCE', format('%I.%I', schemaname, sequencename)
    FROM pg_sequences WHERE schemaname = {literal}
  UNION ALL SELECT 'ROUTINE', format('%I.%I(%s)', {literal}, proname,
      pg_get_function_identity_arguments(oid))
    FROM pg_proc WHERE pronamespace = {literal}::regnamespace AND NOT EXISTS (
      SELECT 1 FROM pg_depend WHERE objid = pg_proc.oid AND deptype = 'e')
LOOP
  EXECUTE format('DROP %s IF EXISTS %s CASCADE', item.kind, item.name);
END LOOP; END$$;"""  # noqa: S608 (the schema as a quoted literal)


def _postgres_check(schema: str, counts: dict[str, int]) -> str:
    """SQL failing, and so rolling back the restore, unless every table of the manifest is
    there with the rows it recorded."""
    checks = "".join(
        f"SELECT count(*) INTO found FROM {_quoted(schema)}.{_quoted(table)}; "  # noqa: S608
        f"IF found <> {count} THEN RAISE EXCEPTION 'the row counts after the restore differ "
        f"from the manifest (%: % rows, % recorded)', {_literal(table)}, found, {count}; "
        "END IF; "
        for table, count in sorted(counts.items())
    )
    return f"DO $$DECLARE found bigint; BEGIN {checks}END$$;"


# --- helpers ----------------------------------------------------------------------------------


def _refuse_unless_empty(counts: dict[str, int]) -> None:
    filled = sorted(table for table, rows in counts.items() if rows and table != MIGRATION_TABLE)
    if filled:
        raise BackupError(
            f"the database is not empty (tables {', '.join(filled[:5])}"
            f"{', …' if len(filled) > 5 else ''} hold rows): restore with --force to replace "
            "everything in it by the backup."
        )


def _check_counts(manifest: Manifest, counts: dict[str, int], where: str) -> None:
    wrong = [
        f"{table}: {counts.get(table, 'no table')} rows, {expected} recorded"
        for table, expected in sorted(manifest.row_counts.items())
        if counts.get(table) != expected
    ]
    if wrong:
        raise BackupError(f"the row counts {where} differ from the manifest ({'; '.join(wrong)}).")


def _sqlite_read(path: Path, reading):
    database = sqlite3.connect(_read_only(path), uri=True, timeout=SQLITE_BUSY_TIMEOUT)
    try:
        return reading(database)
    except sqlite3.Error as error:
        raise BackupError(f"cannot read the database at {path}: {error}.") from None
    finally:
        database.close()


def _read_only(path: Path) -> str:
    """The URI opening the SQLite database at ``path`` read-only, without creating it."""
    return f"{path.absolute().as_uri()}?mode=ro"


def _sqlite_counts(database: sqlite3.Connection) -> dict[str, int]:
    tables = [
        row[0]
        for row in database.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    return {table: database.execute(_count(table)).fetchone()[0] for table in tables}


def _sqlite_migrations(database: sqlite3.Connection) -> list[str]:
    exists = database.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (MIGRATION_TABLE,)
    ).fetchone()
    if not exists:
        return []
    rows = database.execute(MIGRATIONS_APPLIED)
    return [f"{app}:{name}" for app, name in rows]


async def _postgres_tables(connection) -> list[str]:
    rows = await connection.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
    )
    return [row["tablename"] for row in rows]


async def _postgres_migrations(connection, tables: list[str]) -> list[str]:
    if MIGRATION_TABLE not in tables:
        return []
    rows = await connection.fetch(MIGRATIONS_APPLIED)
    return [f"{row['app_name']}:{row['name']}" for row in rows]


async def _start(
    tool: str, arguments: list[str], dsn: str = "", *, stdin=None, stdout=None
) -> asyncio.subprocess.Process:
    """Start one of PostgreSQL's client tools on ``dsn``, the password passed through the
    environment rather than the command line."""
    executable = shutil.which(tool)
    if executable is None:
        raise BackupError(
            f"{tool} is not installed: install PostgreSQL's client tools "
            "(Debian: apt-get install postgresql-client)."
        )
    environment = dict(os.environ)
    if dsn:
        parts = urlsplit(dsn)
        if parts.password:
            environment["PGPASSWORD"] = parts.password
            host = parts.netloc.rpartition("@")[2]
            parts = parts._replace(netloc=f"{parts.username}@{host}")
        arguments = [f"--dbname={urlunsplit(parts)}", *arguments]
    return await asyncio.create_subprocess_exec(
        executable,
        *arguments,
        stdin=asyncio.subprocess.DEVNULL if stdin is None else stdin,
        stdout=asyncio.subprocess.DEVNULL if stdout is None else stdout,
        stderr=asyncio.subprocess.PIPE,
        env=environment,
    )


async def _finish(tool: str, process: asyncio.subprocess.Process, outcome: str = "") -> None:
    """Wait for ``process``; `BackupError` with what it said went wrong, and ``outcome``."""
    _, errors = await process.communicate()
    if process.returncode != 0:
        lines = [line.strip() for line in errors.decode(errors="replace").splitlines()]
        said = next(
            (line.partition("ERROR:")[2].strip() for line in lines if "ERROR:" in line),
            lines[-1] if lines else f"exit status {process.returncode}",
        )
        raise BackupError(f"{tool} failed{f' ({outcome})' if outcome else ''}: {said}")


def _private(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
    return info


def _digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    with open(path, "rb") as data:
        while chunk := data.read(CHUNK):
            digest.update(chunk)
    return path.stat().st_size, digest.hexdigest()


def _count(table: str) -> str:
    return f"SELECT count(*) FROM {_quoted(table)}"  # noqa: S608 (a quoted table name)


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
