"""The catalog endpoints of orders. The order resource (``v1/orders/...``) is
fulfillment's (``fulfillment.api.urls``): it shows shipments and moves fulfillment orders."""

from django.urls import path

from . import catalog, quotes

urlpatterns = [
    path("products/", catalog.ProductListView.as_view(), name="api-products"),
    path("availability/", catalog.AvailabilityView.as_view(), name="api-availability"),
    path("quotes/<str:number>/accept/", quotes.QuoteAcceptView.as_view(), name="api-quote-accept"),
]
