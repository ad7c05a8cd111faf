"""The admin index as a dashboard: the filters form, what each role sees, and the figures
and charts of the selectors (``analytics.selectors``) put in the template's context.

Managers (and superusers) see every panel; an agent the holds, backorders, cancellations
and returns, with links to the work queues; the warehouse the fulfillment panels of its
locations; finance the receivables and the sales; a sales rep the sales; risk the holds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from core.money import format_money
from inventory.models import Location, StaffLocation
from orders.models import Channel

from . import selectors
from .selectors import Filters

DEFAULT_DAYS = 30
MAX_DAYS = 366

SALES = "sales"
FULFILLMENT = "fulfillment"
SERVICE = "service"  # holds, backorders, cancellations and returns
HOLDS = "holds"
RECEIVABLES = "receivables"
QUEUES = "queues"
ALL_PANELS = frozenset({SALES, FULFILLMENT, SERVICE, HOLDS, RECEIVABLES})

ROLE_PANELS: dict[str, frozenset[str]] = {
    "manager": ALL_PANELS,
    "agent": frozenset({SERVICE, HOLDS, QUEUES}),
    "warehouse": frozenset({FULFILLMENT, QUEUES}),
    "finance": frozenset({SALES, RECEIVABLES}),
    "sales_rep": frozenset({SALES}),
    "risk": frozenset({HOLDS}),
}

# Admin pages the queue links point at, when they are installed: (label, URL name, query).
QUEUE_LINKS: tuple[tuple[str, str, str], ...] = (
    ("Work queues", "admin:core_workqueue_changelist", ""),
    ("Open holds", "admin:orders_orderhold_changelist", "released_at__isnull=True"),
    ("Fulfillment orders", "admin:fulfillment_fulfillmentorder_changelist", ""),
    ("Orders", "admin:orders_order_changelist", ""),
)


def panels_for(user: AbstractBaseUser | AnonymousUser) -> frozenset[str]:
    """The panels a staff user's roles (group names) show; a superuser is a manager."""
    if not user.is_authenticated:
        return frozenset()
    if getattr(user, "is_superuser", False):
        return ALL_PANELS
    groups = user.groups.values_list("name", flat=True)  # type: ignore[attr-defined]
    shown: set[str] = set()
    for name in groups:
        shown |= ROLE_PANELS.get(name, frozenset())
    return frozenset(shown)


