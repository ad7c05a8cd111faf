"""Exports of the lists an operator takes elsewhere (a spreadsheet, the ERP), and of the
reports.

Each exportable list gets two admin actions, "Export selected to CSV" and "… to Excel",
shown to staff who may view the list and hold ``analytics.export_data`` (managers and
finance, ``oms.roles``). The rows are written by django-import-export resources (one per
list, below) whose text cells are neutralised against formula injection: a cell starting
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with ``'`` so a
spreadsheet shows it as text instead of running it.

Up to ``OMS_EXPORT_INLINE_ROWS`` rows (10,000) download at once; more become an
``ExportJob`` run by the ``analytics.run_export`` task, which reads the list again as the
user who asked, writes the file in chunks (its progress shows on the export jobs page),
and e-mails that user a link to it (``analytics.admin_reports.download_export``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import tablib
from celery import shared_task
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.views.main import ChangeList
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from import_export import resources

from .models import ExportJob, ExportStatus

logger = logging.getLogger(__name__)

EXPORT_PERMISSION = "analytics.export_data"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_ROWS = 2000
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Fields never exported, whatever the list: secrets and what only a machine reads.
HIDDEN_FIELDS = frozenset(
    {
        "password",
        "payment_token",
        "payment_authorisation",
        "webhook_secret",
        "request_hash",
        "idempotency_key",
        "client_scope",
        "policy_trace",
        "customization_fields",
        "customization",
        "search_vector",
    }
)

# The lists an operator exports: "app_label.model_name".
EXPORTABLE = (
    "orders.order",
    "customers.customer",
    "customers.company",
    "inventory.stocklevel",
    "inventory.stockmovement",
    "fulfillment.fulfillmentorder",
    "fulfillment.shipment",
    "billing.invoice",
    "billing.creditnote",
    "billing.receivedpayment",
    "returns.returnrequest",
)


# Rows exported from another list: order lines have no list of their own; the orders
# list exports the lines of the orders selected. Exported model: (list, its link).
EXPORTED_FROM = {"orders.orderline": ("orders.order", "order")}


def inline_rows() -> int:
    return int(getattr(settings, "OMS_EXPORT_INLINE_ROWS", 10_000))


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, made text (``'`` in front)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_row(row: Iterable[Any]) -> list[Any]:
    return [neutralise(value) for value in row]


class SafeResource(resources.ModelResource):
    """A resource whose exported text cells are never formulas."""

    def export_field(self, field: Any, instance: Any, **kwargs: Any) -> Any:
        return neutralise(super().export_field(field, instance, **kwargs))


def export_fields(model: type[models.Model]) -> list[str]:
    """The model's own columns, secrets left out (a relation exports its id)."""
    return [
        field.name
        for field in model._meta.concrete_fields
        if field.name not in HIDDEN_FIELDS and not isinstance(field, models.FileField)
    ]


def resource_for(model: type[models.Model]) -> SafeResource:
    meta = type("Meta", (), {"model": model, "fields": export_fields(model)})
    resource_class = type(f"{model.__name__}ExportResource", (SafeResource,), {"Meta": meta})
    return resource_class()


