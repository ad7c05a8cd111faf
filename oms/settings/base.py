"""Settings shared by every environment.

Production runs on this module alone, configured through environment variables
(see ``.env.example``). ``local`` and ``test`` only change defaults.
"""

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("SECRET_KEY", "")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_celery_beat",
    "import_export",
    "simple_history",
    "axes",
    "csp",
    "core",
    "customers",
    "inventory",
    "fulfillment",
    "billing",
    "shipping",
    "orders",
    "returns",
    "selfservice",
    "webhooks",
    "planning",
    "analytics",
    # Last, so that its post_migrate hook sees every other app's permissions.
    "oms",
]

MIDDLEWARE = [
    # First: every request, refused or not, gets its request id, log line and metrics.
    "oms.logging.RequestContextMiddleware",
    "oms.metrics.RequestMetricsMiddleware",
    # Then a NUL byte in the URL is refused before anything looks the URL up.
    "core.api.middleware.RefuseNulInUrlMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Console pages in the staff user's own time zone and date style.
    "core.preferences.StaffPreferenceMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last: turns a log-in refused for too many failures into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "oms.urls"
WSGI_APPLICATION = "oms.wsgi.application"

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
            ],
        },
    },
]


def database_config(url: str, **options: Any) -> dict[str, Any]:
    """A database from its URL. On PostgreSQL, parameters travel apart from the SQL
    (server-side binding) and statements a connection repeats are prepared once, so
    the server plans the hot path's statements once per connection, not per request.
    ``DB_PREPARE_THRESHOLD`` is how many runs make a statement worth preparing
    ("off" turns both off)."""
    config: dict[str, Any] = dict(dj_database_url.parse(url, **options))
    threshold = os.environ.get("DB_PREPARE_THRESHOLD", "2")
    if config["ENGINE"] == "django.db.backends.postgresql" and threshold != "off":
        config.setdefault("OPTIONS", {}).update(
            server_side_binding=True, prepare_threshold=int(threshold)
        )
    return config


POOL_RECONNECT_SECONDS = 2.0


def database_pool(config: dict[str, Any], environ: Mapping[str, str] = os.environ) -> None:
    """Serve a PostgreSQL database's connections from a pool (psycopg's, through Django's
    ``OPTIONS["pool"]``) when ``DATABASE_POOL_MAX`` is a positive number: each process
    keeps at most that many connections open and lends one to a request or task for as
    long as it runs, instead of one persistent connection per thread. A request that
    finds them all lent waits up to ``DATABASE_POOL_TIMEOUT`` seconds (then answers 503
    with Retry-After); ``DATABASE_POOL_MIN`` connections stay open when idle.
    gunicorn.conf.py turns it on for the web server (one connection per thread).

    While the database cannot be reached, the pool stops retrying in the background
    after ``POOL_RECONNECT_SECONDS`` (psycopg's default backs off for five minutes, up to
    minutes between attempts); the next request then connects at once, so the service
    is back as soon as the database is, not at the pool's next attempt."""
    size = int(environ.get("DATABASE_POOL_MAX", "0") or "0")
    if size <= 0 or config["ENGINE"] != "django.db.backends.postgresql":
        return
    config.setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(size, int(environ.get("DATABASE_POOL_MIN", "1"))),
        "max_size": size,
        "timeout": float(environ.get("DATABASE_POOL_TIMEOUT", "5")),
        "reconnect_timeout": POOL_RECONNECT_SECONDS,
        "name": "oms",
    }
    config["CONN_MAX_AGE"] = 0  # the pool keeps the connections, Django must not


