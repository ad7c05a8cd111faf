from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

public = {"permission_classes": [AllowAny], "authentication_classes": []}

# The docs page is Swagger UI, loaded from its CDN. Its start-up script is served apart
# (the split view), so scripts stay free of 'unsafe-inline'; Swagger UI styles its
# elements inline, which this page alone allows.
SWAGGER_UI_ORIGIN = "/".join(str(spectacular_settings.SWAGGER_UI_DIST).split("/")[:3])
docs_view = csp_update(
    {
        "script-src": [SWAGGER_UI_ORIGIN],
        "style-src": [SWAGGER_UI_ORIGIN, UNSAFE_INLINE],
        "img-src": [SELF, SWAGGER_UI_ORIGIN, "data:"],
    }
)(SpectacularSwaggerSplitView.as_view(url_name="api-schema", **public))

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(**public), name="api-schema"),
    path("docs/", docs_view, name="api-docs"),
    path("v1/", include("orders.api.urls")),
    path("", include("fulfillment.api.urls")),
    path("", include("billing.api.urls")),
    path("", include("returns.api.urls")),
    path("", include("webhooks.api.urls")),
    path("", include("planning.urls")),
]
