"""Operator console for products, locations and stock.

Stock counters are never edited here: every change goes through a form of
``inventory.forms`` that calls one service, under its own permission.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from simple_history.admin import SimpleHistoryAdmin

from customers.admin import PostalAddressForm
from oms.core.actors import Actor
from oms.core.admin import (
    AppendOnlyAdminMixin,
    ConfirmForm,
    OperatorAdminMixin,
    RowsOutcome,
    ServicePagesMixin,
    admin_changelist_url,
    adopt_saved,
    count_of,
    render_table,
    run_action_with_form,
    run_on_rows,
    short_datetime,
)
from oms.core.errors import DomainError

from . import services
from .forms import STOCK_OPERATIONS, TimeZoneField
from .models import (
    Location,
    NetworkReservation,
    NetworkStock,
    Product,
    StockLevel,
    StockMovement,
    StockReservation,
)
from .selectors import get_network_availability

# Ledger rows shown on a stock level's page; the full ledger is one click away.
LEDGER_ROWS = 50


def _actor(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user)


# --- locations ------------------------------------------------------------------------


class LocationAdminForm(PostalAddressForm):
    time_zone = TimeZoneField()

    class Meta:
        model = Location
        fields = (
            "code",
            "name",
            "kind",
            "is_active",
            "ships",
            "pickup",
            "customization",
            "priority",
            "daily_capacity",
            "cost_per_shipment",
            "contact_email",
            "time_zone",
            "line1",
            "line2",
            "city",
            "region",
            "postal_code",
            "country",
            "phone",
            "latitude",
            "longitude",
        )

    def clean_code(self) -> str:
        # Codes are stored upper-case; normalising here lets the unique check see
        # "abc" and "ABC" as the same code before the service does.
        return str(self.cleaned_data["code"]).strip().upper()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if "time_zone" in self.errors or any(
            name in self.errors for name in ("country", "postal_code")
        ):
            return cleaned
        # A blank zone is the one of the location's ZIP code, on a new location (the
        # service decides) and on an edited one alike.
        try:
            cleaned["time_zone"] = services.location_time_zone(
                cleaned.get("time_zone") or "",
                country=str(cleaned.get("country") or ""),
                postal_code=str(cleaned.get("postal_code") or ""),
            )
        except DomainError as exc:
            self.add_error("time_zone", exc.message)
        return cleaned


@admin.register(Location)
class LocationAdmin(OperatorAdminMixin, SimpleHistoryAdmin):
    form = LocationAdminForm
    list_display = (
        "code",
        "name",
        "kind",
        "city",
        "country",
        "ships",
        "pickup",
        "customization",
        "priority",
        "daily_capacity",
        "is_active",
    )
    list_filter = ("kind", "is_active", "ships", "pickup", "customization")
    search_fields = ("code", "name", "city", "postal_code")
    fieldsets = (
        (None, {"fields": ("code", "name", "kind", "is_active", "stock_link")}),
        (
            "Capabilities",
            {
                "fields": (
                    ("ships", "pickup", "customization"),
                    "priority",
                    "daily_capacity",
                    "cost_per_shipment",
                    "contact_email",
                    "time_zone",
                )
            },
        ),
        (
            "Address",
            {
                "fields": (
                    "line1",
                    "line2",
                    "city",
                    "region",
                    "postal_code",
                    "country",
                    "phone",
                    ("latitude", "longitude"),
                ),
                "description": "US ZIP codes fill the coordinates when they are left empty.",
            },
        ),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )
    actions = ("close_locations", "open_locations")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # Opening or closing moves the location's stock in or out of the network
        # totals, so it is an action calling ``set_location_active``, not a checkbox.
        readonly = ("is_active", "stock_link", "created_at", "updated_at")
        return ("code", *readonly) if obj is not None else readonly

    @admin.display(description="Stock")
    def stock_link(self, obj: Location) -> str:
        if obj.pk is None:
            return "-"
        url = admin_changelist_url(StockLevel, urlencode({"location__id__exact": obj.pk}))
        return format_html('<a href="{}">Stock levels at {}</a>', url, obj.code)

    def save_model(self, request: HttpRequest, obj: Location, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        created = services.create_location(
            code=data["code"],
            name=data["name"],
            kind=data["kind"],
            address={
                f: data.get(f)
                for f in (
                    "line1",
                    "line2",
                    "city",
                    "region",
                    "postal_code",
                    "country",
                    "phone",
                    "latitude",
                    "longitude",
                )
            },
            ships=data["ships"],
            pickup=data["pickup"],
            customization=data["customization"],
            priority=data["priority"],
            daily_capacity=data["daily_capacity"],
            cost_per_shipment=data["cost_per_shipment"],
            contact_email=data["contact_email"],
            time_zone=data["time_zone"],
        )
        adopt_saved(obj, created)

    def has_set_active_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("inventory.change_location")

    def _set_active(
        self, request: HttpRequest, queryset: QuerySet[Location], *, active: bool
    ) -> HttpResponse | None:
        verb, done = ("Open", "opened") if active else ("Close", "closed")
        actor = _actor(request)

        def set_active(location: Location) -> None:
            services.set_location_active(location=location, active=active, actor=actor)

        def apply(form: forms.Form) -> None:
            # Locations already in the wanted state need no call; each other one is
            # opened or closed in its own transaction.
            to_change = queryset.exclude(is_active=active).order_by("pk")
            run_on_rows(
                self,
                request,
                ((location, location.code) for location in to_change),
                set_active,
                done_message=lambda outcome: (
                    f"{done.capitalize()} {count_of(outcome.done, 'location')}."
                ),
                nothing_message=f"Every selected location was already {done}.",
            )

        return run_action_with_form(
            self,
            request,
            queryset,
            form_class=ConfirmForm,
            title=f"{verb} locations",
            submit_label=f"{verb} locations",
            apply=apply,
        )

    @admin.action(
        description="Close selected locations (their stock leaves network availability)",
        permissions=["set_active"],
    )
    def close_locations(
        self, request: HttpRequest, queryset: QuerySet[Location]
    ) -> HttpResponse | None:
        return self._set_active(request, queryset, active=False)

    @admin.action(description="Open selected locations", permissions=["set_active"])
    def open_locations(
        self, request: HttpRequest, queryset: QuerySet[Location]
    ) -> HttpResponse | None:
        return self._set_active(request, queryset, active=True)


# --- products -------------------------------------------------------------------------


class ProductAdminForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = (
            "sku",
            "name",
            "description",
            "is_active",
            "list_price",
            "currency",
            "weight_grams",
            "is_customizable",
            "customization_fields",
            "is_returnable",
            "allow_backorder",
            "dropship_vendor",
        )

    def clean_sku(self) -> str:
        return str(self.cleaned_data["sku"]).strip().upper()


@admin.register(Product)
class ProductAdmin(OperatorAdminMixin, SimpleHistoryAdmin):
    form = ProductAdminForm
    list_display = (
        "sku",
        "name",
        "list_price",
        "currency",
        "network_available",
        "network_committed",
        "network_atp",
        "is_active",
    )
    list_select_related = ("network_stock",)
    list_filter = ("is_active", "is_customizable", "is_returnable", "allow_backorder")
    search_fields = ("sku", "name")
    search_help_text = "Exact SKU, or part of the name."
    fieldsets = (
        (None, {"fields": ("sku", "name", "description", "is_active")}),
        ("Price", {"fields": ("list_price", "currency")}),
        (
            "Handling",
            {
                "fields": (
                    "weight_grams",
                    "is_customizable",
                    "customization_fields",
                    "is_returnable",
                    "allow_backorder",
                    "dropship_vendor",
                )
            },
        ),
        ("Availability", {"fields": ("network_availability",)}),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        readonly = ("network_availability", "created_at", "updated_at")
        return ("sku", *readonly) if obj is not None else readonly

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Product], search_term: str
    ) -> tuple[QuerySet[Product], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(sku=term.upper()) | Q(name__icontains=term)), False

    @staticmethod
    def _network(obj: Product) -> NetworkStock | None:
        try:
            return obj.network_stock
        except NetworkStock.DoesNotExist:
            return None

    @admin.display(description="Network available")
    def network_available(self, obj: Product) -> int | None:
        network = self._network(obj)
        return network.available if network else None

    @admin.display(description="Committed")
    def network_committed(self, obj: Product) -> int | None:
        network = self._network(obj)
        return network.committed if network else None

    @admin.display(description="ATP")
    def network_atp(self, obj: Product) -> int | None:
        network = self._network(obj)
        return network.available_to_promise if network else None

    @admin.display(description="Network availability")
    def network_availability(self, obj: Product) -> str:
        if obj.pk is None:
            return "-"
        found = get_network_availability([obj.sku])
        if not found:
            return "No stock recorded."
        sku = found[0]
        table = render_table(
            ("Location", "Name", "On hand", "Available to promise"),
            (
                (loc.location_code, loc.location_name, loc.on_hand, loc.available_to_promise)
                for loc in sku.locations
            ),
        )
        url = admin_changelist_url(StockLevel, urlencode({"product__id__exact": obj.pk}))
        return format_html(
            "<p><strong>{}</strong> available to promise across the network "
            '(<a href="{}">stock levels</a>).</p>{}',
            sku.available_to_promise,
            url,
            table,
        )

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        created = services.create_product(
            sku=data["sku"],
            name=data["name"],
            list_price=data["list_price"],
            currency=data["currency"],
            weight_grams=data["weight_grams"],
            description=data["description"],
            is_customizable=data["is_customizable"],
            customization_fields=data["customization_fields"],
            is_returnable=data["is_returnable"],
            allow_backorder=data["allow_backorder"],
            dropship_vendor=data["dropship_vendor"],
        )
        adopt_saved(obj, created)


# --- stock levels ---------------------------------------------------------------------


class StockStateFilter(admin.SimpleListFilter):
    title = "stock state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("nothing_to_promise", "Nothing to promise"),
            ("committed", "Has allocated or reserved units"),
            ("unsellable", "Has unsellable units"),
            ("incoming", "Has incoming units"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        match self.value():
            case "nothing_to_promise":
                return queryset.filter(
                    on_hand__lte=F("allocated") + F("reserved") + F("safety_stock")
                )
            case "committed":
                return queryset.filter(Q(allocated__gt=0) | Q(reserved__gt=0))
            case "unsellable":
                return queryset.filter(unsellable__gt=0)
            case "incoming":
                return queryset.filter(incoming__gt=0)
        return queryset


@admin.register(StockLevel)
class StockLevelAdmin(
    ServicePagesMixin, OperatorAdminMixin, AppendOnlyAdminMixin, admin.ModelAdmin
):
    # The stock operations: one ``ServiceForm`` page each, on the list (``<slug>/``).
    service_pages = STOCK_OPERATIONS
    list_display = (
        "sku",
        "location_code",
        "on_hand",
        "allocated",
        "reserved",
        "safety_stock",
        "unsellable",
        "incoming",
        "atp",
        "updated_at",
    )
    list_select_related = ("product", "location")
    list_filter = ("location", "location__kind", StockStateFilter)
    search_fields = ("product__sku", "location__code")
    search_help_text = "Exact SKU or location code."
    change_select_related = ("product", "location")
    fields = (
        "product",
        "location",
        ("on_hand", "allocated", "reserved"),
        ("safety_stock", "unsellable", "incoming"),
        "atp",
        "updated_at",
        "ledger",
    )
    readonly_fields = ("atp", "ledger")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[StockLevel], search_term: str
    ) -> tuple[QuerySet[StockLevel], bool]:
        term = search_term.strip().upper()
        if not term:
            return queryset, False
        return queryset.filter(Q(product__sku=term) | Q(location__code=term)), False

    @admin.display(description="SKU", ordering="product__sku")
    def sku(self, obj: StockLevel) -> str:
        return obj.product.sku

    @admin.display(description="Location", ordering="location__code")
    def location_code(self, obj: StockLevel) -> str:
        return obj.location.code

    @admin.display(description="Available to promise")
    def atp(self, obj: StockLevel) -> int:
        return obj.available_to_promise

    @admin.display(description="Ledger (most recent first)")
    def ledger(self, obj: StockLevel) -> str:
        rows = StockMovement.objects.filter(stock_level=obj).order_by("-id")[:LEDGER_ROWS]
        table = render_table(
            ("When", "Bucket", "Change", "Balance", "Reason", "Reference", "Note", "By"),
            (
                (
                    short_datetime(m.created_at),
                    m.get_bucket_display(),
                    f"{m.delta:+d}",
                    m.balance_after,
                    m.get_reason_display(),
                    m.reference,
                    m.note,
                    m.actor_display,
                )
                for m in rows
            ),
        )
        url = admin_changelist_url(StockMovement, urlencode({"stock_level": obj.pk}))
        return format_html(
            '{}<p>Latest {} rows. <a href="{}">Full ledger</a></p>', table, LEDGER_ROWS, url
        )

    # --- stock operations: ``ServiceForm`` pages of the list (``service_pages``) ---

    def _operations_for(
        self, request: HttpRequest, level: StockLevel | None
    ) -> list[dict[str, str]]:
        query = (
            "?" + urlencode({"sku": level.product.sku, "location": level.location.code})
            if level is not None
            else ""
        )
        return [
            {
                "url": reverse(f"admin:{self.page_url_name(slug)}") + query,
                "title": form.title,
            }
            for slug, form in STOCK_OPERATIONS.items()
            if request.user.has_perm(form.permission)
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {**(extra_context or {}), "stock_operations": self._operations_for(request, None)}
        return super().changelist_view(request, extra)

    def render_change_form(  # noqa: PLR0917 - Django's signature
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        context["stock_operations"] = self._operations_for(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)


# --- ledger, network totals, reservations --------------------------------------------


@admin.register(StockMovement)
class StockMovementAdmin(OperatorAdminMixin, AppendOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created",
        "sku",
        "location_code",
        "bucket",
        "delta",
        "balance_after",
        "reason",
        "reference",
        "actor",
        "short_note",
    )
    list_select_related = ("product", "location")
    list_filter = ("bucket", "reason", "actor_kind", "location")
    search_fields = ("reference", "product__sku", "location__code")
    search_help_text = "Exact reference, SKU or location code."
    change_select_related = ("product", "location", "stock_level", "actor_user")
    ordering = ("-id",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[StockMovement], search_term: str
    ) -> tuple[QuerySet[StockMovement], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        upper = term.upper()
        return (
            queryset.filter(Q(reference=term) | Q(product__sku=upper) | Q(location__code=upper)),
            False,
        )

    # Ids grow with time, so sorting by id is sorting by creation, on the primary key.
    @admin.display(description="When", ordering="id")
    def created(self, obj: StockMovement) -> str:
        return short_datetime(obj.created_at)

    @admin.display(description="SKU")
    def sku(self, obj: StockMovement) -> str:
        return obj.product.sku

    @admin.display(description="Location")
    def location_code(self, obj: StockMovement) -> str:
        return obj.location.code

    @admin.display(description="By")
    def actor(self, obj: StockMovement) -> str:
        return obj.actor_display

    @admin.display(description="Note")
    def short_note(self, obj: StockMovement) -> str:
        return obj.note[:80]


@admin.register(NetworkStock)
class NetworkStockAdmin(OperatorAdminMixin, AppendOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("sku", "product_name", "available", "committed", "atp", "updated_at")
    list_select_related = ("product",)
    search_fields = ("product__sku",)
    search_help_text = "Exact SKU."
    change_select_related = ("product",)
    fields = ("product", "available", "committed", "atp", "updated_at", "stock_link")
    readonly_fields = ("atp", "stock_link")
    ordering = ("product_id",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[NetworkStock], search_term: str
    ) -> tuple[QuerySet[NetworkStock], bool]:
        term = search_term.strip().upper()
        if not term:
            return queryset, False
        return queryset.filter(product__sku=term), False

    @admin.display(description="SKU", ordering="product__sku")
    def sku(self, obj: NetworkStock) -> str:
        return obj.product.sku

    @admin.display(description="Name")
    def product_name(self, obj: NetworkStock) -> str:
        return obj.product.name

    @admin.display(description="Available to promise")
    def atp(self, obj: NetworkStock) -> int:
        return obj.available_to_promise

    @admin.display(description="Per location")
    def stock_link(self, obj: NetworkStock) -> str:
        url = admin_changelist_url(StockLevel, urlencode({"product__id__exact": obj.pk}))
        return format_html('<a href="{}">Stock levels of {}</a>', url, obj.product.sku)


@admin.register(StockReservation)
class StockReservationAdmin(OperatorAdminMixin, AppendOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "reference",
        "sku",
        "location_code",
        "quantity",
        "status",
        "expires_at",
        "created_at",
        "actor",
    )
    list_select_related = ("stock_level__product", "stock_level__location")
    list_filter = ("status",)
    date_hierarchy = "expires_at"
    search_fields = ("reference", "stock_level__product__sku")
    search_help_text = "Exact reference (draft or quote number) or SKU."
    change_select_related = ("stock_level__product", "stock_level__location", "actor_user")
    ordering = ("-id",)
    actions = ("release_reservations",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[StockReservation], search_term: str
    ) -> tuple[QuerySet[StockReservation], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return (
            queryset.filter(Q(reference=term) | Q(stock_level__product__sku=term.upper())),
            False,
        )

    @admin.display(description="SKU")
    def sku(self, obj: StockReservation) -> str:
        return obj.stock_level.product.sku

    @admin.display(description="Location")
    def location_code(self, obj: StockReservation) -> str:
        return obj.stock_level.location.code

    @admin.display(description="By")
    def actor(self, obj: StockReservation) -> str:
        return obj.actor_display

    def has_release_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("inventory.change_stockreservation")

    @admin.action(description="Release selected reservations", permissions=["release"])
    def release_reservations(
        self, request: HttpRequest, queryset: QuerySet[StockReservation]
    ) -> HttpResponse | None:
        actor = _actor(request)

        def release(reservation_id: int) -> bool:
            return services.release_reservation(reservation_id=reservation_id, actor=actor)

        def released(outcome: RowsOutcome) -> str:
            already = f"; {outcome.skipped} had already ended" if outcome.skipped else ""
            return f"Released {count_of(outcome.done, 'reservation')}{already}."

        def apply(form: forms.Form) -> None:
            rows = queryset.order_by("pk").values_list("pk", "reference")
            run_on_rows(
                self,
                request,
                ((pk, f"Reservation for {reference}") for pk, reference in rows),
                release,
                done_message=released,
                nothing_message="Every selected reservation had already ended.",
            )

        return run_action_with_form(
            self,
            request,
            queryset,
            form_class=ConfirmForm,
            title="Release reservations",
            submit_label="Release",
            apply=apply,
        )


@admin.register(NetworkReservation)
class NetworkReservationAdmin(OperatorAdminMixin, AppendOnlyAdminMixin, admin.ModelAdmin):
    """Holds on network availability for drafts and quotes; they end with their draft
    (submitted, released or expired), so they are only shown here."""

    list_display = ("reference", "sku", "quantity", "status", "expires_at", "created_at", "actor")
    list_select_related = ("product",)
    list_filter = ("status",)
    search_fields = ("reference", "product__sku")
    search_help_text = "Exact reference (draft or quote number) or SKU."
    change_select_related = ("product", "actor_user")
    ordering = ("-id",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[NetworkReservation], search_term: str
    ) -> tuple[QuerySet[NetworkReservation], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(reference=term) | Q(product__sku=term.upper())), False

    @admin.display(description="SKU")
    def sku(self, obj: NetworkReservation) -> str:
        return obj.product.sku

    @admin.display(description="By")
    def actor(self, obj: NetworkReservation) -> str:
        return obj.actor_display
