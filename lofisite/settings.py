"""lofisite settings, read from the environment (and an optional `.env`).

Why one ~450-line file: every setting and its environment variable in one place, in the
order of the README's table, is what an operator searches.

Embedded defaults need no services: SQLite in var/, a file cache shared by
all processes, and django-tasks-db as the task queue. `DATABASE_URL` and
`REDIS_URL` switch to PostgreSQL and Redis. With DEBUG off the app refuses to
start without a real SECRET_KEY and ALLOWED_HOSTS. Every variable is listed
in README.md.
"""

import ipaddress
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# ENV_FILE picks another file (ENV_FILE=/dev/null reads none, as CI and tests do).
environ.Env.read_env(env.str("ENV_FILE", default=str(BASE_DIR / ".env")), overwrite=False)

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=False)
TESTING = env.bool("LOFISITE_TESTING", default=False)

_INSECURE_KEY_PREFIX = "django-insecure-"
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY and (DEBUG or TESTING):
    SECRET_KEY = _INSECURE_KEY_PREFIX + "dev-only-key-never-use-in-production-0123456789abcdef"
if not SECRET_KEY or (not DEBUG and not TESTING and SECRET_KEY.startswith(_INSECURE_KEY_PREFIX)):
    raise ImproperlyConfigured(
        "SECRET_KEY is missing or insecure. Set SECRET_KEY in the environment or .env "
        "(`make run` writes a random one to .env), or set DEBUG=True for local development."
    )
if not DEBUG and not TESTING and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters long.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG or TESTING else [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is empty. Set ALLOWED_HOSTS=example.com,www.example.com.")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# HTTPS=false only for plain-HTTP local runs (the .env `make run` writes).
HTTPS = env.bool("HTTPS", default=not DEBUG and not TESTING)

INSTALLED_APPS = [
    "lofisite.admin_site.LofisiteAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_tasks_db",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "health_check",
    "django_prometheus",
    "lofisite",
    "accounts",
    "legal",
    "monitoring",
    "pipeline",
    "vinted",
]

MIDDLEWARE = [
    # First and last (django-prometheus): request counts and latencies, whatever the middlewares between do.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "lofisite.middleware.RequestIDMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Before anything reads a body: its process_view (size, upload permission) runs before CSRF's.
    "lofisite.middleware.RequestBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "lofisite.slash.CommonMiddleware",  # no 301 that drops an API request's body
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "lofisite.middleware.PrivateCacheMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.AdminTwoFactorMiddleware",
    "legal.middleware.LegalAcceptanceMiddleware",
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "lofisite.urls"
WSGI_APPLICATION = "lofisite.wsgi.application"
ASGI_APPLICATION = "lofisite.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "lofisite.context_processors.navigation",
            ],
        },
    },
]

# --- database -------------------------------------------------------------
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env.str("SQLITE_PATH", default=str(VAR_DIR / "lofisite.sqlite3")),
            "OPTIONS": {
                # Several processes (web, worker, scheduler) share this file:
                # WAL lets readers run beside one writer, IMMEDIATE takes the
                # write lock up front so transactions don't deadlock on upgrade.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
# django-prometheus' engines are Django's own, plus query counts, durations and errors (metrics).
_PROMETHEUS_ENGINES = {"django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
                       "django.db.backends.postgresql": "django_prometheus.db.backends.postgresql"}
DATABASES["default"]["ENGINE"] = _PROMETHEUS_ENGINES.get(DATABASES["default"]["ENGINE"],
                                                         DATABASES["default"]["ENGINE"])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache ------------------------------------------------------------------
if env.str("REDIS_URL", default=""):
    # A Redis outage must not stop the product: lofisite.cache.FailSoftRedisCache answers misses and drops
    # writes while Redis is down (logged once, counted, health "degraded"), tries again every
    # CACHE_OUTAGE_RETRY_SECONDS, and short socket timeouts keep a dead host from stalling requests.
    CACHES = {
        "default": {
            "BACKEND": "lofisite.cache.FailSoftRedisCache",
            "LOCATION": env.str("REDIS_URL"),
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="lofisite"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": env.float("CACHE_CONNECT_TIMEOUT", default=0.5),
                "SOCKET_TIMEOUT": env.float("CACHE_SOCKET_TIMEOUT", default=0.5),
                "OUTAGE_RETRY_SECONDS": env.float("CACHE_OUTAGE_RETRY_SECONDS", default=1.0),
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "lofisite.cache.CountedFileBasedCache",  # Django's, with hit/miss metrics
            "LOCATION": env.str("CACHE_DIR", default=str(VAR_DIR / "cache")),
            "OPTIONS": {"MAX_ENTRIES": 10000},
        }
    }

# --- background tasks ---------------------------------------------------------
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# --- auth -----------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # Argon2 is slow on purpose; the suite creates many users.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Two-factor sign-in (django-otp TOTP + one-time recovery codes). With ADMIN_REQUIRE_2FA on,
# an admin must enrol a device before reaching any page (accounts.middleware).
ADMIN_REQUIRE_2FA = env.bool("ADMIN_REQUIRE_2FA", default=not DEBUG and not TESTING)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="lofisite")
# How long the "enter your code" step waits after a correct password.
OTP_LOGIN_PENDING_SECONDS = 300
# Personal API tokens: last-used time is written at most this often per token.
API_TOKEN_LAST_USED_INTERVAL_SECONDS = 60

