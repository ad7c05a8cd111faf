from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

public = {"permission_classes": [AllowAny], "authentication_classes": []}

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(**public), name="api-schema"),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema", **public),
        name="api-docs",
    ),
    path("v1/", include("inventory.api.urls")),
    path("v1/", include("orders.api.urls")),
    path("", include("fulfillment.api.urls")),
]
