"""Test settings: PostgreSQL by default, eager tasks, in-memory email."""

import os

from .base import *  # noqa: F403
from .base import database_config, env_bool

SECRET_KEY = "test-secret-key"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["*"]
DATABASES = {
    "default": database_config(
        os.environ.get("DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/postgres"),
        conn_max_age=0,
    )
}
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
OMS_SMS_BACKEND = "core.sms.backends.MemoryBackend"
# Unit tests run tasks inline. The integration tests start a real worker process with
# these two overridden from the environment, pointing at a real Redis.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", True)
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "memory://")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING = {"version": 1, "disable_existing_loggers": False}
# Never the deployment's Redis: tests clear the caches. The throttle tests that need a
# shared cache point it at REDIS_TEST_URL themselves.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "throttle": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "throttle",
    },
}
OMS_AUTO_ROUTE = env_bool("OMS_AUTO_ROUTE", False)
# Webhooks may go to http and local receivers (the demo receiver, tests).
OMS_WEBHOOKS_ALLOW_PRIVATE_URLS = env_bool("OMS_WEBHOOKS_ALLOW_PRIVATE_URLS", True)