DATABASES = {
    "default": database_config(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
database_pool(DATABASES["default"])
# A read replica for the reports, their exports and the dashboard (analytics.routers);
# without it they read the default database. Tests mirror it onto the default one.
# Memory for the sorts and groupings of one dashboard or report page (its transaction
# only; the order-taking connections keep the server's default).
OMS_REPORTS_WORK_MEM = os.environ.get("OMS_REPORTS_WORK_MEM", "64MB")

if os.environ.get("REPORTS_DATABASE_URL"):
    DATABASES["reports"] = database_config(
        os.environ["REPORTS_DATABASE_URL"],
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
    DATABASES["reports"]["TEST"] = {"MIRROR": "default"}
    database_pool(DATABASES["reports"])
DATABASE_ROUTERS = ["analytics.routers.ReportsRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))

# --- Celery -----------------------------------------------------------------
# Without REDIS_URL every task runs inline ("eager"), so the demo needs no broker.
REDIS_URL = os.environ.get("REDIS_URL", "")

# --- Caches -------------------------------------------------------------------
# "throttle" holds the request counters of the API throttle and of the carrier
# webhook's failed authentications. Every process must see the same counts, or the
# real limit is the configured one times the number of processes: in Redis when there
# is one (THROTTLE_CACHE_URL, by default REDIS_URL), else in this process's memory
# (the demo runs one process). Short timeouts, because a Redis that is down must not
# stall requests: core.api.throttling then counts in local memory until it is back.
THROTTLE_CACHE_URL = os.environ.get("THROTTLE_CACHE_URL") or REDIS_URL
CACHES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "throttle": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": THROTTLE_CACHE_URL,
            "KEY_PREFIX": "oms-throttle",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
        if THROTTLE_CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "throttle"}
    ),
}
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Tasks go to queues by kind, so that a slow PDF or a webhook endpoint that hangs never
# delays routing: each queue gets workers of its own (docs/operations.md, "Background
# workers"); a worker started without --queues consumes them all (the demo's `make
# worker`). CELERY_QUEUE names one queue that carries every task instead: a private
# queue for a test or a benchmark, or a deployment with a single pool of workers.
OMS_TASK_QUEUE_KINDS: dict[str, tuple[str, ...]] = {
    "routing": ("fulfillment.route_*",),
    "notifications": (
        "oms.notify_order_event",
        "oms.resend_notification",
        "oms.send_dunning_reminders",
    ),
    # Rendering PDFs: invoices, credit notes, packing slips, quotes.
    "documents": (
        "billing.render_invoice_pdf",
        "billing.render_credit_note_pdf",
        "fulfillment.notify_partner",
        "orders.email_quote_event",
    ),
    "webhooks": ("webhooks.*",),
}
if os.environ.get("CELERY_QUEUE"):
    CELERY_TASK_DEFAULT_QUEUE = os.environ["CELERY_QUEUE"]
    CELERY_TASK_QUEUES: tuple[Queue, ...] | None = None
    CELERY_TASK_ROUTES: dict[str, dict[str, str]] = {}
else:
    CELERY_TASK_DEFAULT_QUEUE = "oms"
    CELERY_TASK_QUEUES = tuple(Queue(name) for name in ("oms", *OMS_TASK_QUEUE_KINDS))
    CELERY_TASK_ROUTES = {
        task: {"queue": kind} for kind, tasks in OMS_TASK_QUEUE_KINDS.items() for task in tasks
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
# A dead broker must not stall a request: connect fast, and let the outbox sweep retry.
CELERY_BROKER_CONNECTION_TIMEOUT = float(os.environ.get("CELERY_BROKER_CONNECTION_TIMEOUT", "1"))
# Every task runs under a soft time limit, then a hard one (seconds). At the soft limit
# the task gets SoftTimeLimitExceeded: a consuming task hands the events it has not
# finished back for a retry, anything else fails and is run again by its schedule. At
# the hard limit the worker process running it is killed and replaced, so nothing can
# hold a worker forever. A task that needs more time gets an entry in
# CELERY_TASK_ANNOTATIONS below.
CELERY_TASK_SOFT_TIME_LIMIT = int(os.environ.get("CELERY_TASK_SOFT_TIME_LIMIT", "300"))
CELERY_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", "360"))
CELERY_TASK_ANNOTATIONS = {
    # Renders a packing slip PDF for each fulfillment order of its batch.
    "fulfillment.notify_partner": {
        "soft_time_limit": 2 * CELERY_TASK_SOFT_TIME_LIMIT,
        "time_limit": 2 * CELERY_TASK_TIME_LIMIT,
    },
}
CELERY_BEAT_SCHEDULE = {
    "release-expired-draft-reservations": {
        "task": "orders.release_expired_draft_reservations",
        "schedule": 60.0,
    },
    "sweep-outbox": {"task": "oms.sweep_outbox", "schedule": 15.0},
    "route-backorders": {"task": "fulfillment.route_backorders", "schedule": 300.0},
    "advance-simulated-carrier": {
        "task": "fulfillment.advance_simulated_shipments",
        "schedule": 60.0,
    },
    "sla-monitor": {"task": "fulfillment.flag_at_risk", "schedule": 600.0},
    "prune-old-records": {"task": "oms.prune_old_records", "schedule": crontab(hour=3, minute=17)},
    # Payment reminders of invoices on terms (billing.dunning), in the morning.
    "send-dunning-reminders": {
        "task": "oms.send_dunning_reminders",
        "schedule": crontab(hour=8, minute=5),
    },
    # Stock planning: forecasts at night, low-stock alerts every hour (docs/planning.md).
    "planning-forecast": {"task": "planning.run_planning", "schedule": crontab(hour=2, minute=40)},
    "planning-low-stock": {"task": "planning.check_low_stock", "schedule": crontab(minute=25)},
    # The dashboard's daily summary (docs/analytics.md): the days of changed orders every
    # ten minutes, the recent days whole at night.
    "analytics-daily-summary": {"task": "analytics.refresh_daily_summary", "schedule": 600.0},
    "analytics-daily-summary-nightly": {
        "task": "analytics.refresh_daily_summary",
        "schedule": crontab(hour=1, minute=50),
        "kwargs": {"whole": True},
    },
}

# --- Email ------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# Seconds to connect to the mail server and for each exchange with it: a mail server
# that hangs fails the send (an OSError, retried later) instead of stalling a worker.
EMAIL_TIMEOUT = float(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "OMS <orders@example.com>")

# --- API --------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["customers.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["customers.api.authentication.IsApiClient"],
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.IdCursorPagination",
    "EXCEPTION_HANDLER": "core.api.errors.handle_exception",
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.ApiJSONParser"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.api.negotiation.ApiContentNegotiation",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OMS API",
    "DESCRIPTION": "B2B order management API.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Every operation's problem+json error responses (core/api/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.add_problem_responses",
    ],
}

