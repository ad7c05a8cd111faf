"""The returns endpoints (``/api/v1/...``), composed into the API by ``oms.api.urls``."""

from django.urls import path

from . import views

urlpatterns = [
    path(
        "v1/orders/<str:number>/returns/",
        views.OrderReturnsView.as_view(),
        name="api-order-returns",
    ),
    path(
        "v1/orders/<str:number>/returns/drop-off-stores/",
        views.DropOffStoresView.as_view(),
        name="api-order-return-drop-off-stores",
    ),
    path("v1/returns/", views.ReturnListView.as_view(), name="api-returns"),
    path("v1/returns/<str:rma>/", views.ReturnDetailView.as_view(), name="api-return-detail"),
    path(
        "v1/returns/<str:rma>/label/",
        views.ReturnLabelView.as_view(),
        name="api-return-label",
    ),
    # Fulfillment's tracking webhook, extended with return parcels' scans.
    path(
        "carriers/<str:code>/events/",
        views.CarrierEventView.as_view(),
        name="api-carrier-events",
    ),
]
