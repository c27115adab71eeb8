"""Settings for 4pass, driven by environment variables with safe development defaults.

Production sets DEBUG=False, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, REDIS_URL, CREDENTIALS_KEYS.
"""

from pathlib import Path
from urllib.parse import unquote

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
DEV_SECRET_KEY = "dev-only-insecure-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz"
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise environ.ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")

# The retail application host; B2B organisations get <slug>.<APP_DOMAIN>.
APP_DOMAIN = env.str("APP_DOMAIN", default="localhost")
# Host that serves the public schema (platform pages, staff admin); webhooks work on every host.
PUBLIC_HOST = env.str("PUBLIC_HOST", default=f"platform.{APP_DOMAIN}")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[APP_DOMAIN, f".{APP_DOMAIN}", "127.0.0.1", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

SHARED_APPS = [
    "django_tenants",
    "daphne",
    "fourpass",
    "accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "rest_framework",
    "drf_spectacular",
    "django_htmx",
    "channels",
    "backtests.marketdata",
    "bridges",
    "webhooks.routing",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "strategies",
    "backtests",
    "execution",
    "execution.native",
    "webhooks",
    "brokers",
    "execution.trading",
]
INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "accounts.Organization"
TENANT_DOMAIN_MODEL = "accounts.Domain"
PUBLIC_SCHEMA_NAME = "public"
RETAIL_SCHEMA_NAME = "retail"
PUBLIC_SCHEMA_URLCONF = "fourpass.urls_public"
ROOT_URLCONF = "fourpass.urls"
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
# Set the search path once per connection and tenant switch, not before every query (measured: paper
# orders through the database 82 -> 149 orders/s single, 1,535 -> 4,788 orders/s batched).
TENANT_LIMIT_SET_CALLS = True

MIDDLEWARE = [
    "fourpass.tenancy.TenantHostMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.TenantMembershipMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

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
                "fourpass.context_processors.tenant",
            ],
        },
    },
]

WSGI_APPLICATION = "fourpass.wsgi.application"
ASGI_APPLICATION = "fourpass.asgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/fourpass")}
# A Unix-socket directory is given percent-encoded in the URL's host part (postgres://user@%2Fpath/db).
DATABASES["default"]["HOST"] = unquote(DATABASES["default"].get("HOST") or "")
# One backend combining django-tenants (schema per tenant) and django-timescaledb (hypertables).
DATABASES["default"]["ENGINE"] = "fourpass.db.backends.postgresql"
# Named after the checkout, so that several checkouts (git worktrees) can run their tests side by side.
CHECKOUT_NAME = "".join(c if c.isalnum() else "_" for c in BASE_DIR.name.lower())
DATABASES["default"].setdefault("TEST", {})["NAME"] = env.str(
    "TEST_DATABASE_NAME", default=f"test_fourpass_{CHECKOUT_NAME}"
)
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The hot paths' statements (fourpass.sql.prepared_cursor, execute(..., prepare=True)) are parsed and planned once
# per connection. Django turns psycopg's preparation off unless this is set, which silently made prepare=True a
# no-op. The ORM's own cursors bind client-side and are never prepared. Set DB_PREPARE_THRESHOLD to an empty
# value behind a transaction-pooling PgBouncer, which cannot keep prepared statements.
_prepare_threshold = env.str("DB_PREPARE_THRESHOLD", default="5")
DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
    int(_prepare_threshold) if _prepare_threshold else None
)

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_PREFIX", default="fourpass"),
    }
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # socket_timeout=None: redis-py 8 defaults it to 5 s, which aborts channels_redis's 5 s blocking receive
        # and drops every idle websocket every 5 s, losing pushes sent meanwhile (django/channels_redis#422).
        "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": None}], "prefix": env.str("CHANNELS_PREFIX", default=f"fourpass-{CHECKOUT_NAME}:asgi")},
    }
}

# "redis" in every running process; tests that say so may swap in dramatiq's StubBroker.
DRAMATIQ_BROKER = env.str("DRAMATIQ_BROKER", default="redis")
DRAMATIQ_NAMESPACE = env.str("DRAMATIQ_NAMESPACE", default=f"fourpass-{CHECKOUT_NAME}")

# Webhook intake: threads per web process that store alerts (each keeps a database connection and stores together
# what arrived while it was busy). Two measured best on 2 cores: 1,180 alerts/s against 894 with one; more only
# fight the event loop for the GIL. 0 stores on Django's sync thread (in-process tests).
WEBHOOK_INTAKE_THREADS = env.int("WEBHOOK_INTAKE_THREADS", default=2)
# Proxies (e.g. the TLS terminator) whose X-Forwarded-For is believed for the IP allow-list.
WEBHOOK_TRUSTED_PROXIES = tuple(env.list("WEBHOOK_TRUSTED_PROXIES", default=[]))

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.EmailTenantBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = env.list(
    "PASSWORD_HASHERS",
    default=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    ],
)

# Fernet keys for broker credentials at rest; the first one encrypts, all decrypt (rotation).
CREDENTIALS_KEYS = env.list(
    "CREDENTIALS_KEYS",
    default=["ZGV2LW9ubHktY3JlZGVudGlhbHMta2V5LTAxMjM0NTY=" if DEBUG else ""],
)

# Web Push (VAPID). The defaults are a development key pair only; production sets its own.
VAPID_PRIVATE_KEY = env.str("VAPID_PRIVATE_KEY", default="djaCXZr74PzBBpvAXPq-euxNJD_pXrbNPnEhqUGbEQ0" if DEBUG else "")
VAPID_PUBLIC_KEY = env.str(
    "VAPID_PUBLIC_KEY",
    default="BG4ZIxkADPwNJ0cTmLgw_gGR502wZgv6It7vALWU7-CH91gd4UvxO8P_4P8ZZ8Tl_UpkqoseugrytjeqwxwT5WQ" if DEBUG else "",
)
VAPID_SUBJECT = env.str("VAPID_SUBJECT", default="mailto:ops@4pass.local")
PUSH_TTL_SECONDS = env.int("PUSH_TTL_SECONDS", default=3600)
# Real push services are https; plain http is only for local test push services.
PUSH_ALLOW_INSECURE_ENDPOINTS = env.bool("PUSH_ALLOW_INSECURE_ENDPOINTS", default=DEBUG)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsTenantMember"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {"TITLE": "4pass API", "VERSION": "1.0.0"}

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Security: strict in production, relaxed only for local development over http.
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

DEMO_USER_EMAIL = env.str("DEMO_USER_EMAIL", default="demo@4pass.local")
DEMO_USER_PASSWORD = env.str("DEMO_USER_PASSWORD", default="demo-pass-2026")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
