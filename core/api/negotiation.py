"""Content negotiation with a shortcut for the common case.

Most API clients send no ``Accept`` header (or ``*/*``) and no ``?format=``; DRF's
negotiation then always picks the first renderer with its own media type, after
parsing and ranking the header on every request. This answers that case directly
and leaves every other request to DRF.
"""

from collections.abc import Iterable

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class ApiContentNegotiation(DefaultContentNegotiation):
    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        accept = request.META.get("HTTP_ACCEPT", "*/*")
        if (
            accept == "*/*"
            and format_suffix is None
            and self.settings.URL_FORMAT_OVERRIDE not in request.GET
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