def dataset_bytes(dataset: tablib.Dataset, file_format: str) -> bytes:
    data = dataset.export(file_format)
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def file_response(dataset: tablib.Dataset, file_format: str, name: str) -> HttpResponse:
    response = HttpResponse(
        dataset_bytes(dataset, file_format), content_type=CONTENT_TYPES[file_format]
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{file_format}"'
    return response


def table_dataset(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> tablib.Dataset:
    """A report's table as a dataset, its cells neutralised like the lists'."""
    dataset = tablib.Dataset(headers=neutralise_row(columns))
    for row in rows:
        dataset.append(neutralise_row(row))
    return dataset


# --- the admin actions ----------------------------------------------------------------


def _export(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    queryset: QuerySet[Any],
    file_format: str,
    exported: type[models.Model] | None = None,
) -> HttpResponse | None:
    if not can_export(request, model_admin):
        model_admin.message_user(request, "You may not export this list.", messages.ERROR)
        return None
    if exported is not None:
        queryset = rows_from(exported, queryset)
    opts = queryset.model._meta
    count = queryset.count()
    if count > inline_rows():
        job = start_export_job(request, queryset.model, file_format, count)
        link = reverse("admin:analytics_exportjob_changelist")
        model_admin.message_user(
            request,
            f"{count:,} rows is a large export: it runs in the background and you will get "
            f"an e-mail with a link when it is ready (follow it on Export jobs: {link}, "
            f"job {job.pk}).",
            messages.INFO,
        )
        return None
    dataset = resource_for(queryset.model).export(queryset=queryset.order_by("pk"))
    return file_response(dataset, file_format, slugify(str(opts.verbose_name_plural)))


@admin.action(description="Export selected to CSV")
def export_csv(
    model_admin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Any]
) -> HttpResponse | None:
    return _export(model_admin, request, queryset, "csv")


@admin.action(description="Export selected to Excel (XLSX)")
def export_xlsx(
    model_admin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Any]
) -> HttpResponse | None:
    return _export(model_admin, request, queryset, "xlsx")


@admin.action(description="Export the lines of the selected orders to CSV")
def export_lines_csv(
    model_admin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Any]
) -> HttpResponse | None:
    return _export(model_admin, request, queryset, "csv", _model("orders.orderline"))


@admin.action(description="Export the lines of the selected orders to Excel (XLSX)")
def export_lines_xlsx(
    model_admin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Any]
) -> HttpResponse | None:
    return _export(model_admin, request, queryset, "xlsx", _model("orders.orderline"))


def _model(label: str) -> type[models.Model]:
    from django.apps import apps  # noqa: PLC0415

    return apps.get_model(label)


def rows_from(exported: type[models.Model], listed: QuerySet[Any]) -> QuerySet[Any]:
    """The rows of ``exported`` that belong to the rows of the list."""
    _, link = EXPORTED_FROM[exported._meta.label_lower]
    return exported._default_manager.filter(**{f"{link}__in": listed.values("pk")})


