from django.urls import path

from . import views

urlpatterns = [
    path("orders/", views.OrderListCreateView.as_view(), name="api-orders"),
    path("orders/<str:number>/", views.OrderDetailView.as_view(), name="api-order-detail"),
    path("orders/<str:number>/cancel/", views.OrderCancelView.as_view(), name="api-order-cancel"),
]
