"""The webhook endpoints (``/api/v1/webhooks/...``), composed into the API by
``oms.api.urls``."""

from django.urls import path

from . import views

urlpatterns = [
    path("v1/webhooks/", views.WebhookListView.as_view(), name="api-webhooks"),
    path("v1/webhooks/<int:pk>/", views.WebhookDetailView.as_view(), name="api-webhook-detail"),
    path(
        "v1/webhooks/<int:pk>/rotate-secret/",
        views.RotateSecretView.as_view(),
        name="api-webhook-rotate-secret",
    ),
    path(
        "v1/webhooks/<int:pk>/deliveries/",
        views.DeliveryListView.as_view(),
        name="api-webhook-deliveries",
    ),
    path("v1/webhooks/<int:pk>/replay/", views.ReplayView.as_view(), name="api-webhook-replay"),
]
