"""Settings of the hub. Everything deployment-specific comes from the environment:

HUB_DATABASE_URL        postgresql://user:password@host:5432/name (default: SQLite hub/hub.sqlite3)
HUB_SECRET_KEY          Django's SECRET_KEY         } required with DEBUG off, from the environment
HUB_SECRET_WRAP_KEY     seals the machines' secrets } or the secrets file (hubsite.keys)
HUB_SECRET_KEY_FALLBACKS, HUB_SECRET_WRAP_KEY_FALLBACKS   older keys during a rotation (comma-sep.)
HUB_SECRETS_FILE        the secrets file (default hub/secrets.toml; `manage.py init_secrets`)
HUB_DEBUG               1/true/yes turns DEBUG on (off by default); built-in keys only then
HUB_STATIC_ROOT         where collectstatic puts the admin's files (default hub/static)
HUB_TRUSTED_PROXIES     reverse proxies in front that append to X-Forwarded-For (default 0)
HUB_PROVISION_MAX_FAILURES / _WINDOW_SECONDS / _LOCKOUT_SECONDS   wrong enrollment codes (5/900/900)
HUB_ADMIN_MAX_FAILURES / HUB_ADMIN_LOCKOUT_MINUTES                admin login failures (5 / 15)
HUB_ALLOWED_HOSTS       comma-separated host names, added to localhost and 127.0.0.1
HUB_CHANGELOG_RETAIN    days of change log kept by `manage.py trim_changelog` (default 90)
HUB_TEST_DATABASE_NAME  the test database the test runner creates (default test_<name>)
HUB_TLS                 1 behind TLS: secure cookies, HSTS, redirect to https
HUB_SESSION_IDLE_MINUTES / HUB_SESSION_MAX_HOURS  care and admin sessions end after this idle
                        time / this total length (30 / 8); docs/CARE.md
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from hubsite import keys

BASE_DIR = Path(__file__).resolve().parent.parent  # hub/


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def database_from_url(url: str) -> dict[str, Any]:
    """A Django DATABASES entry from a URL, parsed here to need no extra package.

    ``postgresql://user:pass@host:port/name?sslmode=require`` (or ``postgres://``);
    ``sqlite:///relative/or/absolute/path``; empty: SQLite in hub/hub.sqlite3.
    """
    if not url:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "hub.sqlite3"}
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        name = unquote(parts.path)
        if name.startswith("//") or name.startswith("/"):  # sqlite:////abs/path
            name = name[1:]
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": name or BASE_DIR / "hub.sqlite3"}
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ValueError(f"HUB_DATABASE_URL: unsupported scheme {parts.scheme!r}")
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ValueError("HUB_DATABASE_URL: no database name")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "OPTIONS": dict(parse_qsl(parts.query)),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }


DEBUG = _flag("HUB_DEBUG")
# Refuses to go on (MissingKeys) with DEBUG off and a key missing: see hubsite/keys.py.
_KEYS = keys.load(debug=DEBUG)
SECRET_KEY = _KEYS.secret_key
# Sessions and CSRF tokens signed with an older key stay valid while it is listed here.
SECRET_KEY_FALLBACKS = _KEYS.secret_key_fallbacks
HUB_SECRET_WRAP_KEY = _KEYS.wrap_key
# Older wrap keys still unseal until `manage.py rotate_wrap_key` has re-sealed every machine.
HUB_SECRET_WRAP_KEY_FALLBACKS = _KEYS.wrap_key_fallbacks
del _KEYS
ALLOWED_HOSTS = [
    "localhost",
    "127.0.0.1",
    *(h.strip() for h in os.environ.get("HUB_ALLOWED_HOSTS", "").split(",") if h.strip()),
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "fleet",
    "care",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The admin's CSS/JS straight from gunicorn (no separate static server needed).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Ends a signed-in session after the idle time or the shift's length (care/middleware.py).
    "care.middleware.SessionLimits",
    # Last, as django-axes asks: it turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

# django-axes first: it refuses a locked-out client before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "hubsite.urls"
WSGI_APPLICATION = "hubsite.wsgi.application"
APPEND_SLASH = False  # the API paths are signed exactly as sent: never redirect them

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "care.nav.context",
            ],
        },
    },
]

DATABASES = {"default": database_from_url(os.environ.get("HUB_DATABASE_URL", ""))}
if os.environ.get("HUB_TEST_DATABASE_NAME"):  # tests: one database per run (tests/hub_django.py)
    DATABASES["default"]["TEST"] = {"NAME": os.environ["HUB_TEST_DATABASE_NAME"]}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("HUB_STATIC_ROOT") or BASE_DIR / "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, pre-compressed names from `manage.py collectstatic`, cached forever by browsers.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# A push of HUB_PUSH_MAX_EVENTS events stays well below this.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# ---------------------------------------------------------------- rate limits (docs/HUB.md)

# How many reverse proxies in front of the hub append the client's address to
# X-Forwarded-For. 0: the header is ignored (a client could forge it) and REMOTE_ADDR counts.
HUB_TRUSTED_PROXIES = int(os.environ.get("HUB_TRUSTED_PROXIES", "0"))

# POST /v1/provision: this many wrong codes from one client address within the window lock
# that address out (429) for the lock-out period. Counted in the database (fleet.throttle).
HUB_PROVISION_MAX_FAILURES = int(os.environ.get("HUB_PROVISION_MAX_FAILURES", "5"))
HUB_PROVISION_WINDOW_SECONDS = int(os.environ.get("HUB_PROVISION_WINDOW_SECONDS", "900"))
HUB_PROVISION_LOCKOUT_SECONDS = int(os.environ.get("HUB_PROVISION_LOCKOUT_SECONDS", "900"))

# The admin login (django-axes, attempts in the database): locked per client address.
AXES_FAILURE_LIMIT = int(os.environ.get("HUB_ADMIN_MAX_FAILURES", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("HUB_ADMIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "fleet.clientip.client_ip"  # the same proxy rule as provisioning
# Axes masks the username typed and the address in its log lines (its default
# AXES_SENSITIVE_PARAMETERS); both are in its AccessAttempt/AccessFailureLog rows (the admin).
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# The lock-out page (429) in the care app's style, for its sign-in and the admin's alike.
AXES_LOCKOUT_CALLABLE = "care.views.locked_out"

# ---------------------------------------------------------------- the care app (docs/CARE.md)

LOGIN_URL = "care:sign-in"
LOGIN_REDIRECT_URL = "care:home"
# A session ends after CARE_SESSION_IDLE_SECONDS without a request, and in any case
# CARE_SESSION_MAX_SECONDS after signing in (a shift): care.middleware.SessionLimits. The idle
# limit is also the session's own age, renewed on every request, so an abandoned session dies
# in the database too.
CARE_SESSION_IDLE_SECONDS = 60 * int(os.environ.get("HUB_SESSION_IDLE_MINUTES", "30"))
CARE_SESSION_MAX_SECONDS = 3600 * int(os.environ.get("HUB_SESSION_MAX_HOURS", "8"))
SESSION_COOKIE_AGE = CARE_SESSION_IDLE_SECONDS
SESSION_SAVE_EVERY_REQUEST = True

if _flag("HUB_TLS"):
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31536000

# django.request carries the traceback of every 500: without it an unhandled exception in a view
# reached no log at all. Its 4xx lines (WARNING) stay out, as do runserver's access lines
# (django.server): anyone can cause those, and they would bury the errors.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "fleet": {"handlers": ["console"], "level": "INFO"},
        "django.request": {"handlers": ["console"], "level": "ERROR"},
        "django.server": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}

# ---------------------------------------------------------------- sync (docs/SYNC.md)

HUB_CLOCK_SKEW_SECONDS = 300  # X-Timestamp farther than this from the hub's clock: 401
HUB_NONCE_RETAIN_SECONDS = 15 * 60  # at least 10 minutes (> twice the allowed skew)
HUB_CHANGELOG_RETAIN = int(os.environ.get("HUB_CHANGELOG_RETAIN", "90"))  # days
HUB_PULL_PAGE = 500  # changes per pull page
HUB_PUSH_MAX_EVENTS = 1000  # events per push
HUB_ENROLLMENT_CODE_HOURS = 72  # a one-time code expires after this

# ---------------------------------------------------------------- on call (docs/ON-CALL.md)

# Links in messages start with this (the hub's address as the people on call reach it).
HUB_PUBLIC_URL = os.environ.get("HUB_PUBLIC_URL", "http://127.0.0.1:8800")
HUB_ONCALL_ACK_HOURS = int(os.environ.get("HUB_ONCALL_ACK_HOURS", "24"))  # a link works this long
HUB_ONCALL_RETRY_FIRST_MINUTES = 1  # a failed delivery is retried after 1, 2, 4, 8 ... minutes
HUB_ONCALL_RETRY_MAX_MINUTES = 8
HUB_ONCALL_MAX_ATTEMPTS = int(os.environ.get("HUB_ONCALL_MAX_ATTEMPTS", "5"))
HUB_ONCALL_WEBHOOK_TIMEOUT = 10  # seconds
# E-mail (Django's SMTP backend): HUB_EMAIL_HOST etc. Without a host, mail is written to the log
# (console backend) so a development hub never mails anyone.
EMAIL_HOST = os.environ.get("HUB_EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("HUB_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("HUB_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("HUB_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = _flag("HUB_EMAIL_STARTTLS")
EMAIL_USE_SSL = _flag("HUB_EMAIL_SSL")
EMAIL_TIMEOUT = 15
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("HUB_EMAIL_FROM", "hub@localhost")

# The signed update repository (issue 16, docs/UPDATES.md): metadata/ and targets/ as
# tools/release.py writes them, served to enrolled machines by fleet.updates_serving.
UPDATES_REPOSITORY = Path(os.environ.get("HUB_UPDATES_REPOSITORY") or BASE_DIR / "var" / "updates")
