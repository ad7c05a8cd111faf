from django.contrib import admin
from django.urls import include, path

from core import preferences
from oms import health, metrics
from webhooks import receiver

admin.site.site_header = "OMS back office"
admin.site.site_title = "OMS"
admin.site.index_title = "Order management"

urlpatterns = [
    path("healthz", health.liveness, name="healthz"),
    path("readyz", health.readiness, name="readyz"),
    # Prometheus; a bearer token or an allowed network (oms.metrics).
    path("metrics", metrics.metrics_view, name="metrics"),
    path(
        "admin/preferences/",
        admin.site.admin_view(preferences.preferences_view),
        name="staff_preferences",
    ),
    path("admin/", admin.site.urls),
    path("api/", include("oms.api.urls")),
    path("orders/status/", include("selfservice.urls")),
    # Answers 404 unless DEBUG or OMS_DEMO_WEBHOOK_RECEIVER is on (webhooks.receiver).
    path("demo/webhook-receiver/", receiver.receive, name="demo-webhook-receiver"),
]

# Under /api/ these answer problem+json; elsewhere Django's own pages.
handler400 = "core.api.errors.bad_request"
handler404 = "core.api.errors.page_not_found"
handler500 = "core.api.errors.server_error"
