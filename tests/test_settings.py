"""Settings come from the environment and refuse, by name, what the portal cannot run with."""

import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from portal.settings import Settings, SettingsError, parse_database_url

STRONG_KEY = "k" * 48


def settings_from(tmp_path, **environ):
    return Settings.from_env({"CARNET_DATA_DIR": str(tmp_path), **environ})


def test_defaults_follow_the_conventions(tmp_path):
    settings = Settings.from_env({"CARNET_DATA_DIR": str(tmp_path / "var")})
    assert settings.env == "dev"
    assert settings.language == "fr"
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.database_url == f"sqlite:///{tmp_path}/var/carnet.sqlite3"
    assert settings.cookie_secure is False


def test_default_database_is_var_carnet_sqlite3(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert Settings.from_env({}).database_url == "sqlite:///var/carnet.sqlite3"


def test_dev_secret_is_generated_once_and_private(tmp_path):
    first = settings_from(tmp_path)
    second = settings_from(tmp_path)
    assert first.secret_key_generated
    assert len(first.secret_key) >= 32
    assert first.secret_key == second.secret_key
    mode = (tmp_path / "secret_key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_a_configured_secret_is_used(tmp_path):
    settings = settings_from(tmp_path, CARNET_SECRET_KEY=STRONG_KEY)
    assert settings.secret_key == STRONG_KEY
    assert not settings.secret_key_generated
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"CARNET_ENV": "staging"}, "CARNET_ENV"),
        ({"CARNET_LANGUAGE": "de"}, "CARNET_LANGUAGE"),
        ({"CARNET_COOKIE_SECURE": "maybe"}, "CARNET_COOKIE_SECURE"),
        ({"CARNET_SECRET_KEY": "short"}, "CARNET_SECRET_KEY"),
        ({"CARNET_BASE_URL": "carnet.example"}, "CARNET_BASE_URL"),
        ({"CARNET_ALLOWED_HOSTS": " , "}, "CARNET_ALLOWED_HOSTS"),
        ({"CARNET_DATABASE_URL": "mysql://db/carnet"}, "CARNET_DATABASE_URL"),
        ({"CARNET_DATABASE_URL": "sqlite://"}, "CARNET_DATABASE_URL"),
        ({"CARNET_DATABASE_URL": "postgresql://localhost"}, "CARNET_DATABASE_URL"),
        ({"CARNET_TEMPLATES_DIR": "/no/such/folder"}, "CARNET_TEMPLATES_DIR"),
        ({"CARNET_MESSAGING": "pigeon"}, "CARNET_MESSAGING"),
        ({"CARNET_AUDIT_KEY": "c2hvcnQ="}, "CARNET_AUDIT_KEY"),
        ({"CARNET_AUDIT_KEY": "not base64!"}, "CARNET_AUDIT_KEY"),
        ({"CARNET_MESSAGING": "smtp"}, "CARNET_SMTP_URL"),
        (
            {"CARNET_MESSAGING": "smtp", "CARNET_SMTP_URL": "smtp://localhost:25?tls=off"},
            "CARNET_SMTP_URL",
        ),
        ({"CARNET_SMTP_URL": "smtps://mail.example.fr?tls=none"}, "CARNET_SMTP_URL"),
        ({"CARNET_TRUSTED_PROXIES": "10.0.0.1, proxy.local"}, "CARNET_TRUSTED_PROXIES"),
    ],
)
def test_bad_values_are_refused_by_name(tmp_path, environ, named):
    with pytest.raises(SettingsError, match=named):
        settings_from(tmp_path, **environ)


def test_a_misspelt_variable_is_refused_with_a_suggestion(tmp_path):
    with pytest.raises(
        SettingsError, match=r"CARNET_DATABSE_URL\. Did you mean CARNET_DATABASE_URL"
    ):
        settings_from(tmp_path, CARNET_DATABSE_URL="sqlite:///x.sqlite3")


def test_values_are_normalised(tmp_path):
    settings = settings_from(
        tmp_path,
        CARNET_ENV=" TEST ",
        CARNET_LANGUAGE="EN",
        CARNET_ALLOWED_HOSTS="Carnet.example.fr, www.carnet.example.fr",
        CARNET_BASE_URL="https://carnet.example.fr/",
        CARNET_DISABLED_PLUGINS="vaccination, organ_donation",
    )
    assert settings.env == "test"
    assert settings.language == "en"
    assert settings.allowed_hosts == ("carnet.example.fr", "www.carnet.example.fr")
    assert settings.base_url == "https://carnet.example.fr"
    assert settings.disabled_plugins == {"vaccination", "organ_donation"}


#: An RSA key as a deployment gives it, newlines written \\n as an environment file holds them.
OAUTH_KEY = (
    rsa.generate_private_key(public_exponent=65537, key_size=2048)
    .private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    .decode()
    .replace("\n", "\\n")
)
PRODUCTION = {
    "CARNET_ENV": "prod",
    "CARNET_OAUTH_KEY": OAUTH_KEY,
    "CARNET_AUDIT_KEY": "A" * 43 + "=",
    "CARNET_MASTER_KEY": "B" * 43 + "=",
    "CARNET_MESSAGING": "smtp",
    "CARNET_SMTP_URL": "smtp://carnet:secret@mail.example.fr:587",
    "CARNET_SECRET_KEY": STRONG_KEY,
    "CARNET_ALLOWED_HOSTS": "carnet.example.fr",
    "CARNET_BASE_URL": "https://carnet.example.fr",
}