# django-axes: lock a username+IP pair after repeated failures.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# One client-IP rule (lofisite.client_ip) for lockouts, throttles and sign-in records.
AXES_CLIENT_IP_CALLABLE = "lofisite.client_ip.client_ip"
AXES_VERBOSE = False

# Reverse proxies in front of gunicorn that append to X-Forwarded-For (lofisite.client_ip).
PROXY_COUNT = env.int("PROXY_COUNT", default=0)

# --- sessions, cookies, security headers ------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 12
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "lofisite.errors.csrf_failure"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "media-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# --- i18n / static / media --------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request otherwise
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = TESTING
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Request bodies (lofisite.middleware.RequestBodyLimitMiddleware): a Content-Length over the limit
# is a 413 before the body is read; the reverse proxy should refuse the same (README).
REQUEST_MAX_BODY_MB = env.int("REQUEST_MAX_BODY_MB", default=1024)  # every request, whatever the URL
REQUEST_DEFAULT_BODY_MB = env.int("REQUEST_DEFAULT_BODY_MB", default=10)  # URLs not in UPLOAD_ENDPOINTS

# The home dashboard's cards: each app offers its own (functions `cards(request)`), in this order.
# Seconds the home dashboard's statistics are cached (lofisite.cache.cached; forgotten on every change).
DASHBOARD_CACHE_SECONDS = env.int("DASHBOARD_CACHE_SECONDS", default=60)
DASHBOARD_CARDS = [
    "pipeline.dashboard.cards",
    "monitoring.dashboard.cards",
    "accounts.dashboard.cards",
    "vinted.dashboard.cards",
    "legal.dashboard.cards",
]

# --- API --------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.authentication.JWTAuthentication",
        "accounts.api.authentication.APITokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "accounts.api.permissions.HasRoleScope",
        "legal.api.permissions.HasAcceptedLegal",
    ],
    # Throttle history lives in the cache; while Redis is down the throttles fail open (every request is
    # let through, uncounted) rather than failing the API: lofisite.cache.FailSoftRedisCache, README "Faults".
    "DEFAULT_THROTTLE_CLASSES": [
        "lofisite.client_ip.AnonRateThrottle",
        "lofisite.client_ip.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),
        "user": env.str("API_THROTTLE_USER", default="600/min"),
        "auth": env.str("API_THROTTLE_AUTH", default="20/min"),
    },
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "lofisite.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "lofisite.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
# `?limit=` above this is treated as this (lofisite/pagination.py).
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=200)
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=30)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "TOKEN_OBTAIN_SERIALIZER": "accounts.api.serializers.TokenObtainSerializer",
    "TOKEN_REFRESH_SERIALIZER": "accounts.api.serializers.TokenRefreshSerializer",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "lofisite API",
    "DESCRIPTION": "Lo-fi YouTube pipeline and Vinted reselling desk. Authenticate with a JWT "
    "from /api/v1/auth/token/ and send `Authorization: Bearer <access>`, or send a personal API token "
    "from your profile page as `Authorization: Token <token>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Signed in and the current legal terms accepted, like every other API answer.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated", "legal.api.permissions.HasAcceptedLegal"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets shared by several components get one stable name (not a hash).
    "ENUM_NAME_OVERRIDES": {"RunStatusEnum": "pipeline.choices.RunStatus",
                            "DocumentKindEnum": "legal.models.DocumentKind",
                            "ListingStatusEnum": "vinted.choices.ListingStatus",
                            "DraftBatchStatusEnum": "vinted.choices.BatchStatus",
                            "DraftItemStatusEnum": "vinted.services.drafts.ITEM_STATUSES",
                            "DraftFieldEnum": "vinted.drafting.DRAFT_FIELDS",
                            "VintedAccountStatusEnum": "vinted.choices.AccountStatus",
                            "PublicationStatusEnum": "vinted.choices.PublicationStatus",
                            "MessageStatusEnum": "vinted.choices.MessageStatus",
                            "MessageKindEnum": "vinted.choices.MessageKind",
                            "CallKindEnum": "vinted.choices.CallKind",
                            "CallOutcomeEnum": "vinted.choices.CallOutcome",
                            "JobStatusEnum": "monitoring.choices.JobStatus",
                            "HealthStatusEnum": ["healthy", "degraded", "unhealthy"]},
    # The error envelope on every operation (lofisite/openapi.py), after drf-spectacular's own enum naming.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "lofisite.openapi.add_error_responses",
    ],
}

