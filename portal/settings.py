"""Settings, read once from the environment (see CONVENTIONS.md for the fixed names).

`Settings.from_env()` parses and validates every ``CARNET_*`` variable and raises
`SettingsError` with a message naming the variable when a value is wrong, so that a
deployment fails at start-up rather than at the first request.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ENVIRONMENTS = ("dev", "test", "prod")
LANGUAGES = ("fr", "en")

#: Every variable the portal reads; anything else starting with CARNET_ is a typo.
KNOWN_VARIABLES = (
    "CARNET_DATABASE_URL",
    "CARNET_SECRET_KEY",
    "CARNET_ENV",
    "CARNET_BASE_URL",
    "CARNET_LANGUAGE",
    "CARNET_DATA_DIR",
    "CARNET_ALLOWED_HOSTS",
    "CARNET_COOKIE_SECURE",
    "CARNET_DISABLED_PLUGINS",
    "CARNET_TEMPLATES_DIR",
    "CARNET_MESSAGING",
    "CARNET_SMTP_URL",
    "CARNET_MAIL_FROM",
    "CARNET_SMS_URL",
    "CARNET_TRUSTED_PROXIES",
    "CARNET_AUDIT_KEY",
    "CARNET_AUDIT_WITNESS",
    "CARNET_MASTER_KEY",
    "CARNET_PREVIOUS_MASTER_KEYS",
    "CARNET_OAUTH_KEY",
    "CARNET_ACCESS_MATRIX",
    "CARNET_PSC_ISSUER",
    "CARNET_PSC_CLIENT_ID",
    "CARNET_PSC_CLIENT_SECRET",
    "CARNET_FRANCECONNECT_ISSUER",
    "CARNET_FRANCECONNECT_CLIENT_ID",
    "CARNET_FRANCECONNECT_CLIENT_SECRET",
    "CARNET_TEST_POSTGRES_URL",
)
MESSAGING_CHANNELS = ("outbox", "smtp")
#: ``?tls=`` of an ``smtp://`` CARNET_SMTP_URL: STARTTLS (the default), or none for a local relay.
SMTP_TLS_MODES = ("starttls", "none")

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
AUDIT_KEY_FILE = "audit_key"
#: The audit trail's witness (`portal.audit.witness`), in the data directory by default.
AUDIT_WITNESS_FILE = "audit-witness.log"
MASTER_KEY_FILE = "master_key"
OAUTH_KEY_FILE = "oauth_key.pem"
#: The smallest RSA key accepted to sign ID tokens (RS256).
MIN_OAUTH_KEY_BITS = 2048
MIN_SECRET_KEY_LENGTH = 32


class SettingsError(ValueError):
    """A setting has a value the portal cannot run with; the message names it."""


#: Where OpenID Connect providers publish their discovery document, under their issuer.
DISCOVERY_PATH = "/.well-known/openid-configuration"


@dataclass(frozen=True)
class OpenIDProviderSettings:
    """An OpenID Connect provider Carnet logs people in with, and Carnet's client there."""

    #: The issuer: the ``iss`` of its ID tokens.
    issuer: str
    #: Its discovery document: ``<issuer>/.well-known/openid-configuration`` unless the
    #: provider publishes it under another name (Pro Santé Connect does).
    discovery_url: str
    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///var/carnet.sqlite3"
    secret_key: str = field(default="", repr=False)
    #: True when the key was generated into the data directory rather than configured.
    secret_key_generated: bool = False
    env: str = "dev"
    base_url: str = "http://127.0.0.1:8000"
    #: False when CARNET_BASE_URL is not set: pages then speak of the address they were
    #: asked at (`portal.web.public_url`), which follows ``make run PORT=8080``.
    base_url_set: bool = False
    language: str = "fr"
    data_dir: Path = Path("var")
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
    cookie_secure: bool = False
    disabled_plugins: frozenset[str] = frozenset()
    #: A folder whose templates override the core's and the plugins' (deployment branding).
    templates_dir: Path | None = None
    #: How messages (one-time codes, reset links) leave: the dev outbox or an SMTP server.
    messaging: str = "outbox"
    smtp_url: str = field(default="", repr=False)
    mail_from: str = "Carnet <no-reply@carnet.invalid>"
    #: The HTTP gateway that sends text messages (empty: none; the dev outbox keeps them).
    sms_url: str = field(default="", repr=False)
    #: Addresses of the reverse proxies whose X-Forwarded-For is believed.
    trusted_proxies: frozenset[str] = frozenset()
    #: The Ed25519 seed (base64) that signs the audit checkpoints.
    audit_key: str = field(default="", repr=False)
    audit_key_generated: bool = False
    #: The append-only file that witnesses each audit chain's signed head; best on another
    #: disk than the database's (`portal.audit.witness`).
    audit_witness: Path = Path("var") / AUDIT_WITNESS_FILE
    #: The key-encryption key (base64 of 32 bytes) that wraps the dossiers' data keys
    #: (`portal.crypto`), and those it replaces while `carnet keys rotate` re-wraps.
    master_key: str = field(default="", repr=False)
    master_key_generated: bool = False
    previous_master_keys: tuple[str, ...] = field(default=(), repr=False)
    #: A deployment's own access matrix (TOML), instead of portal/access/matrix.toml.
    access_matrix: Path | None = None
    #: The RSA private key (PEM) that signs the ID tokens given to software (`portal.oauth`);
    #: without it, one is generated into the data directory when first needed (development).
    oauth_key: str = field(default="", repr=False)
    #: The national logins, when configured: Pro Santé Connect for professionals,
    #: FranceConnect for patients (`portal.federation`).
    psc: OpenIDProviderSettings | None = None
    franceconnect: OpenIDProviderSettings | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate the settings; generate the dev secret key on first use."""
        environ = os.environ if environ is None else environ
        _refuse_unknown_variables(environ)

        env = _choice(environ, "CARNET_ENV", "dev", ENVIRONMENTS)
        data_dir = Path(environ.get("CARNET_DATA_DIR", "var"))
        database_url = environ.get("CARNET_DATABASE_URL", f"sqlite:///{data_dir}/carnet.sqlite3")
        parse_database_url(database_url)  # raises SettingsError on a bad URL

        secret_key = environ.get("CARNET_SECRET_KEY", "")
        generated = not secret_key
        if generated:
            secret_key = _generated_secret_key(data_dir)
        elif len(secret_key) < MIN_SECRET_KEY_LENGTH:
            raise SettingsError(
                f"CARNET_SECRET_KEY is too short: use at least {MIN_SECRET_KEY_LENGTH} "
                "random characters (for example: python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))')."
            )

        base_url = environ.get("CARNET_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
        if urlsplit(base_url).scheme not in ("http", "https") or not urlsplit(base_url).netloc:
            raise SettingsError(
                f"CARNET_BASE_URL must be an absolute http(s) URL, got {base_url!r}."
            )

        hosts = tuple(
            host.strip().lower()
            for host in environ.get("CARNET_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
            if host.strip()
        )
        if not hosts:
            raise SettingsError("CARNET_ALLOWED_HOSTS is empty: list the host names served.")

        templates_dir = environ.get("CARNET_TEMPLATES_DIR")
        if templates_dir and not Path(templates_dir).is_dir():
            raise SettingsError(f"CARNET_TEMPLATES_DIR is not a folder: {templates_dir!r}.")

        messaging = _choice(environ, "CARNET_MESSAGING", "outbox", MESSAGING_CHANNELS)
        smtp_url = environ.get("CARNET_SMTP_URL", "")
        if messaging == "smtp" and urlsplit(smtp_url).scheme not in ("smtp", "smtps"):
            raise SettingsError(
                "CARNET_MESSAGING=smtp needs CARNET_SMTP_URL, for example "
                "smtp://user:password@mail.example.fr:587 (smtps:// for implicit TLS, "
                "smtp://localhost:25?tls=none for a local relay without TLS)."
            )
        if smtp_url:
            parse_smtp_url(smtp_url)  # raises SettingsError on a bad URL
        sms_url = environ.get("CARNET_SMS_URL", "").strip()
        if sms_url:
            parse_sms_url(sms_url)  # raises SettingsError on a bad URL
        proxies = frozenset(
            address.strip()
            for address in environ.get("CARNET_TRUSTED_PROXIES", "").split(",")
            if address.strip()
        )
        for address in proxies:
            try:
                ipaddress.ip_network(address)
            except ValueError:
                raise SettingsError(
                    f"CARNET_TRUSTED_PROXIES: {address!r} is not an IP address or network."
                ) from None

        audit_key = environ.get("CARNET_AUDIT_KEY", "")
        if audit_key and not _is_ed25519_seed(audit_key):
            raise SettingsError(
                "CARNET_AUDIT_KEY must be 32 random bytes in base64, for example: python -c "
                "'import base64, os; print(base64.b64encode(os.urandom(32)).decode())'"
            )

        master_key = environ.get("CARNET_MASTER_KEY", "").strip()
        previous_master_keys = tuple(
            text.strip()
            for text in environ.get("CARNET_PREVIOUS_MASTER_KEYS", "").split(",")
            if text.strip()
        )
        for name, texts in (
            ("CARNET_MASTER_KEY", (master_key,) if master_key else ()),
            ("CARNET_PREVIOUS_MASTER_KEYS", previous_master_keys),
        ):
            if not all(_is_ed25519_seed(text) for text in texts):
                raise SettingsError(
                    f"{name} must be 32 random bytes in base64 (comma-separated for several), "
                    "for example: python -c 'import base64, os; "
                    "print(base64.b64encode(os.urandom(32)).decode())'"
                )

        oauth_key = environ.get("CARNET_OAUTH_KEY", "").replace("\\n", "\n").strip()
        if oauth_key:
            _check_oauth_key(oauth_key)

        access_matrix = environ.get("CARNET_ACCESS_MATRIX")
        if access_matrix and not Path(access_matrix).is_file():
            raise SettingsError(f"CARNET_ACCESS_MATRIX is not a file: {access_matrix!r}.")

        settings = cls(
            database_url=database_url,
            secret_key=secret_key,
            secret_key_generated=generated,
            env=env,
            base_url=base_url,
            base_url_set="CARNET_BASE_URL" in environ,
            language=_choice(environ, "CARNET_LANGUAGE", "fr", LANGUAGES),
            data_dir=data_dir,
            allowed_hosts=hosts,
            cookie_secure=_boolean(environ, "CARNET_COOKIE_SECURE", default=env == "prod"),
            disabled_plugins=frozenset(
                name.strip()
                for name in environ.get("CARNET_DISABLED_PLUGINS", "").split(",")
                if name.strip()
            ),
            templates_dir=Path(templates_dir) if templates_dir else None,
            messaging=messaging,
            smtp_url=smtp_url,
            mail_from=environ.get("CARNET_MAIL_FROM", "Carnet <no-reply@carnet.invalid>"),
            sms_url=sms_url,
            trusted_proxies=proxies,
            audit_key=audit_key or _generated_audit_key(data_dir),
            audit_key_generated=not audit_key,
            audit_witness=Path(
                environ.get("CARNET_AUDIT_WITNESS", "") or data_dir / AUDIT_WITNESS_FILE
            ),
            master_key=master_key or _generated_master_key(data_dir),
            master_key_generated=not master_key,
            previous_master_keys=previous_master_keys,
            access_matrix=Path(access_matrix) if access_matrix else None,
            oauth_key=oauth_key,
            psc=_openid_provider(environ, "CARNET_PSC"),
            franceconnect=_openid_provider(environ, "CARNET_FRANCECONNECT"),
        )
        settings.check_production()
        return settings

    @property
    def is_dev(self) -> bool:
        return self.env == "dev"

    def check_production(self) -> None:
        """In production, refuse the conveniences that are only safe on a developer's machine."""
        if self.env != "prod":
            return
        if self.secret_key_generated:
            raise SettingsError(
                "CARNET_ENV=prod needs CARNET_SECRET_KEY: the key generated into "
                f"{self.data_dir / SECRET_KEY_FILE} is for development only."
            )
        if not self.cookie_secure:
            raise SettingsError(
                "CARNET_ENV=prod refuses CARNET_COOKIE_SECURE=false: session cookies must be "
                "Secure (served over HTTPS only)."
            )
        if "*" in self.allowed_hosts or any(host.startswith("*") for host in self.allowed_hosts):
            raise SettingsError(
                "CARNET_ENV=prod refuses a wildcard in CARNET_ALLOWED_HOSTS: list the exact "
                "host names the portal answers to."
            )
        if not self.base_url.startswith("https://"):
            raise SettingsError("CARNET_ENV=prod needs an https:// CARNET_BASE_URL.")
        if self.audit_key_generated:
            raise SettingsError(
                "CARNET_ENV=prod needs CARNET_AUDIT_KEY: the audit key generated into "
                f"{self.data_dir / AUDIT_KEY_FILE} is for development only."
            )
        if self.master_key_generated:
            raise SettingsError(
                "CARNET_ENV=prod needs CARNET_MASTER_KEY, the key that wraps the records' data "
                f"keys: the key generated into {self.data_dir / MASTER_KEY_FILE} is for "
                "development only, and must never sit beside the database."
            )
        if not self.oauth_key:
            raise SettingsError(
                "CARNET_ENV=prod needs CARNET_OAUTH_KEY, the RSA private key (PEM) that signs "
                f"the ID tokens: the key generated into {self.data_dir / OAUTH_KEY_FILE} is for "
                "development only."
            )
        if self.messaging == "outbox":
            raise SettingsError(
                "CARNET_ENV=prod refuses CARNET_MESSAGING=outbox: codes and links would never "
                "reach anyone. Set CARNET_MESSAGING=smtp and CARNET_SMTP_URL."
            )
        for prefix, provider in (
            ("CARNET_PSC", self.psc),
            ("CARNET_FRANCECONNECT", self.franceconnect),
        ):
            if provider and not provider.discovery_url.startswith("https://"):
                raise SettingsError(f"CARNET_ENV=prod needs an https:// {prefix}_ISSUER.")
        if self.sms_url and not parse_sms_url(self.sms_url).secure:
            raise SettingsError(
                "CARNET_ENV=prod refuses a CARNET_SMS_URL in plain http:// to another machine: "
                "use https:// (plain http only to a gateway on this machine)."
            )


