from django.urls import path

from . import orders, views

urlpatterns = [
    path("v1/orders/", orders.OrderListCreateView.as_view(), name="api-orders"),
    # Before the order's own URL, which would take "batch" for an order number.
    path("v1/orders/batch/", orders.OrderBatchView.as_view(), name="api-orders-batch"),
    path("v1/orders/<str:number>/", orders.OrderDetailView.as_view(), name="api-order-detail"),
    path(
        "v1/orders/<str:number>/cancel/",
        orders.OrderCancelView.as_view(),
        name="api-order-cancel",
    ),
    path(
        "v1/orders/<str:number>/change-address/",
        orders.OrderChangeAddressView.as_view(),
        name="api-order-change-address",
    ),
    path(
        "v1/orders/<str:number>/change-shipping-method/",
        orders.OrderChangeShippingMethodView.as_view(),
        name="api-order-change-shipping-method",
    ),
    path(
        "v1/orders/<str:number>/shipments/",
        views.OrderShipmentsView.as_view(),
        name="api-order-shipments",
    ),
    path(
        "v1/orders/<str:number>/approve/",
        views.OrderApproveView.as_view(),
        name="api-order-approve",
    ),
    path(
        "v1/orders/<str:number>/reject/", views.OrderRejectView.as_view(), name="api-order-reject"
    ),
    path(
        "v1/fulfillment-orders/",
        views.VendorFulfillmentListView.as_view(),
        name="api-vendor-fulfillment-orders",
    ),
    path(
        "v1/fulfillment-orders/<str:number>/",
        views.VendorFulfillmentDetailView.as_view(),
        name="api-vendor-fulfillment-order",
    ),
    path(
        "v1/fulfillment-orders/<str:number>/accept/",
        views.VendorAcceptView.as_view(),
        name="api-vendor-accept",
    ),
    path(
        "v1/fulfillment-orders/<str:number>/reject/",
        views.VendorRejectView.as_view(),
        name="api-vendor-reject",
    ),
    path(
        "v1/fulfillment-orders/<str:number>/shipments/",
        views.VendorShipView.as_view(),
        name="api-vendor-ship",
    ),
    # The carriers' tracking webhook ("carriers/<code>/events/", views.CarrierEventView)
    # is routed by returns.api.urls, whose view extends it with return parcels' scans.
]