# --- logging ------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_JSON = env.bool("LOG_JSON", default=not DEBUG and not TESTING and HTTPS)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "lofisite.middleware.RequestIDLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "json" if LOG_JSON else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"axes": {"level": "WARNING"}},
}

SILENCED_SYSTEM_CHECKS = []

# Key for secrets at rest (lofisite.crypto); a Fernet key. Derived from SECRET_KEY if unset.
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default="")
# Keys that still open what is stored while rotating (lofisite.crypto; `manage.py rotate_encryption_key`).
FIELD_ENCRYPTION_OLD_KEYS = env.list("FIELD_ENCRYPTION_OLD_KEYS", default=[])
# JSON fixtures and exports keep those secrets as ciphertext (dumpdata, loaddata, backup export).
SERIALIZATION_MODULES = {"json": "lofisite.serialization.json", "jsonl": "lofisite.serialization.jsonl"}

# --- operations: circuit breakers, jobs, scheduler (monitoring app) --------------------
# Per external service; "default" fills what a named breaker leaves out.
CIRCUIT_BREAKERS = {
    "default": {"failure_threshold": 5, "recovery_timeout": 60, "success_threshold": 2, "call_timeout": 30},
    "openai": {"recovery_timeout": 60, "call_timeout": env.float("OPENAI_TIMEOUT", default=60)},
    # One publish attempt is one try (no sleeping retries inside a job), so three failed attempts in a row (a
    # stage's PIPELINE_STAGE_MAX_ATTEMPTS) pause YouTube for every run.
    "youtube": {"failure_threshold": 3, "recovery_timeout": 120,
                "call_timeout": env.float("YOUTUBE_TIMEOUT", default=60)},
}
JOB_HEARTBEAT_SECONDS = env.int("JOB_HEARTBEAT_SECONDS", default=10)
# A running job whose heartbeat is older than this is taken as dead (worker killed).
JOB_STALE_AFTER_SECONDS = env.int("JOB_STALE_AFTER_SECONDS", default=120)
JOB_DEFAULT_MAX_ATTEMPTS = env.int("JOB_DEFAULT_MAX_ATTEMPTS", default=4)
JOB_BACKOFF_BASE_SECONDS = env.float("JOB_BACKOFF_BASE_SECONDS", default=5)
SCHEDULER_TICK_SECONDS = env.int("SCHEDULER_TICK_SECONDS", default=15)
# Periodic hooks the `scheduler` process calls every tick (dotted paths; apps add theirs).
SCHEDULER_HOOKS = ["monitoring.jobs.recover_stale_jobs", "monitoring.system.take_sample"]
# The System page's 24 h charts: one SystemSample at most this often, none older than KEEP_HOURS.
SYSTEM_SAMPLE_SECONDS = env.int("SYSTEM_SAMPLE_SECONDS", default=60)
SYSTEM_SAMPLE_KEEP_HOURS = env.int("SYSTEM_SAMPLE_KEEP_HOURS", default=24)