class DashboardFilterForm(forms.Form):
    start_date = forms.DateField(
        label="From", widget=forms.DateInput(attrs={"type": "date"}), required=False
    )
    end_date = forms.DateField(
        label="To", widget=forms.DateInput(attrs={"type": "date"}), required=False
    )
    channel = forms.ChoiceField(choices=[("", "All channels"), *Channel.choices], required=False)
    location = forms.ModelChoiceField(
        queryset=Location.objects.none(), required=False, empty_label="All locations"
    )

    def __init__(
        self,
        *args: Any,
        locations: list[Location],
        required_location: Location | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        location = self.fields["location"]
        if isinstance(location, forms.ModelChoiceField):
            location.queryset = Location.objects.filter(pk__in=[loc.pk for loc in locations])
            # The choices come from the list already read: no second query to render them.
            # A user assigned to locations sees theirs only, one at a time.
            everywhere = [] if required_location else [("", "All locations")]
            location.choices = [*everywhere, *((loc.pk, str(loc)) for loc in locations)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        today = timezone.localdate()
        end = data.get("end_date") or today
        start = data.get("start_date") or end - dt.timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise forms.ValidationError(
                "The start date is after the end date: pick a start on or before the end."
            )
        if (end - start).days + 1 > MAX_DAYS:
            raise forms.ValidationError(
                f"Pick at most {MAX_DAYS} days; the range asked for is "
                f"{(end - start).days + 1} days."
            )
        data["start_date"], data["end_date"] = start, end
        return data


def default_filters() -> Filters:
    today = timezone.localdate()
    return Filters(start_date=today - dt.timedelta(days=DEFAULT_DAYS - 1), end_date=today)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _hours(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 48:
        return f"{value:.1f} h"
    return f"{value / 24:.1f} days"


def _chart(
    chart_id: str,
    title: str,
    heading: str,
    labels: list[str],
    datasets: list[tuple[str, list[float]]],
    *,
    stacked: bool = False,
    money: bool = False,
    horizontal: bool = False,
) -> dict[str, Any]:
    """One chart: what ``static/oms/dashboard.js`` draws, and the table beside it
    (``heading`` names its first column, the chart's labels)."""
    return {
        "id": chart_id,
        "title": title,
        "heading": heading,
        "type": "bar",
        "labels": labels,
        "datasets": [{"label": label, "data": data} for label, data in datasets],
        "stacked": stacked,
        "money": money,
        "horizontal": horizontal,
    }


def _locations_for(user: Any) -> tuple[list[Location], Location | None]:
    """The locations a user may filter on, and the one their dashboard opens on (a
    warehouse user with assigned locations opens on the first of theirs)."""
    locations = list(Location.objects.order_by("code"))
    if getattr(user, "is_superuser", False) or not user.is_authenticated:
        return locations, None
    mine = set(StaffLocation.objects.filter(user=user).values_list("location_id", flat=True))
    if not mine:
        return locations, None
    own = [loc for loc in locations if loc.pk in mine]
    return own, own[0]


def _filters_and_form(
    request: HttpRequest, locations: list[Location], home: Location | None
) -> tuple[Filters, DashboardFilterForm]:
    """The filters asked for, or the defaults with the form's message when they are
    wrong (the page still shows, on the default range)."""
    defaults = default_filters()
    home_id = home.pk if home else None
    form = DashboardFilterForm(request.GET or None, locations=locations, required_location=home)
    if not form.is_bound:
        initial = {"start_date": defaults.start_date, "end_date": defaults.end_date}
        form = DashboardFilterForm(
            initial={**initial, "location": home_id},
            locations=locations,
            required_location=home,
        )
        return Filters(defaults.start_date, defaults.end_date, location_id=home_id), form
    if not form.is_valid():
        return Filters(defaults.start_date, defaults.end_date, location_id=home_id), form
    data = form.cleaned_data
    location = data.get("location")
    return (
        Filters(
            start_date=data["start_date"],
            end_date=data["end_date"],
            channel=data.get("channel") or "",
            location_id=location.pk if location else home_id,
        ),
        form,
    )


@dataclass
class Board:
    """What the panels add up to: figures (label, value, how it is measured), charts
    and tables."""

    filters: Filters
    figures: list[tuple[str, str, str]] = field(default_factory=list)
    charts: list[dict[str, Any]] = field(default_factory=list)
    tables: dict[str, Any] = field(default_factory=dict)


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    """The dashboard's part of the admin index's context."""
    panels = panels_for(request.user)
    if not panels:
        return {"dashboard": None}
    locations, home = _locations_for(request.user)
    filters, form = _filters_and_form(request, locations, home)
    board = Board(filters)
    summary = None
    # The range's order totals, read once for the sales, fill and return figures.
    totals = selectors.order_totals(filters) if panels & {SALES, SERVICE, FULFILLMENT} else []
    if SALES in panels or SERVICE in panels:
        days = selectors.sales_by_day(filters, totals)
        summary = selectors.sales_summary(days, selectors.cancelled_orders(filters, totals))
        if SALES in panels:
            _sales_panel(board, days, summary)
    if FULFILLMENT in panels:
        _fulfillment_panel(board, totals)
    if FULFILLMENT in panels or SERVICE in panels:
        waiting = selectors.backorders(filters)
        board.figures.append(
            (
                "Backorders",
                f"{waiting.units:,} units",
                f"On {waiting.lines:,} lines of {waiting.orders:,} open orders, now",
            )
        )
    if SERVICE in panels and summary is not None:
        _service_panel(board, summary, totals)
    if HOLDS in panels:
        holds = selectors.holds_waiting()
        board.charts.append(
            _chart(
                "holds-by-kind",
                "Holds waiting by kind (now)",
                "Kind of hold",
                [label for _, label, _ in holds],
                [("Open holds", [count for *_, count in holds])],
                horizontal=True,
            )
        )
    if RECEIVABLES in panels:
        board.tables["receivables"] = [
            {
                "currency": row.currency,
                "buckets": [
                    (label, format_money(amount, row.currency)) for label, amount in row.buckets
                ],
                "total": format_money(row.total, row.currency),
            }
            for row in selectors.receivables(timezone.localdate())
        ]
    for chart in board.charts:
        chart["rows"] = _rows(chart)
    return {
        "dashboard": {
            "form": form,
            "filters": filters,
            "figures": board.figures,
            "charts": board.charts,
            "chart_data": [
                {
                    key: value
                    for key, value in chart.items()
                    if key not in ("rows", "title", "heading")
                }
                for chart in board.charts
            ],
            "tables": board.tables,
            "queues": _queue_links() if QUEUES in panels else [],
            "panels": sorted(panels),
        }
    }


def _sales_panel(
    board: Board, days: list[selectors.DaySales], summary: selectors.SalesSummary
) -> None:
    filters = board.filters
    channel_labels = dict(Channel.choices)
    day_labels = [day.isoformat() for day in filters.days]
    channels = sorted({row.channel for row in days})
    by_day = {(row.day, row.channel): row for row in days}

    def series(value: str) -> list[tuple[str, list[float]]]:
        return [
            (
                channel_labels.get(channel, channel),
                [
                    getattr(by_day[(day, channel)], value) if (day, channel) in by_day else 0
                    for day in filters.days
                ],
            )
            for channel in channels
        ]

    board.charts.append(
        _chart(
            "orders-per-day",
            "Orders per day by channel",
            "Day",
            day_labels,
            series("orders"),
            stacked=True,
        )
    )
    revenue = [(label, [float(v) for v in values]) for label, values in series("revenue")]
    board.charts.append(
        _chart(
            "revenue-per-day",
            "Revenue per day by channel",
            "Day",
            day_labels,
            revenue,
            stacked=True,
            money=True,
        )
    )
    aov = summary.average_order_value
    board.figures += [
        ("Orders placed", f"{summary.orders:,}", "In the range, cancelled ones included"),
        (
            "Revenue",
            format_money(summary.revenue, _currency()),
            "Grand totals of the orders not cancelled",
        ),
        (
            "Average order value",
            format_money(aov, _currency()) if aov is not None else "–",
            "Revenue ÷ orders not cancelled",
        ),
    ]


def _fulfillment_panel(board: Board, totals: list[selectors.DayTotals]) -> None:
    fill = selectors.fill_rate(board.filters, totals)
    performance = selectors.shipping_performance(board.filters)
    on_time_note = (
        f"{performance.on_time:,} of {performance.shipped:,} fulfillment orders shipped "
        "by their ship-by date"
    )
    board.figures += [
        (
            "Fill rate",
            _percent(fill.rate),
            f"{fill.complete:,} of {fill.lines:,} lines shipped complete",
        ),
        ("On-time shipment rate", _percent(performance.on_time_rate), on_time_note),
        (
            "Placement to shipment, median",
            _hours(performance.p50_hours),
            "Half the fulfillment orders shipped faster (p50)",
        ),
        ("Placement to shipment, p90", _hours(performance.p90_hours), "Nine in ten shipped faster"),
    ]
    if performance.by_location:
        board.charts.append(
            _chart(
                "on-time-by-location",
                "On-time shipment rate by location (%)",
                "Location",
                list(performance.by_location),
                [
                    (
                        "On time (%)",
                        [
                            round(ok / count * 100, 1)
                            for count, ok in performance.by_location.values()
                        ],
                    )
                ],
            )
        )
    board.tables["low_stock"] = [
        {
            "sku": cover.sku,
            "name": cover.name,
            "available": cover.available,
            "daily_demand": f"{cover.daily_demand:.1f}",
            "days_of_cover": f"{cover.days_of_cover or 0:.1f}",
        }
        for cover in selectors.low_stock(board.filters)
    ]


def _service_panel(
    board: Board, summary: selectors.SalesSummary, totals: list[selectors.DayTotals]
) -> None:
    returned = selectors.return_rate(board.filters, totals)
    cancelled_note = f"{summary.cancelled:,} of {summary.orders:,} orders cancelled whole"
    returned_note = (
        f"{returned.returned_units:,} of {returned.shipped_units:,} units shipped came back"
    )
    board.figures += [
        ("Cancellation rate", _percent(summary.cancellation_rate), cancelled_note),
        ("Return rate", _percent(returned.rate), returned_note),
    ]
    reasons = selectors.top_cancellation_reasons(board.filters)
    if reasons:
        board.charts.append(
            _chart(
                "cancellation-reasons",
                "Top cancellation reasons (orders)",
                "Reason",
                [reason for reason, _ in reasons],
                [("Orders", [count for _, count in reasons])],
                horizontal=True,
            )
        )
    if returned.reasons:
        board.charts.append(
            _chart(
                "return-reasons",
                "Top return reasons (units)",
                "Reason",
                [reason for reason, _ in returned.reasons],
                [("Units", [units for _, units in returned.reasons])],
                horizontal=True,
            )
        )


def _rows(chart: dict[str, Any]) -> list[list[str]]:
    """The chart's numbers as table rows: one per label, one cell per dataset."""
    rows = []
    for index, label in enumerate(chart["labels"]):
        cells = []
        for dataset in chart["datasets"]:
            value = dataset["data"][index]
            if chart["money"]:
                cells.append(format_money(Decimal(str(value)), _currency()))
            else:
                cells.append(f"{value:,}" if isinstance(value, int) else f"{value:,.1f}")
        rows.append([label, *cells])
    return rows


def _currency() -> str:
    return str(settings.OMS_DEFAULT_CURRENCY)


def _queue_links() -> list[tuple[str, str]]:
    links = []
    for label, name, query in QUEUE_LINKS:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        links.append((label, f"{url}?{query}" if query else url))
    return links