# --- Security (production values; local/test relax them) --------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
# Load balancers and orchestrators probe over plain HTTP, inside the network: a 301
# to HTTPS would read as "down".
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# How many reverse proxies in front of OMS append to X-Forwarded-For. 0: the client is
# the connection's peer (REMOTE_ADDR). The login lockout and the carrier webhook's
# limit count per client address (core.security.client_ip).
OMS_TRUSTED_PROXY_COUNT = int(os.environ.get("OMS_TRUSTED_PROXY_COUNT", "0"))

# Content-Security-Policy on every response (django-csp). Scripts, styles, images and
# fonts come from our own origin only: no inline script and no inline style, so the
# templates keep their styles in static/oms/admin.css. The API's docs page adds the
# CDN of its Swagger UI (oms.api.urls).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Admin log-in lockout (django-axes). After OMS_LOGIN_FAILURE_LIMIT failed log-ins of
# one username from one address, that username is refused from that address; after
# OMS_LOGIN_IP_FAILURE_LIMIT failures from one address, whatever the usernames, the
# address is refused (core.security.LoginAttemptHandler). Failures count for
# OMS_LOGIN_COOLOFF_MINUTES after the latest one; a successful log-in clears its own
# username's failures from its address. `manage.py axes_reset_username NAME`,
# `axes_reset_ip ADDRESS`, `axes_reset` or the "Unlock" action on Axes › Access
# attempts lift a lockout at once.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's model backend, loading the user with their console preferences.
    "core.preferences.PreferenceBackend",
]
AXES_HANDLER = "core.security.LoginAttemptHandler"
AXES_FAILURE_LIMIT = int(os.environ.get("OMS_LOGIN_FAILURE_LIMIT", "5"))
OMS_LOGIN_IP_FAILURE_LIMIT = int(os.environ.get("OMS_LOGIN_IP_FAILURE_LIMIT", "20"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("OMS_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "core.security.client_ip"
AXES_LOCKOUT_CALLABLE = "core.security.lockout_response"

# --- Domain settings ----------------------------------------------------------
OMS_DEFAULT_CURRENCY = os.environ.get("OMS_DEFAULT_CURRENCY", "USD")
# Admin changelists above this many rows show an estimated total instead of COUNT(*).
OMS_ADMIN_EXACT_COUNT_LIMIT = int(os.environ.get("OMS_ADMIN_EXACT_COUNT_LIMIT", "10000"))

# Logs (oms.logging, docs/operations.md "Observability"): every line carries the request
# id, order, API client and task it belongs to; one JSON object per line in production
# (OMS_LOG_FORMAT=json), a readable line in the demo (text).
OMS_LOG_FORMAT = os.environ.get("OMS_LOG_FORMAT", "json")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "oms.logging.ContextFilter"}},
    "formatters": {
        "json": {"()": "oms.logging.JsonFormatter"},
        "text": {
            "()": "oms.logging.TextFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s | %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "text" if OMS_LOG_FORMAT == "text" else "json",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Not the lockout's start-up banner in every command's output; failures still log.
        "axes.apps": {"level": "WARNING"},
        # A task's run is logged by oms.task, with its fields; Celery's failures still log.
        "celery.app.trace": {"level": "WARNING"},
    },
}
# Workers log through the LOGGING above, not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Metrics for Prometheus at /metrics (oms.metrics): a scrape sends this bearer token;
# without a token, only clients in these networks may scrape.
OMS_METRICS_TOKEN = os.environ.get("OMS_METRICS_TOKEN", "")
OMS_METRICS_NETWORKS = env_list("OMS_METRICS_NETWORKS", "127.0.0.1/32,::1/128")

# Errors go to Sentry (or any service speaking its protocol) when SENTRY_DSN is set;
# without it the SDK is not even imported.
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        environment=os.environ.get("SENTRY_ENVIRONMENT", "production"),
        release=os.environ.get("SENTRY_RELEASE") or None,
        traces_sample_rate=float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0")),
        # Customers' names, addresses and e-mails stay out of error reports.
        send_default_pii=False,
    )

