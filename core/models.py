"""The ground's tables and the abstract building blocks shared by the domain apps."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class PostalAddress(models.Model):
    """A postal address with the coordinates routing measures distances from."""

    name = models.CharField(max_length=200, blank=True)
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    region = models.CharField(max_length=100, blank=True, help_text="State, province or county.")
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code, e.g. US.")
    phone = models.CharField(max_length=32, blank=True)
    latitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )

    class Meta:
        abstract = True

    def one_line(self) -> str:
        parts = [self.line1, self.line2, self.city, self.region, self.postal_code, self.country]
        return ", ".join(p for p in parts if p)


def coordinate_constraints(prefix: str) -> list[models.CheckConstraint]:
    """CHECK constraints keeping latitude/longitude in range; name them per table."""
    return [
        models.CheckConstraint(
            condition=models.Q(latitude__isnull=True)
            | models.Q(latitude__gte=-90, latitude__lte=90),
            name=f"{prefix}_latitude_range",
        ),
        models.CheckConstraint(
            condition=models.Q(longitude__isnull=True)
            | models.Q(longitude__gte=-180, longitude__lte=180),
            name=f"{prefix}_longitude_range",
        ),
        models.CheckConstraint(
            condition=models.Q(latitude__isnull=True, longitude__isnull=True)
            | models.Q(latitude__isnull=False, longitude__isnull=False),
            name=f"{prefix}_coordinates_paired",
        ),
    ]


class OutboxEvent(models.Model):
    """A side effect to run after the transaction that wrote it commits.

    The writing service inserts the row next to its change; the relay hands it to
    Celery after commit and stamps ``published_at``; a periodic sweep republishes rows
    left unpublished (broker down, process killed). Consumers are idempotent, so a
    row published twice does no harm.
    """

    topic = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        # Created by the project app before the ground had tables of its own.
        db_table = "oms_outboxevent"
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["id"], condition=Q(published_at__isnull=True), name="outbox_unpublished"
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"


class DateStyle(models.TextChoices):
    """How the console writes a date and time; the format strings are Django's."""

    ISO = "iso", "2026-03-31 14:05 (year first)"
    EUROPEAN = "european", "31/03/2026 14:05 (day first)"
    US = "us", "03/31/2026 2:05 PM (month first)"


class StaffPreference(models.Model):
    """One staff user's console settings: the time zone and the date style every date of
    the console is written in (``core.preferences``). A user without a row sees the
    site's time zone and year-first dates."""

    user = models.OneToOneField(
        "auth.User", on_delete=models.CASCADE, related_name="staff_preference"
    )
    time_zone = models.CharField(
        max_length=64, blank=True, help_text="An IANA zone such as Europe/Paris; empty: the site's."
    )
    date_style = models.CharField(max_length=16, choices=DateStyle.choices, default=DateStyle.ISO)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Preferences of {self.user}"


class SavedFilter(models.Model):
    """A changelist filter (its query string) one staff user saved under a name, to open
    that list again in one click. Each user sees and applies only their own."""

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="saved_filters")
    name = models.CharField(max_length=100)
    changelist = models.CharField(
        max_length=200, help_text="The list it filters, e.g. /admin/orders/order/."
    )
    query = models.CharField(
        max_length=2000, blank=True, help_text="The list's query string, without the '?'."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "changelist", "name"], name="saved_filter_unique_name"
            ),
            models.CheckConstraint(
                condition=Q(changelist__startswith="/"), name="saved_filter_path_absolute"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def url(self) -> str:
        return f"{self.changelist}?{self.query}" if self.query else self.changelist


class WorkQueue(SavedFilter):
    """The work queues page (held orders, fulfillment at risk, exceptions, backorders,
    and the user's saved filters). A proxy that exists to be listed in the admin index;
    the page is assembled by the project app, which may read every domain app."""

    class Meta:
        proxy = True
        verbose_name = "work queue"
        verbose_name_plural = "work queues"