def can_export(request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> bool:
    user = request.user
    return bool(
        user.is_active
        and user.has_perm(EXPORT_PERMISSION)
        and model_admin.has_view_permission(request)
    )


class ExportActionsMixin:
    """Adds the export actions to a registered admin, for the staff allowed to export."""

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions: dict[str, Any] = super().get_actions(request)  # type: ignore[misc]
        if IS_POPUP_VAR in request.GET or not can_export(request, self):  # type: ignore[arg-type]
            return actions
        label = self.model._meta.label_lower  # type: ignore[attr-defined]
        extra = [export_lines_csv, export_lines_xlsx] if label == "orders.order" else []
        for func in (export_csv, export_xlsx, *extra):
            actions[func.__name__] = (func, func.__name__, func.short_description)  # type: ignore[attr-defined]
        return actions


def add_export_actions(site: admin.AdminSite) -> None:
    """Re-register each exportable list's admin with the export actions (the admin
    registered last, whichever app extended it)."""
    from core.admin import replace_admin  # noqa: PLC0415 - admin registry is ready

    registry = {
        f"{model._meta.app_label}.{model._meta.model_name}": (model, model_admin)
        for model, model_admin in site._registry.items()
    }
    for label in EXPORTABLE:
        if label not in registry:
            continue
        model, model_admin = registry[label]
        current = type(model_admin)
        if issubclass(current, ExportActionsMixin):
            continue
        exportable = type(
            current.__name__, (ExportActionsMixin, current), {"__module__": current.__module__}
        )
        replace_admin(model, exportable, site=site)


# --- large exports ----------------------------------------------------------------


def start_export_job(
    request: HttpRequest, model: type[models.Model], file_format: str, count: int
) -> ExportJob:
    opts = model._meta
    job = ExportJob.objects.create(
        requested_by=request.user,  # type: ignore[misc]
        app_label=opts.app_label,
        model_name=str(opts.model_name),
        title=str(opts.verbose_name_plural).capitalize(),
        file_format=file_format,
        query_string=request.GET.urlencode(),
        rows_total=count,
    )
    transaction.on_commit(lambda: enqueue_export(job.pk))
    return job


def enqueue_export(job_id: int) -> None:
    try:
        run_export.delay(job_id)
    except Exception:  # the broker is down: say so on the job, do not fail the page
        logger.exception("export job %s could not be queued", job_id)
        ExportJob.objects.filter(pk=job_id, status=ExportStatus.QUEUED).update(
            status=ExportStatus.FAILED,
            error="The export could not be queued; try again in a few minutes.",
            finished_at=timezone.now(),
        )


def job_queryset(job: ExportJob) -> QuerySet[Any]:
    """The rows of the list the job came from, read again as the user who asked (the
    same filters, search and the admin's own restrictions)."""
    exported = _model(f"{job.app_label}.{job.model_name}")
    listed, _ = EXPORTED_FROM.get(exported._meta.label_lower, (exported._meta.label_lower, ""))
    model = _model(listed)
    model_admin = admin.site.get_model_admin(model)
    path = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    request = RequestFactory().get(path, data=None, QUERY_STRING=job.query_string)
    request.user = job.requested_by
    if not can_export(request, model_admin):
        raise PermissionError("you may no longer export this list")
    changelist: ChangeList = model_admin.get_changelist_instance(request)
    rows = changelist.get_queryset(request)
    if exported is not model:
        rows = rows_from(exported, rows)
    return rows.order_by("pk")


@shared_task(name="analytics.run_export", bind=True, acks_late=True)
def run_export(self: Any, job_id: int) -> None:
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING
    )
    if not claimed:
        return  # done, failed, or taken by another worker
    job = ExportJob.objects.select_related("requested_by").get(pk=job_id)
    try:
        write_export(job)
    except Exception as error:
        logger.exception("export job %s failed", job_id)
        ExportJob.objects.filter(pk=job_id).update(
            status=ExportStatus.FAILED,
            error=f"The export failed: {error}"[:300],
            finished_at=timezone.now(),
        )
        return
    notify_export_done(job)


def write_export(job: ExportJob) -> None:
    queryset = job_queryset(job)
    model = queryset.model
    resource = resource_for(model)
    ids = list(queryset.values_list("pk", flat=True))
    ExportJob.objects.filter(pk=job.pk).update(rows_total=len(ids))
    dataset = tablib.Dataset(headers=resource.get_export_headers())
    for start in range(0, len(ids), CHUNK_ROWS):
        chunk = ids[start : start + CHUNK_ROWS]
        part = resource.export(queryset=model._default_manager.filter(pk__in=chunk).order_by("pk"))
        dataset.extend(part)
        ExportJob.objects.filter(pk=job.pk).update(rows_done=start + len(chunk))
    name = f"{slugify(job.title)}-{timezone.localtime().strftime('%Y%m%d-%H%M')}.{job.file_format}"
    job.file.save(name, ContentFile(dataset_bytes(dataset, job.file_format)), save=False)
    ExportJob.objects.filter(pk=job.pk).update(
        file=job.file.name,
        status=ExportStatus.DONE,
        rows_total=len(ids),
        rows_done=len(ids),
        finished_at=timezone.now(),
    )


def notify_export_done(job: ExportJob) -> None:
    email = job.requested_by.email
    if not email:
        return
    link = settings.OMS_PUBLIC_URL.rstrip("/") + reverse(
        "admin:analytics_export_download", args=[job.pk]
    )
    send_mail(
        subject=f"Your export of {job.title.lower()} is ready",
        message=(
            f"The export you asked for ({job.title.lower()}, {job.rows_total:,} rows, "
            f"{job.file_format.upper()}) is ready. Download it while signed in to the back "
            f"office:\n\n{link}\n"
        ),
        from_email=None,
        recipient_list=[email],
    )
