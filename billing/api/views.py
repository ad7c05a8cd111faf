"""The billing API: a company's invoices and credit notes, and their PDFs.

Company keys only (``IsCompanyClient``): the storefront's and vendors' keys get 403.
A key sees the documents of its own company; another company's number answers 404,
exactly like a number that does not exist. Lists are cursor-paged, newest first, in a
fixed number of queries whatever the page holds.

A PDF that its task has not rendered yet is rendered and stored on the spot, as in the
console: a client asking for it never has to come back later.
"""

from collections.abc import Iterable
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from core.api.negotiation import ApiContentNegotiation
from customers.api.authentication import ApiClient, IsCompanyClient

from .. import documents
from ..models import CreditNote, CreditNoteLine, Invoice
from .filters import CreditNoteFilter, InvoiceFilter
from .serializers import CreditNoteOutput, InvoiceOutput

PDF_CONTENT_TYPE = "application/pdf"


def _company_id(request: Request) -> int:
    user = request.user
    assert isinstance(user, ApiClient)  # noqa: S101 - guaranteed by IsCompanyClient
    company_id = user.api_key.company_id
    assert company_id is not None  # noqa: S101 - guaranteed by IsCompanyClient
    return company_id


def company_invoices(company_id: int) -> QuerySet[Invoice]:
    """A company's invoices with what the API shows of them: order, lines and credit
    notes in three queries per page."""
    return (
        Invoice.objects.filter(company_id=company_id)
        .select_related("order")
        .prefetch_related(
            "lines",
            Prefetch(
                "credit_notes",
                queryset=CreditNote.objects.only("pk", "invoice_id", "number", "grand_total"),
            ),
        )
    )


def company_credit_notes(company_id: int) -> QuerySet[CreditNote]:
    """A company's credit notes with their invoice, order and lines (and the invoice
    line each credits) in two queries per page."""
    return (
        CreditNote.objects.filter(company_id=company_id)
        .select_related("invoice", "order")
        .prefetch_related(
            Prefetch("lines", queryset=CreditNoteLine.objects.select_related("invoice_line"))
        )
    )


class PdfContentNegotiation(ApiContentNegotiation):
    """A PDF endpoint answers ``Accept: application/pdf`` (and ``*/*``). The PDF itself
    is an ``HttpResponse`` of its own; what DRF renders here is a refusal (404, 401,
    ...), which stays problem+json whatever the client accepts."""

    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        accepted = [
            media.split(";")[0].strip()
            for media in request.META.get("HTTP_ACCEPT", "*/*").split(",")
        ]
        if any(media in (PDF_CONTENT_TYPE, "application/*") for media in accepted):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)


class _TodayContextMixin:
    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()  # type: ignore[misc]
        return {**context, "today": timezone.localdate()}


class InvoiceListView(_TodayContextMixin, generics.ListAPIView):
    """The company's invoices, newest first. Filters: `status`, `order` (an order
    number), `issued_from` and `issued_to` (dates, inclusive)."""

    queryset = Invoice.objects.none()  # for the schema; get_queryset scopes it
    permission_classes = [IsCompanyClient]
    serializer_class = InvoiceOutput
    filterset_class = InvoiceFilter

    def get_queryset(self) -> QuerySet[Invoice]:
        return company_invoices(_company_id(self.request))


class InvoiceDetailView(_TodayContextMixin, generics.RetrieveAPIView):
    """One invoice: its lines, totals, due date, status, what is paid and credited."""

    queryset = Invoice.objects.none()  # for the schema; get_queryset scopes it
    permission_classes = [IsCompanyClient]
    serializer_class = InvoiceOutput
    lookup_field = "number"

    def get_queryset(self) -> QuerySet[Invoice]:
        return company_invoices(_company_id(self.request))


class CreditNoteListView(generics.ListAPIView):
    """The company's credit notes, newest first. Filters: `reason`, `order`, `invoice`
    (numbers), `issued_from` and `issued_to` (dates, inclusive)."""

    queryset = CreditNote.objects.none()  # for the schema; get_queryset scopes it
    permission_classes = [IsCompanyClient]
    serializer_class = CreditNoteOutput
    filterset_class = CreditNoteFilter

    def get_queryset(self) -> QuerySet[CreditNote]:
        return company_credit_notes(_company_id(self.request))


class CreditNoteDetailView(generics.RetrieveAPIView):
    """One credit note, with the invoice it corrects."""

    queryset = CreditNote.objects.none()  # for the schema; get_queryset scopes it
    permission_classes = [IsCompanyClient]
    serializer_class = CreditNoteOutput
    lookup_field = "number"

    def get_queryset(self) -> QuerySet[CreditNote]:
        return company_credit_notes(_company_id(self.request))


PDF_RESPONSE = {
    (200, PDF_CONTENT_TYPE): OpenApiResponse(
        OpenApiTypes.BINARY,
        description="The document as PDF (rendered and stored first if it was not yet).",
    )
}


def _pdf_response(document: Invoice | CreditNote) -> HttpResponse:
    with document.pdf.open("rb") as stored:
        content = stored.read()
    response = HttpResponse(content, content_type=PDF_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{document.number}.pdf"'
    return response


class _PdfView(APIView):
    permission_classes = [IsCompanyClient]
    content_negotiation_class = PdfContentNegotiation


class InvoicePdfView(_PdfView):
    @extend_schema(responses=PDF_RESPONSE)
    def get(self, request: Request, number: str) -> HttpResponse:
        invoice_id = (
            Invoice.objects.filter(company_id=_company_id(request), number=number)
            .values_list("pk", flat=True)
            .first()
        )
        if invoice_id is None:
            raise NotFound()
        return _pdf_response(documents.store_invoice_pdf(invoice_id))


class CreditNotePdfView(_PdfView):
    @extend_schema(responses=PDF_RESPONSE)
    def get(self, request: Request, number: str) -> HttpResponse:
        note_id = (
            CreditNote.objects.filter(company_id=_company_id(request), number=number)
            .values_list("pk", flat=True)
            .first()
        )
        if note_id is None:
            raise NotFound()
        return _pdf_response(documents.store_credit_note_pdf(note_id))