# Order capture limits and hold rules.
OMS_MAX_LINE_QUANTITY = int(os.environ.get("OMS_MAX_LINE_QUANTITY", "10000"))
OMS_MAX_ORDER_LINES = int(os.environ.get("OMS_MAX_ORDER_LINES", "200"))
# Order files (orders.imports) are refused past these, before they cost much: rows,
# bytes, and bytes an .xlsx may unpack to (its zip's declared sizes); see
# docs/operations.md.
OMS_IMPORT_MAX_ROWS = int(os.environ.get("OMS_IMPORT_MAX_ROWS", "20000"))
OMS_IMPORT_MAX_BYTES = int(os.environ.get("OMS_IMPORT_MAX_BYTES", "5242880"))
OMS_IMPORT_MAX_UNPACKED_BYTES = int(os.environ.get("OMS_IMPORT_MAX_UNPACKED_BYTES", "41943040"))
OMS_FRAUD_NEW_CUSTOMER_LIMIT = os.environ.get("OMS_FRAUD_NEW_CUSTOMER_LIMIT", "1500.00")
OMS_FRAUD_VELOCITY_PER_HOUR = int(os.environ.get("OMS_FRAUD_VELOCITY_PER_HOUR", "5"))
# Requests per API key, counted over a sliding window in the "throttle" cache.
OMS_API_THROTTLE_RATE = os.environ.get("OMS_API_THROTTLE_RATE", "6000/min")
# The customer's order status page (selfservice, docs/selfservice.md): lookups by order
# number per client address and minute, counted in the "throttle" cache; and the
# address the links in customer messages start with.
OMS_STATUS_LOOKUPS_PER_MINUTE = int(os.environ.get("OMS_STATUS_LOOKUPS_PER_MINUTE", "10"))
OMS_PUBLIC_URL = os.environ.get("OMS_PUBLIC_URL", "http://localhost:8000")
# The demo's webhook receiver (webhooks.receiver, /demo/webhook-receiver/): on with DEBUG
# or this setting; it keeps the last OMS_DEMO_WEBHOOK_RECEIVER_KEEP deliveries.
OMS_DEMO_WEBHOOK_RECEIVER = env_bool("OMS_DEMO_WEBHOOK_RECEIVER", False)
OMS_DEMO_WEBHOOK_RECEIVER_KEEP = int(os.environ.get("OMS_DEMO_WEBHOOK_RECEIVER_KEEP", "50"))

