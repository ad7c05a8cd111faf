from django.contrib import admin
from django.urls import include, path

from oms import health

admin.site.site_header = "OMS back office"
admin.site.site_title = "OMS"
admin.site.index_title = "Order management"

urlpatterns = [
    path("healthz", health.liveness, name="healthz"),
    path("readyz", health.readiness, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/", include("oms.api.urls")),
    path("orders/status/", include("selfservice.urls")),
]

# Under /api/ these answer problem+json; elsewhere Django's own pages.
handler400 = "core.api.errors.bad_request"
handler404 = "core.api.errors.page_not_found"
handler500 = "core.api.errors.server_error"