# --- AI gateway (monitoring.ai): the only caller of the OpenAI SDK ------------------------
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="") or None
OPENAI_CHAT_MODEL = env.str("OPENAI_CHAT_MODEL", default="gpt-4o-mini")
OPENAI_VISION_MODEL = env.str("OPENAI_VISION_MODEL", default="gpt-4o-mini")
OPENAI_IMAGE_MODEL = env.str("OPENAI_IMAGE_MODEL", default="gpt-image-1")
# USD per 1M tokens (input/output) and per generated image; unknown models cost the "default" row.
AI_PRICES = {
    "gpt-4o-mini": {"input_per_million": 0.15, "output_per_million": 0.60},
    "gpt-4o": {"input_per_million": 2.50, "output_per_million": 10.00},
    "gpt-image-1": {"input_per_million": 5.00, "output_per_million": 40.00, "per_image": 0.063},
    "default": {"input_per_million": 2.50, "output_per_million": 10.00, "per_image": 0.08},
}
AI_MONTHLY_BUDGET_USD = env.float("AI_MONTHLY_BUDGET_USD", default=20.0)

# --- lo-fi pipeline ----------------------------------------------------------------------
PIPELINE_MAX_CONCURRENT_RENDERS = env.int("PIPELINE_MAX_CONCURRENT_RENDERS", default=1)
PIPELINE_STAGE_MAX_ATTEMPTS = env.int("PIPELINE_STAGE_MAX_ATTEMPTS", default=3)
PIPELINE_STAGE_TIME_LIMIT_SECONDS = env.int("PIPELINE_STAGE_TIME_LIMIT_SECONDS", default=3600)
PIPELINE_TRACK_MAX_MB = env.int("PIPELINE_TRACK_MAX_MB", default=200)
PIPELINE_CLIP_MAX_MB = env.int("PIPELINE_CLIP_MAX_MB", default=500)
# Upload endpoints by URL name: (setting with the limit per file in MB, files per request, model an
# upload adds: who may not add one is refused before the body is read). See RequestBodyLimitMiddleware.
UPLOAD_ENDPOINTS = {
    "pipeline:track-list": ("PIPELINE_TRACK_MAX_MB", 1, "pipeline.Track"),
    "api:pipeline-track-list": ("PIPELINE_TRACK_MAX_MB", 1, "pipeline.Track"),
    "pipeline:run-create": ("PIPELINE_CLIP_MAX_MB", 2, "pipeline.Run"),  # intro and outro clips
    "api:pipeline-run-list": ("PIPELINE_CLIP_MAX_MB", 2, "pipeline.Run"),
    # A person's own cover art or thumbnail.
    "api:pipeline-video-thumbnail": ("PIPELINE_IMAGE_MAX_MB", 1, "pipeline.Video"),
    "api:pipeline-video-cover": ("PIPELINE_IMAGE_MAX_MB", 1, "pipeline.Video"),
    # A run's own artwork (the run page's forms); who may change that run is checked in the view.
    "pipeline:run-thumbnail-upload": ("PIPELINE_IMAGE_MAX_MB", 1, "pipeline.Video"),
    "pipeline:run-cover-upload": ("PIPELINE_IMAGE_MAX_MB", 1, "pipeline.Video"),
}
PIPELINE_IMAGE_MAX_MB = env.int("PIPELINE_IMAGE_MAX_MB", default=10)
# Days a library-only video keeps its files (0 = forever); the run and its metadata stay.
PIPELINE_LIBRARY_RETENTION_DAYS = env.int("PIPELINE_LIBRARY_RETENTION_DAYS", default=0)
SCHEDULER_HOOKS = [*SCHEDULER_HOOKS, "pipeline.services.schedules.fire_due_schedules",
                   "pipeline.services.media.purge_library_media"]
# YouTube Data API v3; base URLs are settings so tests use a local fake server.
YOUTUBE_TOKEN_URL = env.str("YOUTUBE_TOKEN_URL", default="https://oauth2.googleapis.com/token")
YOUTUBE_AUTH_URL = env.str("YOUTUBE_AUTH_URL", default="https://accounts.google.com/o/oauth2/v2/auth")
YOUTUBE_API_BASE = env.str("YOUTUBE_API_BASE", default="https://www.googleapis.com/youtube/v3")
YOUTUBE_UPLOAD_BASE = env.str("YOUTUBE_UPLOAD_BASE", default="https://www.googleapis.com/upload/youtube/v3")
YOUTUBE_CHUNK_SIZE = env.int("YOUTUBE_CHUNK_SIZE", default=8 * 1024 * 1024)
# Daily quota per bucket, as YouTube counts it (reset at midnight Pacific time).
YOUTUBE_DAILY_QUOTA = {
    "videos.insert": env.int("YOUTUBE_DAILY_UPLOADS", default=100),
    "default": env.int("YOUTUBE_DAILY_QUOTA_UNITS", default=10000),
}

