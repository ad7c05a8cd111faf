from django.urls import path

from . import catalog, views

urlpatterns = [
    path("products/", catalog.ProductListView.as_view(), name="api-products"),
    path("availability/", catalog.AvailabilityView.as_view(), name="api-availability"),
    path("orders/", views.OrderListCreateView.as_view(), name="api-orders"),
    path("orders/<str:number>/", views.OrderDetailView.as_view(), name="api-order-detail"),
    path("orders/<str:number>/cancel/", views.OrderCancelView.as_view(), name="api-order-cancel"),
    path(
        "orders/<str:number>/change-address/",
        views.OrderChangeAddressView.as_view(),
        name="api-order-change-address",
    ),
    path(
        "orders/<str:number>/change-shipping-method/",
        views.OrderChangeShippingMethodView.as_view(),
        name="api-order-change-shipping-method",
    ),
]