# Stock planning (docs/planning.md): days of order history the forecast learns from, the
# last days held out to measure its error, the supplier lead time and the review period
# in days, and who gets the low-stock alerts (comma-separated; empty: no alert sent).
OMS_PLANNING_HISTORY_DAYS = int(os.environ.get("OMS_PLANNING_HISTORY_DAYS", "182"))
OMS_PLANNING_HOLDOUT_DAYS = int(os.environ.get("OMS_PLANNING_HOLDOUT_DAYS", "28"))
OMS_PLANNING_LEAD_TIME_DAYS = int(os.environ.get("OMS_PLANNING_LEAD_TIME_DAYS", "14"))
OMS_PLANNING_REVIEW_DAYS = int(os.environ.get("OMS_PLANNING_REVIEW_DAYS", "7"))
OMS_PURCHASING_EMAIL = os.environ.get("OMS_PURCHASING_EMAIL", "")

# Credit holds under concurrency (orders.holds): orders of one company on credit terms
# that stay well under its limit are decided side by side, at most this many at once...
OMS_CREDIT_PARALLEL_ORDERS = int(os.environ.get("OMS_CREDIT_PARALLEL_ORDERS", "16"))
# ...as long as this share of the credit limit stays free for them: exposure + total +
# headroom within the limit, and a total of at most headroom / (parallel orders - 1).
# Any other order of the company on credit terms is decided alone, in turn.
OMS_CREDIT_HEADROOM = os.environ.get("OMS_CREDIT_HEADROOM", "0.25")
# New orders of a company with an invoice on terms unpaid this many days after its due
# date go on a credit hold naming the invoice (docs/billing.md, "Receivables").
OMS_OVERDUE_GRACE_DAYS = int(os.environ.get("OMS_OVERDUE_GRACE_DAYS", "7"))
# Route orders as soon as they are placed or released (tests switch it off to look
# at placement alone, and route explicitly).
OMS_AUTO_ROUTE = env_bool("OMS_AUTO_ROUTE", True)
# The scheduled backorder run (fulfillment.route_backorders, every 5 minutes) tries at
# most this many waiting orders and stops starting new ones after this many seconds
# (keep it well under CELERY_TASK_SOFT_TIME_LIMIT); the next run carries on.
OMS_ROUTE_BACKORDERS_MAX_ORDERS = int(os.environ.get("OMS_ROUTE_BACKORDERS_MAX_ORDERS", "1000"))
OMS_ROUTE_BACKORDERS_SECONDS = float(os.environ.get("OMS_ROUTE_BACKORDERS_SECONDS", "120"))
OMS_SIMULATED_CARRIER_STEP_MINUTES = int(os.environ.get("OMS_SIMULATED_CARRIER_STEP_MINUTES", "5"))
OMS_CARRIER_WEBHOOK_SECRET = os.environ.get("OMS_CARRIER_WEBHOOK_SECRET", "")
# Failed authentications of the carrier webhook per carrier code and client address;
# past it the webhook answers 429 with Retry-After, even to the right token.
OMS_CARRIER_AUTH_FAILURE_RATE = os.environ.get("OMS_CARRIER_AUTH_FAILURE_RATE", "10/min")
# "process" (production): requests only write their outbox rows, and a `manage.py
# relay_outbox` process publishes them in batches, one message per consuming task.
# "after_commit" (simple setups, the demo): each request publishes its own events once
# it commits. The periodic sweep backs both up.
OMS_OUTBOX_RELAY = os.environ.get("OMS_OUTBOX_RELAY", "after_commit")