# --- Vinted desk ---------------------------------------------------------------------------
VINTED_TITLE_MAX_CHARS = env.int("VINTED_TITLE_MAX_CHARS", default=100)
VINTED_DESCRIPTION_MAX_CHARS = env.int("VINTED_DESCRIPTION_MAX_CHARS", default=2000)
VINTED_PHOTOS_MIN = env.int("VINTED_PHOTOS_MIN", default=1)
VINTED_PHOTOS_MAX = env.int("VINTED_PHOTOS_MAX", default=20)
VINTED_PRICE_MIN = env.str("VINTED_PRICE_MIN", default="1.00")  # a Decimal string
VINTED_HASHTAGS_MAX = env.int("VINTED_HASHTAGS_MAX", default=5)
VINTED_PHOTO_MAX_MB = env.int("VINTED_PHOTO_MAX_MB", default=15)
# Photos (vinted.photos): pixels a photo may have (checked from the header before decoding: a
# "pixel bomb" is a 400, never a memory spike), photos of one bulk upload, and how many photos one
# web process works on at once (2 uses both cores).
VINTED_PHOTO_MAX_MEGAPIXELS = env.float("VINTED_PHOTO_MAX_MEGAPIXELS", default=50.0)
VINTED_BULK_PHOTOS_MAX = env.int("VINTED_BULK_PHOTOS_MAX", default=200)
VINTED_PHOTO_WORKERS = env.int("VINTED_PHOTO_WORKERS", default=2)
# What the photos being worked on in one web process may hold (each reserves its share from its
# header before decoding: about 30 MB for an upright 12 MP JPEG, 95 MB for one decoded in full).
VINTED_PHOTO_MEMORY_MB = env.int("VINTED_PHOTO_MEMORY_MB", default=140)
UPLOAD_ENDPOINTS = {
    **UPLOAD_ENDPOINTS,
    # Photos of a listing or of a bulk upload: the page's form, its script and API clients.
    "vinted:photo-upload": ("VINTED_PHOTO_MAX_MB", VINTED_PHOTOS_MAX, "vinted.Photo"),
    "vinted:bulk-upload": ("VINTED_PHOTO_MAX_MB", VINTED_PHOTOS_MAX, "vinted.Photo"),
    "api:vinted-photo-list": ("VINTED_PHOTO_MAX_MB", VINTED_PHOTOS_MAX, "vinted.Photo"),
}
# AI drafts (vinted.services.drafts): attempts of a bulk draft job when the AI service is briefly away.
VINTED_DRAFT_BATCH_MAX_ATTEMPTS = env.int("VINTED_DRAFT_BATCH_MAX_ATTEMPTS", default=4)

# --- Vinted automation (part 2): accounts, risk ledger, publishing, inbox ----------------------
# Vinted sites an account may be on (a domain picks https://www.<domain>).
VINTED_DOMAINS = env.list("VINTED_DOMAINS", default=[
    "vinted.fr", "vinted.co.uk", "vinted.de", "vinted.es", "vinted.it", "vinted.nl", "vinted.be",
    "vinted.pl", "vinted.at", "vinted.com"])
