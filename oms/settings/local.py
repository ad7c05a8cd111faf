"""Developer and demo defaults: SQLite, eager tasks, console email, no TLS."""

import os

from .base import *  # noqa: F403
from .base import BASE_DIR, LOGGING, env_bool

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", "local-demo-secret-key-not-for-production")
ALLOWED_HOSTS = ["*"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
# Readable log lines in a terminal.
OMS_LOG_FORMAT = os.environ.get("OMS_LOG_FORMAT", "text")
LOGGING["handlers"]["console"]["formatter"] = "text" if OMS_LOG_FORMAT == "text" else "json"
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = BASE_DIR / "var" / "mail"
OMS_SMS_BACKEND = os.environ.get("OMS_SMS_BACKEND", "core.sms.backends.FileBackend")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Webhooks may go to http and local receivers (the demo receiver, tests).
OMS_WEBHOOKS_ALLOW_PRIVATE_URLS = env_bool("OMS_WEBHOOKS_ALLOW_PRIVATE_URLS", True)
