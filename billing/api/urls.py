"""The billing endpoints (``/api/v1/...``), composed into the API by ``oms.api.urls``."""

from django.urls import path

from . import refunds, views

urlpatterns = [
    path(
        "v1/orders/<str:number>/refunds/",
        refunds.OrderRefundsView.as_view(),
        name="api-order-refunds",
    ),
    path("v1/invoices/", views.InvoiceListView.as_view(), name="api-invoices"),
    path("v1/invoices/<str:number>/", views.InvoiceDetailView.as_view(), name="api-invoice-detail"),
    path("v1/invoices/<str:number>/pdf/", views.InvoicePdfView.as_view(), name="api-invoice-pdf"),
    path("v1/credit-notes/", views.CreditNoteListView.as_view(), name="api-credit-notes"),
    path(
        "v1/credit-notes/<str:number>/",
        views.CreditNoteDetailView.as_view(),
        name="api-credit-note-detail",
    ),
    path(
        "v1/credit-notes/<str:number>/pdf/",
        views.CreditNotePdfView.as_view(),
        name="api-credit-note-pdf",
    ),
]