# Where every account's calls go instead of https://www.<domain> when set (a proxy; the tests' fake).
VINTED_BASE_URL = env.str("VINTED_BASE_URL", default="")
VINTED_HTTP_TIMEOUT = env.float("VINTED_HTTP_TIMEOUT", default=20)
# The risk ledger (vinted.ledger): mutating actions per account per hour (observers report blocks at
# about 50 writes an hour), a random wait between two writes, and the pause after Vinted blocked us.
VINTED_WRITES_PER_HOUR = env.int("VINTED_WRITES_PER_HOUR", default=20)
VINTED_WRITE_WAIT_MIN_SECONDS = env.float("VINTED_WRITE_WAIT_MIN_SECONDS", default=0 if TESTING else 20)
VINTED_WRITE_WAIT_MAX_SECONDS = env.float("VINTED_WRITE_WAIT_MAX_SECONDS", default=0 if TESTING else 120)
VINTED_COOLDOWN_MINUTES = env.int("VINTED_COOLDOWN_MINUTES", default=60)
# Blocked again within this many hours of an earlier block: the account stays blocked until an admin unblocks it.
VINTED_BLOCK_REPEAT_HOURS = env.int("VINTED_BLOCK_REPEAT_HOURS", default=24)
# Publishing (vinted.services.publishing): how long a confirm token is valid.
VINTED_CONFIRM_TOKEN_MINUTES = env.int("VINTED_CONFIRM_TOKEN_MINUTES", default=30)
# Browsers (vinted.browser): Chromium instances across all workers, and one page step's timeout.
PLAYWRIGHT_CHROMIUM_EXECUTABLE = env.str("PLAYWRIGHT_CHROMIUM_EXECUTABLE", default="/usr/bin/chromium")
VINTED_MAX_BROWSERS = env.int("VINTED_MAX_BROWSERS", default=1)
VINTED_BROWSER_TIMEOUT_SECONDS = env.float("VINTED_BROWSER_TIMEOUT_SECONDS", default=60)
# Relist (vinted.services.relist): a published listing older than this many days is "stale" and may be relisted.
VINTED_STALE_DAYS = env.int("VINTED_STALE_DAYS", default=30)
# Inbox sync (a scheduler hook): how often each active account's inbox is read.
VINTED_INBOX_SYNC_MINUTES = env.int("VINTED_INBOX_SYNC_MINUTES", default=10)
CIRCUIT_BREAKERS["vinted"] = {"failure_threshold": 5, "recovery_timeout": 300,
                              "call_timeout": VINTED_HTTP_TIMEOUT}
SCHEDULER_HOOKS = [*SCHEDULER_HOOKS, "vinted.services.accounts.end_cooldowns", "vinted.services.inbox.sync_due_inboxes"]
CIRCUIT_BREAKERS["playwright"] = {"failure_threshold": 3, "recovery_timeout": 120,
                                  "call_timeout": VINTED_BROWSER_TIMEOUT_SECONDS}

# --- Vinted automation (part 3): reply suggestions, auto-replies, price drops, reposts -------------
# Each is a row with a due time that a scheduler hook acts on; every call to Vinted goes through the ledger.
VINTED_AUTOMATION_TIME_ZONE = env.str("VINTED_AUTOMATION_TIME_ZONE", default="Europe/Paris")
# Reposts run in these windows of the account's time zone (days: 0 Monday .. 6 Sunday), spread out.
VINTED_REPOST_BUSY_WINDOWS = [
    {"days": [0, 1, 2, 3, 4], "start": "18:00", "end": "21:30"},
    {"days": [5, 6], "start": "10:00", "end": "12:00"},
]
# At most this many reposts of one account per day (each costs a publish and a delete on the ledger).
VINTED_REPOSTS_PER_DAY = env.int("VINTED_REPOSTS_PER_DAY", default=5)
SCHEDULER_HOOKS = [*SCHEDULER_HOOKS, "vinted.services.replies.send_due_replies",
                   "vinted.services.price_drops.run_due_drops", "vinted.services.reposts.run_due_reposts"]

