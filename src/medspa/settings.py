"""Django settings: one file, configured from the environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = Path(os.environ.get("MEDSPA_HOME", Path.cwd()))
VAR_DIR = Path(os.environ.get("MEDSPA_VAR", PROJECT_DIR / "var"))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.lower() in {"1", "true", "yes", "on"}


DEBUG = _env_bool("MEDSPA_DEBUG", False)
# The demo and tests run with a fixed development key; production must set its own.
SECRET_KEY = os.environ.get("MEDSPA_SECRET_KEY", "medspa-insecure-development-key-change-me")
ALLOWED_HOSTS = os.environ.get(
    "MEDSPA_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver"
).split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_tasks",
    "django_tasks_db",
    "medspa.core",
    "medspa.catalog",
    "medspa.ledger",
    "medspa.clients",
    "medspa.scheduling",
    "medspa.clinical",
    "medspa.billing",
    "medspa.frontdesk",
    "medspa.portal",
    "medspa.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "medspa.core.security.SessionSecurityMiddleware",
    "medspa.core.middleware.AuditContextMiddleware",
]

ROOT_URLCONF = "medspa.urls"
WSGI_APPLICATION = "medspa.wsgi.application"
AUTH_USER_MODEL = "core.User"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# Staff sign in with e-mail and password (plus a second factor where the organization
# requires it); accounts are made by a manager, never by sign-up.
ACCOUNT_ADAPTER = "medspa.frontdesk.auth.StaffAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = False
# Five failed sign-ins lock the account for 15 minutes.
ACCOUNT_RATE_LIMITS = {"login_failed": "5/15m/key,20/15m/ip"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "medspa"
MFA_ADAPTER = "medspa.frontdesk.auth.StaffMFAAdapter"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "medspa.core.context_processors.permissions",
            ],
        },
    },
]


def database_config(url: str | None) -> dict[str, Any]:
    """Turn DATABASE_URL (or the default SQLite file) into Django's database settings."""
    if not url:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{VAR_DIR / 'medspa.sqlite3'}"
    config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=0))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # IMMEDIATE takes the write lock when a transaction starts, so the overlap check
        # and the insert of a booking can never interleave with another writer's.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 5,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                "PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;"
            ),
        }
        # Tests use a real file (not shared-cache memory) so concurrency tests see real locks.
        name = Path(config["NAME"])
        config["TEST"] = {"NAME": str(name.with_name(f"test_{name.stem}.sqlite3"))}
    else:
        config["CONN_MAX_AGE"] = int(os.environ.get("MEDSPA_CONN_MAX_AGE", "60"))
        # Health checks cost a round trip (SELECT 1) on every request; off by default.
        config["CONN_HEALTH_CHECKS"] = os.environ.get("MEDSPA_CONN_HEALTH_CHECKS") == "1"
    return config


DATABASES = {"default": database_config(os.environ.get("DATABASE_URL"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Shared by every worker process on the machine (sign-in lockouts must count across
# workers); MEDSPA_CACHE_URL-style Redis is the scale-out path.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache"),
    }
}

TASKS = {
    "default": {
        "BACKEND": os.environ.get("MEDSPA_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS: list[Path] = []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if DEBUG:
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Booking rules a location may later override.
MEDSPA_BOOKING_GRANULARITY_MINUTES = 15
MEDSPA_BOOKING_LEAD_MINUTES = 60
MEDSPA_BOOKING_HORIZON_DAYS = 180
MEDSPA_IDEMPOTENCY_TTL_HOURS = 24
# Payment plans (billing/plans.py): a declined instalment is tried again after these many
# days (so at most len + 1 attempts) before the plan fails and a person follows it up; a
# charge whose worker vanished is taken up again after the lease, under the same key.
MEDSPA_PLAN_RETRY_DAYS = [1, 3]
MEDSPA_PLAN_CLAIM_LEASE_MINUTES = 10
MEDSPA_PLAN_UNREACHABLE_RETRY_MINUTES = 15
# Card payments through Stripe when a secret key is set; without one the card tender is
# the clinic's own terminal. The API base points at a local fake in tests.
MEDSPA_STRIPE_SECRET_KEY = os.environ.get("MEDSPA_STRIPE_SECRET_KEY", "")
MEDSPA_STRIPE_API_BASE = os.environ.get("MEDSPA_STRIPE_API_BASE", "")
MEDSPA_STRIPE_WEBHOOK_SECRET = os.environ.get("MEDSPA_STRIPE_WEBHOOK_SECRET", "")
# Stripe.js in the browser (the card form on the client record); safe to show.
MEDSPA_STRIPE_PUBLISHABLE_KEY = os.environ.get("MEDSPA_STRIPE_PUBLISHABLE_KEY", "")

# Clinical data is encrypted at rest (docs/decisions/0004-encryption-at-rest.md): Fernet
# keys, url-safe base64, newest first, comma-separated in MEDSPA_ENCRYPTION_KEYS; never in
# the database. Without them (demo, tests) one development key is derived from SECRET_KEY;
# production (MEDSPA_SECRET_KEY set) must set its own keys and refuses to start without.
MEDSPA_ENCRYPTION_KEYS = [
    key.strip() for key in os.environ.get("MEDSPA_ENCRYPTION_KEYS", "").split(",") if key.strip()
]
if "MEDSPA_SECRET_KEY" in os.environ and not MEDSPA_ENCRYPTION_KEYS:
    raise ImproperlyConfigured(
        "MEDSPA_ENCRYPTION_KEYS is required when MEDSPA_SECRET_KEY is set: comma-separated "
        "Fernet keys, newest first (python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())')."
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("MEDSPA_LOG_LEVEL", "WARNING")},
}

# Links in messages to clients (intake and consent forms) start with this address.
MEDSPA_BASE_URL = os.environ.get("MEDSPA_BASE_URL", "http://127.0.0.1:8000")
# E-mail: SMTP when MEDSPA_EMAIL_HOST is set; otherwise each message is written as a file
# under var/mail, so the demo's sent intake links and aftercare can be read.
# A mail server that hangs must not hang the request that sends (seconds).
EMAIL_TIMEOUT = int(os.environ.get("MEDSPA_EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get(
    "MEDSPA_FROM_EMAIL", "Lumen Aesthetics <hello@demo.medspa.example>"
)
if os.environ.get("MEDSPA_EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["MEDSPA_EMAIL_HOST"]
    EMAIL_PORT = int(os.environ.get("MEDSPA_EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("MEDSPA_EMAIL_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("MEDSPA_EMAIL_PASSWORD", "")
    EMAIL_USE_TLS = _env_bool("MEDSPA_EMAIL_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
