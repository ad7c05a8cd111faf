"""The negotiation shortcut picks what DRF's own negotiation picks, and leaves other
requests to it."""

import pytest
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from core.api.negotiation import ApiContentNegotiation

RENDERERS = [JSONRenderer(), BrowsableAPIRenderer()]


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/api/v1/orders/", {}),
        ("/api/v1/orders/", {"HTTP_ACCEPT": "*/*"}),
        ("/api/v1/orders/", {"HTTP_ACCEPT": "text/html"}),
        ("/api/v1/orders/", {"HTTP_ACCEPT": "application/json; indent=2"}),
        ("/api/v1/orders/?format=api", {}),
    ],
)
def test_shortcut_agrees_with_drf(path, headers):
    request = Request(APIRequestFactory().get(path, **headers))

    ours = ApiContentNegotiation().select_renderer(request, RENDERERS)
    theirs = DefaultContentNegotiation().select_renderer(request, RENDERERS)

    assert (type(ours[0]), ours[1]) == (type(theirs[0]), theirs[1])


def test_unacceptable_media_types_still_get_406(api):
    response = api.get("/api/v1/orders/", HTTP_ACCEPT="text/csv")

    assert response.status_code == 406