# --- backups and maintenance (monitoring.backups) ---------------------------------------------
# Where backup files go: a Django storage alias (point STORAGES["backups"] at django-storages' S3
# backend to keep backups off the machine); dumps are made in BACKUP_WORK_DIR on local disk first.
BACKUP_STORAGE_ALIAS = env.str("BACKUP_STORAGE_ALIAS", default="backups")
STORAGES["backups"] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": env.str("BACKUP_DIR", default=str(VAR_DIR / "backups"))},
}
BACKUP_WORK_DIR = env.str("BACKUP_WORK_DIR", default=str(VAR_DIR / "tmp" / "backups"))
# A Fernet key (`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`):
# backup files are encrypted at rest with it. Keep it somewhere other than the backups.
BACKUP_ENCRYPTION_KEY = env.str("BACKUP_ENCRYPTION_KEY", default="")
BACKUP_KEEP_SCHEDULED = env.int("BACKUP_KEEP_SCHEDULED", default=7)
BACKUP_SCHEDULE_ENABLED = env.bool("BACKUP_SCHEDULE_ENABLED", default=not TESTING)
BACKUP_DAILY_AT = env.str("BACKUP_DAILY_AT", default="03:30")  # HH:MM in TIME_ZONE
BACKUP_SCHEDULE_CONTENT = env.str("BACKUP_SCHEDULE_CONTENT", default="both")  # database | media | both
# A database backup older than this counts as stale (monitoring.backups.freshness()).
BACKUP_MAX_AGE_HOURS = env.float("BACKUP_MAX_AGE_HOURS", default=36)
SCHEDULER_HOOKS = [*SCHEDULER_HOOKS, "monitoring.backups.services.run_scheduled_backup"]
# The maintenance flag (a file every process on the machine sees; a shared volume across machines).
MAINTENANCE_FLAG_PATH = env.str("MAINTENANCE_FLAG_PATH", default=str(VAR_DIR / "maintenance.json"))
MAINTENANCE_RETRY_AFTER_SECONDS = env.int("MAINTENANCE_RETRY_AFTER_SECONDS", default=120)
MIDDLEWARE.insert(MIDDLEWARE.index("lofisite.middleware.RequestIDMiddleware") + 1,
                  "monitoring.middleware.MaintenanceModeMiddleware")

# --- health (/health/, lofisite.health; each app lists its checks; README "Faults") ---------------------------------
# Every check /health/, the health API and `manage.py health` run: dotted paths or (path, options). Each app
# lists its own; a ServiceWarning makes the whole "degraded" (200), any other failure "unhealthy" (503).
HEALTH_DISK_PATH = env.str("HEALTH_DISK_PATH", default=str(VAR_DIR))  # where the database, media, backups are
HEALTH_DISK_MIN_FREE_MB = env.float("HEALTH_DISK_MIN_FREE_MB", default=1024)
HEALTH_MEMORY_MAX_PERCENT = env.float("HEALTH_MEMORY_MAX_PERCENT", default=90)
HEALTH_WORKER_MAX_AGE_SECONDS = env.int("HEALTH_WORKER_MAX_AGE_SECONDS", default=300)
HEALTH_WORKER_PING_SECONDS = env.int("HEALTH_WORKER_PING_SECONDS", default=60)  # idle workers get a no-op task
HEALTH_QUEUE_MAX_AGE_SECONDS = env.int("HEALTH_QUEUE_MAX_AGE_SECONDS", default=1800)
HEALTH_SCHEDULER_MAX_AGE_SECONDS = env.int("HEALTH_SCHEDULER_MAX_AGE_SECONDS", default=180)
HEALTH_AI_MIN_HEADROOM_PERCENT = env.float("HEALTH_AI_MIN_HEADROOM_PERCENT", default=10)
HEALTH_REDIS_URL = env.str("REDIS_URL", default="")
HEALTH_CHECKS = [
    "health_check.checks.Database",
    "lofisite.health.CacheCheck",
    "health_check.checks.Storage",
    "monitoring.health.DiskCheck",
    ("health_check.contrib.psutil.Memory", {"max_memory_usage_percent": HEALTH_MEMORY_MAX_PERCENT}),
    *(["monitoring.health.RedisCheck"] if HEALTH_REDIS_URL else []),
    "monitoring.health.MaintenanceCheck",
    "monitoring.health.WorkerCheck",
    "monitoring.health.QueueCheck",
    "monitoring.health.SchedulerCheck",
    "monitoring.health.BreakersCheck",
    "monitoring.health.AIBudgetCheck",
    "monitoring.health.BackupFreshnessCheck",
    "pipeline.health.FfmpegCheck",
]

# The audit log (monitoring/audit.py): Django admin's LogEntry plus these "source/kind" Events,
# the administrative actions that services record (each app's kinds are wired here).
AUDIT_EVENT_KINDS = [
    "accounts/user.role_changed", "accounts/user.deactivated", "accounts/user.reactivated",
    "accounts/user.budget_changed", "breakers/breaker.reset", "jobs/stats.reset",
    "backups/backup.restored", "backups/backup.restore_rolled_back", "backups/backup.deleted",
    "vinted/account.unblocked", "pipeline/youtube.connected", "pipeline/youtube.disconnected",
]
SCHEDULER_HOOKS = [*SCHEDULER_HOOKS, "monitoring.health.ping_idle_worker"]
# django-health-check logs every failing check with a traceback at WARNING, on every probe; errors stay logged.
LOGGING["loggers"]["health_check"] = {"level": "ERROR"}