@dataclass(frozen=True)
class DatabaseURL:
    engine: str  # "sqlite" or "postgres"
    path: str = ""  # SQLite file
    dsn: str = ""  # PostgreSQL connection string


def parse_database_url(url: str) -> DatabaseURL:
    """Understand ``sqlite:///relative/path``, ``sqlite:////absolute/path`` and ``postgresql://``."""
    scheme, _, rest = url.partition("://")
    if scheme == "sqlite":
        path = rest[1:] if rest.startswith("/") else ""
        if not path:
            raise SettingsError(
                f"CARNET_DATABASE_URL {url!r} names no file: use sqlite:///var/carnet.sqlite3."
            )
        return DatabaseURL(engine="sqlite", path=path)
    if scheme in ("postgresql", "postgres"):
        parts = urlsplit(url)
        if not parts.hostname and "host=" not in (parts.query or ""):
            raise SettingsError(f"CARNET_DATABASE_URL {url!r} names no PostgreSQL host.")
        if not parts.path.strip("/"):
            raise SettingsError(f"CARNET_DATABASE_URL {url!r} names no PostgreSQL database.")
        return DatabaseURL(engine="postgres", dsn="postgresql://" + rest)
    raise SettingsError(
        f"CARNET_DATABASE_URL must start with sqlite:/// or postgresql://, got {url!r}."
    )


