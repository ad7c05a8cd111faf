from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

from .authentication import ApiClient


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Requests per API key. Counts live in each process's local memory so that the
    API keeps serving when Redis is down; the limit is per worker process."""

    scope = "api_key"

    def get_rate(self) -> str:
        return str(settings.OMS_API_THROTTLE_RATE)

    def get_cache_key(self, request: "Request", view: "APIView") -> str | None:
        if not isinstance(request.user, ApiClient):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.api_key.pk}
