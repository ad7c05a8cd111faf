from django.urls import path

from .api import purchase_orders

urlpatterns = [
    path(
        "v1/purchase-orders/",
        purchase_orders.PurchaseOrderListCreateView.as_view(),
        name="api-purchase-orders",
    ),
    path(
        "v1/purchase-orders/<str:number>/",
        purchase_orders.PurchaseOrderDetailView.as_view(),
        name="api-purchase-order-detail",
    ),
    path(
        "v1/purchase-orders/<str:number>/receipts/",
        purchase_orders.PurchaseOrderReceiptView.as_view(),
        name="api-purchase-order-receipts",
    ),
]