@dataclass(frozen=True)
class SmtpURL:
    host: str
    port: int
    #: "tls" (``smtps://``: TLS from the first byte), "starttls" or "none" (``smtp://``).
    tls: str
    username: str = ""
    password: str = field(default="", repr=False)


def parse_smtp_url(url: str) -> SmtpURL:
    """Understand ``smtp://[user:password@]host[:587][?tls=starttls|none]`` and
    ``smtps://[user:password@]host[:465]``; user and password are percent-decoded.

    The messages never quote the URL itself: it may hold the server's password.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise SettingsError("CARNET_SMTP_URL must start with smtp:// or smtps://.")
    try:
        query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
        port = parts.port
    except ValueError:
        raise SettingsError("CARNET_SMTP_URL has a malformed port or query string.") from None
    unknown = sorted(set(query) - {"tls"})
    if unknown:
        raise SettingsError(
            f"CARNET_SMTP_URL: unknown parameter {unknown[0]!r}; the only one is tls."
        )
    if parts.scheme == "smtps":
        if "tls" in query:
            raise SettingsError(
                "CARNET_SMTP_URL: smtps:// always uses TLS and takes no tls parameter "
                "(use smtp://…?tls=none for a relay without TLS)."
            )
        tls = "tls"
    else:
        values = query.get("tls", ["starttls"])
        tls = values[-1].strip().lower()
        if len(values) > 1 or tls not in SMTP_TLS_MODES:
            raise SettingsError(
                f"CARNET_SMTP_URL: tls must be one of {', '.join(SMTP_TLS_MODES)}; "
                f"got {', '.join(values)!r}."
            )
    username, password = unquote(parts.username or ""), unquote(parts.password or "")
    if not (username + password).isascii():
        # Python's smtplib sends AUTH credentials as ASCII: refuse now, not at the first code.
        raise SettingsError(
            "CARNET_SMTP_URL: the user name and password must be ASCII characters "
            "(percent-encoded when they hold @ : / or %)."
        )
    default_port = {"tls": 465, "starttls": 587, "none": 25}[tls]
    return SmtpURL(
        host=parts.hostname or "localhost",
        port=port or default_port,
        tls=tls,
        username=username,
        password=password,
    )


def _openid_provider(environ: Mapping[str, str], prefix: str) -> OpenIDProviderSettings | None:
    """``<prefix>_ISSUER``, ``_CLIENT_ID`` and ``_CLIENT_SECRET``: all three, or none.

    The issuer may be given as the address of its discovery document, for a provider that
    does not publish it at the standard place: the issuer is then what comes before
    ``/.well-known/``, and the document must say so.
    """
    names = [f"{prefix}_{part}" for part in ("ISSUER", "CLIENT_ID", "CLIENT_SECRET")]
    values = [environ.get(name, "").strip() for name in names]
    if not any(values):
        return None
    missing = [name for name, value in zip(names, values, strict=True) if not value]
    if missing:
        raise SettingsError(
            f"{' and '.join(missing)} missing: {', '.join(names)} are set together, or not at all."
        )
    issuer, client_id, client_secret = values
    parts = urlsplit(issuer)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise SettingsError(
            f"{names[0]} must be the provider's issuer, an absolute http(s) URL without query, "
            f"got {issuer!r}."
        )
    if "/.well-known/" in parts.path:
        discovery_url = issuer
        issuer = issuer[: issuer.index("/.well-known/")]
    else:
        discovery_url = issuer.rstrip("/") + DISCOVERY_PATH
    return OpenIDProviderSettings(issuer, discovery_url, client_id, client_secret)


#: A gateway on this machine may be reached in plain http, as a local SMTP relay may.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class SmsURL:
    """The HTTP gateway of text messages: where to post, and with which Basic credentials."""

    url: str  # without the credentials
    username: str = ""
    password: str = field(default="", repr=False)

    @property
    def secure(self) -> bool:
        """Encrypted, or to a gateway on this machine."""
        parts = urlsplit(self.url)
        return parts.scheme == "https" or parts.hostname in LOOPBACK_HOSTS


def parse_sms_url(url: str) -> SmsURL:
    """Understand ``https://[user:password@]host[:port]/path``; user and password are
    percent-decoded. The messages never quote the URL itself: it may hold a password."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise SettingsError("CARNET_SMS_URL has a malformed port.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(
            "CARNET_SMS_URL must be the http(s) address of the text message gateway, for "
            "example https://user:password@sms.example.fr/send."
        )
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc += f":{port}" if port else ""
    return SmsURL(
        url=parts._replace(netloc=netloc, fragment="").geturl(),
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


def _refuse_unknown_variables(environ: Mapping[str, str]) -> None:
    for name in environ:
        if name.startswith("CARNET_") and name not in KNOWN_VARIABLES:
            close = get_close_matches(name, KNOWN_VARIABLES, n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise SettingsError(f"Unknown setting {name}.{hint}")


def _choice(environ: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = environ.get(name, default).strip().lower()
    if value not in allowed:
        raise SettingsError(f"{name} must be one of {', '.join(allowed)}; got {value!r}.")
    return value


def _boolean(environ: Mapping[str, str], name: str, default: bool) -> bool:
    value = environ.get(name)
    if value is None:
        return default
    truth = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
    try:
        return truth[value.strip().lower()]
    except KeyError:
        raise SettingsError(f"{name} must be true or false, got {value!r}.") from None


def _is_ed25519_seed(text: str) -> bool:
    """32 bytes in base64: an Ed25519 seed, or an AES-256 key."""
    try:
        return len(base64.b64decode(text.strip(), validate=True)) == 32
    except ValueError:
        return False


def _check_oauth_key(pem: str) -> None:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < MIN_OAUTH_KEY_BITS:
        raise SettingsError(
            f"CARNET_OAUTH_KEY must be an RSA private key of at least {MIN_OAUTH_KEY_BITS} bits, "
            "in PEM, without a password, for example: openssl genpkey -algorithm RSA "
            "-pkeyopt rsa_keygen_bits:3072 (newlines may be written \\n)."
        )


def generated_oauth_key(data_dir: Path) -> str:
    """The development ID-token key, created in the data directory the first time it is used
    (an RSA key takes a moment to make: nothing that never signs pays for it)."""

    def make() -> str:
        key = rsa.generate_private_key(public_exponent=65537, key_size=MIN_OAUTH_KEY_BITS)
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    return _generated_file(data_dir / OAUTH_KEY_FILE, make)


def _generated_secret_key(data_dir: Path) -> str:
    return _generated_file(data_dir / SECRET_KEY_FILE, lambda: secrets.token_urlsafe(48))


def _generated_audit_key(data_dir: Path) -> str:
    return _generated_file(
        data_dir / AUDIT_KEY_FILE, lambda: base64.b64encode(secrets.token_bytes(32)).decode()
    )


def _generated_master_key(data_dir: Path) -> str:
    return _generated_file(
        data_dir / MASTER_KEY_FILE, lambda: base64.b64encode(secrets.token_bytes(32)).decode()
    )


def _generated_file(key_file: Path, make: Callable[[], str]) -> str:
    """A development key: created once in the data directory, readable by its owner only."""
    data_dir = key_file.parent
    if not key_file.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker process won the race
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(make())
    return key_file.read_text().strip()
