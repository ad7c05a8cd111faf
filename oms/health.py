"""Health endpoints for load balancers and orchestrators.

``/healthz`` says the process answers. ``/readyz`` says whether it can serve: 503 with
Retry-After while the database cannot be reached (restart, fail-over), so that a load
balancer sends requests elsewhere until it is back. A broker that is down leaves the
service ready but "degraded": orders are still accepted and their side effects wait in
the outbox until it returns.
"""

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

# How long a probe that found the service not ready should wait before asking again.
RETRY_AFTER_SECONDS = 5


def liveness(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readiness(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {exc.__class__.__name__}"
    if settings.REDIS_URL:
        try:
            redis.Redis.from_url(
                settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1
            ).ping()
            checks["broker"] = "ok"
        except redis.RedisError as exc:
            checks["broker"] = f"error: {exc.__class__.__name__}"
    else:
        checks["broker"] = "eager (no broker configured)"
    ready = checks["database"] == "ok"
    healthy = all(not value.startswith("error") for value in checks.values())
    response = JsonResponse(
        {
            "status": "ok" if healthy else "degraded" if ready else "unavailable",
            "checks": checks,
        },
        status=200 if ready else 503,
    )
    if not ready:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
