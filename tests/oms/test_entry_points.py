"""Production entry points (the WSGI application, Celery) start on the production
settings unless told otherwise; only manage.py defaults to the developer settings.
Health probes answer over plain HTTP where everything else is redirected to HTTPS."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client, override_settings

SHOW_SETTINGS = "from django.conf import settings; print(settings.SETTINGS_MODULE, settings.DEBUG)"


def run_python(*args: str) -> str:
    """The last line a fresh interpreter prints, with no DJANGO_SETTINGS_MODULE set."""
    hidden = {"DJANGO_SETTINGS_MODULE", "DEBUG"}
    env = {key: value for key, value in os.environ.items() if key not in hidden}
    env["SECRET_KEY"] = "entry-point-test"
    result = subprocess.run(
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "entry_point",
    ["import oms.wsgi", "import oms.celery; import django; django.setup()"],
)
def test_production_entry_points_default_to_the_production_settings(entry_point):
    assert run_python("-c", f"{entry_point}; {SHOW_SETTINGS}") == "oms.settings.base False"


def test_manage_py_defaults_to_the_developer_settings():
    assert run_python("manage.py", "shell", "-c", SHOW_SETTINGS) == "oms.settings.local True"


def test_the_demo_server_script_runs_on_the_local_settings():
    script = (settings.BASE_DIR / "scripts" / "serve.sh").read_text()

    assert "export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-oms.settings.local}" in script


@pytest.mark.django_db
@override_settings(SECURE_SSL_REDIRECT=True)
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_probes_answer_over_plain_http(path):
    response = Client().get(path)

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@override_settings(SECURE_SSL_REDIRECT=True)
@pytest.mark.parametrize("path", ["/admin/", "/api/v1/orders/", "/healthz/", "/readyz.json"])
def test_everything_else_is_redirected_to_https(path):
    response = Client().get(path)

    assert response.status_code == 301
    assert response["Location"].startswith("https://")