# --- metrics (monitoring.exporter: /metrics for Prometheus; README "Metrics and alerts") --------------------
# Both gates apply: the client address (lofisite.client_ip, honouring PROXY_COUNT) must be listed ("*" = any),
# and when METRICS_TOKEN is set the scrape must send `Authorization: Bearer <token>`.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
for _entry in METRICS_ALLOWED_IPS:
    try:
        _entry.strip() == "*" or ipaddress.ip_network(_entry.strip(), strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {_entry!r} is not an address or network ({_exc}).") from None
# Business metrics computed from the database at scrape time: functions yielding prometheus_client metric families.
METRICS_COLLECTORS = ["monitoring.metrics.collect", "monitoring.backups.metrics.collect", "pipeline.metrics.collect",
                      "vinted.metrics.collect"]
# django-prometheus' migration gauges would be one series per gunicorn worker in multiprocess mode.
PROMETHEUS_EXPORT_MIGRATIONS = False

# --- notifications (monitoring.notifications; README "Notifications") --------------------------------------
# E-mail goes through Django's backend (6.1's MAILERS): EMAIL_URL as django-environ reads it
# (smtp+tls://user:pass@host:587); by default the console in development and tests (a laptop prints the
# mails), the machine's own mail server (smtp://localhost:25, Django's default) in production.
_email = env.email_url("EMAIL_URL", default="consolemail://" if DEBUG or TESTING else "smtp://localhost:25")
_smtp_options = {"host": _email["EMAIL_HOST"], "port": _email["EMAIL_PORT"], "username": _email["EMAIL_HOST_USER"],
                 "password": _email["EMAIL_HOST_PASSWORD"], "use_tls": _email.get("EMAIL_USE_TLS", False),
                 "use_ssl": _email.get("EMAIL_USE_SSL", False), "timeout": 10}
MAILERS = {"default": {"BACKEND": _email["EMAIL_BACKEND"], "OPTIONS": (
    {key: value for key, value in _smtp_options.items() if value is not None}
    if _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend") else {})}}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="lofisite <noreply@localhost>")
# Where links in notifications point (the site as users reach it), e.g. https://lofi.example.com.
SITE_URL = env.str("SITE_URL", default="http://localhost:8000")
# The events that notify ("source/kind" of monitoring Events -> the title people read). Each app records its
# own; monitoring knows them only from this list.
NOTIFICATION_EVENTS = {
    "pipeline/run.failed": "Pipeline run failed",
    "pipeline/video.locked_private": "YouTube locked an upload private",
    "accounts/login.new_device": "Sign-in from a new device",
    "ai/budget.warning": "AI budget at 80 %",
    "ai/budget.exceeded": "AI budget at 100 %",
    "breakers/breaker.opened": "Circuit breaker opened",
    "breakers/breaker.tripped": "Circuit breaker held open",
    "backups/backup.failed": "Backup failed",
    "vinted/account.blocked": "Vinted account blocked",
    "vinted/account.cooling_down": "Vinted account cooling down",
}
# Kinds about the system rather than one person: every admin gets them too.
NOTIFICATION_SYSTEM_EVENTS = ["breakers/breaker.opened", "breakers/breaker.tripped", "backups/backup.failed"]
NOTIFICATION_WEBHOOK_TIMEOUT_SECONDS = env.float("NOTIFICATION_WEBHOOK_TIMEOUT_SECONDS", default=5.0)
# Off: webhooks to loopback, private, link-local or reserved addresses are refused (SSRF). Tests turn it on.
NOTIFICATION_WEBHOOK_ALLOW_PRIVATE = env.bool("NOTIFICATION_WEBHOOK_ALLOW_PRIVATE", default=False)

# --- manage.py stats (issue #10): each app's business counts --------------------------------------------------
# Functions `counts(now=None) -> dict` (values: numbers or {label: number}); monitoring knows no domain app.
STATS_COLLECTORS = ["pipeline.stats.counts", "vinted.stats.counts"]