def test_production_starts_with_safe_settings(tmp_path):
    settings = settings_from(tmp_path, **PRODUCTION)
    assert settings.env == "prod"
    assert settings.cookie_secure is True


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"CARNET_SECRET_KEY": None}, "CARNET_SECRET_KEY"),
        ({"CARNET_COOKIE_SECURE": "false"}, "CARNET_COOKIE_SECURE"),
        ({"CARNET_ALLOWED_HOSTS": "*"}, "CARNET_ALLOWED_HOSTS"),
        ({"CARNET_ALLOWED_HOSTS": "*.example.fr"}, "CARNET_ALLOWED_HOSTS"),
        ({"CARNET_BASE_URL": "http://carnet.example.fr"}, "CARNET_BASE_URL"),
        ({"CARNET_MESSAGING": "outbox"}, "CARNET_MESSAGING"),
        ({"CARNET_AUDIT_KEY": None}, "CARNET_AUDIT_KEY"),
        ({"CARNET_OAUTH_KEY": None}, "CARNET_OAUTH_KEY"),
        ({"CARNET_MASTER_KEY": None}, "CARNET_MASTER_KEY"),
        (
            {
                "CARNET_PSC_ISSUER": "http://auth.esw.esante.gouv.fr/auth/realms/esante-wallet",
                "CARNET_PSC_CLIENT_ID": "carnet",
                "CARNET_PSC_CLIENT_SECRET": "secret",
            },
            "CARNET_PSC_ISSUER",
        ),
    ],
)
def test_production_refuses_unsafe_settings_by_name(tmp_path, change, named):
    environ = {**PRODUCTION, **change}
    environ = {name: value for name, value in environ.items() if value is not None}
    with pytest.raises(SettingsError, match=named):
        settings_from(tmp_path, **environ)


@pytest.mark.parametrize(
    "key",
    [
        "not a key",
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode(),
        rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (refused)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode(),
    ],
    ids=["text", "elliptic-curve", "rsa-1024"],
)
def test_oauth_key_must_be_an_rsa_key_of_2048_bits_at_least(tmp_path, key):
    with pytest.raises(SettingsError, match="CARNET_OAUTH_KEY"):
        settings_from(tmp_path, CARNET_OAUTH_KEY=key)


@pytest.mark.parametrize(
    ("url", "engine", "target"),
    [
        ("sqlite:///var/carnet.sqlite3", "sqlite", "var/carnet.sqlite3"),
        ("sqlite:////srv/carnet/db.sqlite3", "sqlite", "/srv/carnet/db.sqlite3"),
        ("postgresql://carnet@db:5432/carnet", "postgres", "postgresql://carnet@db:5432/carnet"),
        ("postgres://carnet@db/carnet", "postgres", "postgresql://carnet@db/carnet"),
    ],
)
def test_database_urls(url, engine, target):
    parsed = parse_database_url(url)
    assert parsed.engine == engine
    assert (parsed.path or parsed.dsn) == target


PSC_WALLET = "https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet"


def test_a_national_login_is_offered_only_when_configured(tmp_path):
    assert settings_from(tmp_path).psc is None
    settings = settings_from(
        tmp_path,
        CARNET_FRANCECONNECT_ISSUER="https://auth.franceconnect.gouv.fr/api/v2",
        CARNET_FRANCECONNECT_CLIENT_ID="carnet",
        CARNET_FRANCECONNECT_CLIENT_SECRET="s3cret",
    )
    assert settings.psc is None
    provider = settings.franceconnect
    assert provider.issuer == "https://auth.franceconnect.gouv.fr/api/v2"
    assert provider.discovery_url == (
        "https://auth.franceconnect.gouv.fr/api/v2/.well-known/openid-configuration"
    )
    assert (provider.client_id, provider.client_secret) == ("carnet", "s3cret")
    assert "s3cret" not in repr(settings)


def test_a_discovery_document_under_another_name(tmp_path):
    """Pro Santé Connect publishes its own at .well-known/wallet-openid-configuration."""
    settings = settings_from(
        tmp_path,
        CARNET_PSC_ISSUER=f"{PSC_WALLET}/.well-known/wallet-openid-configuration",
        CARNET_PSC_CLIENT_ID="carnet",
        CARNET_PSC_CLIENT_SECRET="secret",
    )
    assert settings.psc.issuer == PSC_WALLET
    assert settings.psc.discovery_url.endswith("/.well-known/wallet-openid-configuration")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"CARNET_PSC_ISSUER": PSC_WALLET, "CARNET_PSC_CLIENT_ID": "carnet"},
            "CARNET_PSC_CLIENT_SECRET missing",
        ),
        ({"CARNET_FRANCECONNECT_CLIENT_SECRET": "s"}, "CARNET_FRANCECONNECT_ISSUER and"),
        (
            {
                "CARNET_PSC_ISSUER": "auth.esw.esante.gouv.fr",
                "CARNET_PSC_CLIENT_ID": "carnet",
                "CARNET_PSC_CLIENT_SECRET": "secret",
            },
            "CARNET_PSC_ISSUER must be",
        ),
    ],
)
def test_a_national_login_half_configured_is_refused(tmp_path, environ, message):
    with pytest.raises(SettingsError, match=message):
        settings_from(tmp_path, **environ)