# Webhooks (docs/api.md, "Webhooks"). In production a subscription's URL must be https
# and its host must resolve to public addresses only (no private, loopback, link-local,
# multicast or reserved ones), checked when subscribing and again at each delivery, so
# that a company cannot make the OMS call into its own network. The local, demo and
# test settings set OMS_WEBHOOKS_ALLOW_PRIVATE_URLS to allow http and any address.
OMS_WEBHOOKS_ALLOW_PRIVATE_URLS = env_bool("OMS_WEBHOOKS_ALLOW_PRIVATE_URLS", False)
# Seconds a receiver has to answer one delivery.
OMS_WEBHOOKS_TIMEOUT = float(os.environ.get("OMS_WEBHOOKS_TIMEOUT", "5"))
# Events in a row whose every attempt failed before a subscription is disabled (and its
# company told by e-mail).
OMS_WEBHOOKS_DISABLE_AFTER = int(os.environ.get("OMS_WEBHOOKS_DISABLE_AFTER", "5"))
# Hours the previous secret keeps signing after a rotation (both signatures are sent).
OMS_WEBHOOKS_ROTATION_OVERLAP_HOURS = int(
    os.environ.get("OMS_WEBHOOKS_ROTATION_OVERLAP_HOURS", "24")
)

# Our legal details, printed on invoices and credit notes (billing.documents) and kept
# on each document as issued. The defaults are the demo's; set them in production.
OMS_LEGAL_NAME = os.environ.get("OMS_LEGAL_NAME", "Demo Commerce Inc.")
OMS_LEGAL_ADDRESS = os.environ.get(
    "OMS_LEGAL_ADDRESS", "100 Market Street, Suite 300, San Francisco, CA 94105, US"
)
OMS_TAX_ID = os.environ.get("OMS_TAX_ID", "US-EIN 00-0000000")
OMS_BANK_IBAN = os.environ.get("OMS_BANK_IBAN", "DE89 3704 0044 0532 0130 00")
# Payment reminders (billing.dunning, docs/billing.md "Dunning"): the first goes this
# many days before an invoice's due date; then on the due date, 7 and 30 days after.
OMS_DUNNING_BEFORE_DUE_DAYS = int(os.environ.get("OMS_DUNNING_BEFORE_DUE_DAYS", "3"))

# Card payments (billing.providers, docs/billing.md "Payment providers"): "test" (the
# demo's and the tests' deterministic provider) or "stripe", with Stripe's settings.
OMS_PAYMENT_PROVIDER = os.environ.get("OMS_PAYMENT_PROVIDER", "test")
OMS_STRIPE_API_KEY = os.environ.get("OMS_STRIPE_API_KEY", "")
OMS_STRIPE_API_VERSION = os.environ.get("OMS_STRIPE_API_VERSION", "2026-10-28.endive")
OMS_STRIPE_CONNECT_TIMEOUT = float(os.environ.get("OMS_STRIPE_CONNECT_TIMEOUT", "5"))
OMS_STRIPE_READ_TIMEOUT = float(os.environ.get("OMS_STRIPE_READ_TIMEOUT", "30"))
OMS_STRIPE_MAX_NETWORK_RETRIES = int(os.environ.get("OMS_STRIPE_MAX_NETWORK_RETRIES", "2"))

# The ledger accounts of the journal export (billing.journal, `manage.py export_journal`),
# by the role each plays: an invoice debits receivable and credits revenue (goods net of
# discount), shipping revenue and tax payable; a credit note reverses that; captured
# payments debit cash; money received and not applied yet sits in payments on account.
# Each can be set apart (OMS_JOURNAL_ACCOUNT_RECEIVABLE=1210).
OMS_JOURNAL_ACCOUNTS = {
    role: os.environ.get(f"OMS_JOURNAL_ACCOUNT_{role.upper()}", default)
    for role, default in (
        ("receivable", "1200"),
        ("revenue", "4000"),
        ("shipping_revenue", "4100"),
        ("tax_payable", "2200"),
        ("cash", "1000"),
        # Money received that is not applied to an invoice yet: owed back or to apply.
        ("payments_on_account", "2300"),
    )
}

