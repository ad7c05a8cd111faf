"""Reusable reads of fulfillment, with what they need joined or prefetched."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from orders.models import Order
from orders.selectors import list_company_orders

from .models import FulfillmentOrder, FulfillmentOrderLine, RoutingDecision, Shipment, TrackingEvent


def list_company_order_resources(company_id: int | None) -> QuerySet[Order]:
    """A company's orders (``None``: the storefront's B2C web orders) with everything the
    API's order resource shows, shipments and their tracking included, in a fixed number
    of queries."""
    return list_company_orders(company_id).prefetch_related(
        Prefetch(
            "shipments",
            queryset=Shipment.objects.select_related("carrier")
            .prefetch_related("events", "lines__fulfillment_line__order_line")
            .order_by("id"),
        )
    )


def list_order_fulfillment_orders(order: Order, *, limit: int) -> list[FulfillmentOrder]:
    """An order's newest ``limit`` fulfillment orders with their location and lines (two
    queries, whatever the counts)."""
    return list(
        FulfillmentOrder.objects.filter(order=order)
        .select_related("location")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=FulfillmentOrderLine.objects.select_related("order_line").order_by("id"),
            )
        )
        .order_by("-id")[:limit]
    )


def list_order_shipments(order: Order, *, limit: int, events_per_shipment: int) -> list[Shipment]:
    """An order's newest ``limit`` shipments with their carrier and fulfillment order; each
    has ``recent_events``, its latest ``events_per_shipment`` tracking events, newest
    first (two queries, whatever the counts)."""
    return list(
        Shipment.objects.filter(order=order)
        .select_related("carrier", "fulfillment_order")
        .prefetch_related(
            Prefetch(
                "events",
                queryset=TrackingEvent.objects.order_by("-occurred_at", "-id")[
                    :events_per_shipment
                ],
                to_attr="recent_events",
            )
        )
        .order_by("-id")[:limit]
    )


def list_routing_decisions(order: Order, *, limit: int) -> list[RoutingDecision]:
    """An order's latest ``limit`` routing decisions, newest first (one query)."""
    return list(RoutingDecision.objects.filter(order=order).order_by("-id")[:limit])