# Store credit (docs/billing.md, "Store credit"): the liability of the balances
# customers hold, and the expense of goodwill credit and finance adjustments.
OMS_JOURNAL_ACCOUNTS["store_credit"] = os.environ.get("OMS_JOURNAL_ACCOUNT_STORE_CREDIT", "2400")
OMS_JOURNAL_ACCOUNTS["store_credit_goodwill"] = os.environ.get(
    "OMS_JOURNAL_ACCOUNT_STORE_CREDIT_GOODWILL", "6100"
)

# --- Background work ------------------------------------------------------------
# A notification is claimed ("sending") before it is sent. A claim older than this many
# seconds was left by a worker that died mid-send, and the next attempt takes it over.
# Keep it above the hard time limit of the tasks that send (fulfillment.notify_partner
# has twice CELERY_TASK_TIME_LIMIT): a worker still sending would otherwise be raced.
OMS_NOTIFICATION_CLAIM_TIMEOUT = int(os.environ.get("OMS_NOTIFICATION_CLAIM_TIMEOUT", "900"))

# Text messages (core.sms, docs/notifications.md): the backend (console, file, or
# Twilio: core.sms.twilio.TwilioBackend) and, for Twilio, the account and the sender
# (a messaging service, else a number). Phone numbers typed without a country code are
# read in OMS_DEFAULT_PHONE_REGION.
OMS_SMS_BACKEND = os.environ.get("OMS_SMS_BACKEND", "core.sms.backends.ConsoleBackend")
OMS_SMS_FILE_PATH = os.environ.get("OMS_SMS_FILE_PATH", str(BASE_DIR / "var" / "sms"))
OMS_TWILIO_ACCOUNT_SID = os.environ.get("OMS_TWILIO_ACCOUNT_SID", "")
OMS_TWILIO_AUTH_TOKEN = os.environ.get("OMS_TWILIO_AUTH_TOKEN", "")
OMS_TWILIO_API_KEY_SID = os.environ.get("OMS_TWILIO_API_KEY_SID", "")
OMS_TWILIO_API_KEY_SECRET = os.environ.get("OMS_TWILIO_API_KEY_SECRET", "")
OMS_TWILIO_MESSAGING_SERVICE_SID = os.environ.get("OMS_TWILIO_MESSAGING_SERVICE_SID", "")
OMS_TWILIO_FROM_NUMBER = os.environ.get("OMS_TWILIO_FROM_NUMBER", "")
OMS_TWILIO_TIMEOUT = float(os.environ.get("OMS_TWILIO_TIMEOUT", "10"))
OMS_DEFAULT_PHONE_REGION = os.environ.get("OMS_DEFAULT_PHONE_REGION", "US")

# Retention (days) of the records the daily prune task (oms.prune_old_records) deletes.
# Unpublished outbox rows and notifications still being sent are never deleted, and each
# order keeps its latest routing decision. Notifications also stop an event from being
# e-mailed twice: keep them longer than the outbox rows.
OMS_RETENTION_OUTBOX_DAYS = int(os.environ.get("OMS_RETENTION_OUTBOX_DAYS", "30"))
OMS_RETENTION_IDEMPOTENCY_DAYS = int(os.environ.get("OMS_RETENTION_IDEMPOTENCY_DAYS", "30"))
OMS_RETENTION_NOTIFICATION_DAYS = int(os.environ.get("OMS_RETENTION_NOTIFICATION_DAYS", "365"))
OMS_RETENTION_ROUTING_DAYS = int(os.environ.get("OMS_RETENTION_ROUTING_DAYS", "180"))
# Rows per DELETE (one primary-key range each, its own transaction), and DELETEs per
# table and run: a run removes at most the product of the two from each table and
# leaves the rest to the next day.
OMS_RETENTION_BATCH_SIZE = int(os.environ.get("OMS_RETENTION_BATCH_SIZE", "1000"))
OMS_RETENTION_MAX_BATCHES = int(os.environ.get("OMS_RETENTION_MAX_BATCHES", "200"))
