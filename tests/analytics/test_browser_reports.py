"""The reports in a real browser (Debian's Chromium, driven by Playwright): the manager
goes from the reports list to a report, reads its table, narrows the period and
downloads it, with no script error or blocked resource on the way."""

import os
from pathlib import Path

from django.conf import settings
from django.test import Client

from tests.analytics import test_browser_dashboard as dashboard

SHOTS = os.environ.get("OMS_TEST_SCREENSHOTS", "")
# The dashboard's browser, business and manager, and its marks (skipped without Chromium).
pytestmark = dashboard.pytestmark
browser_context = dashboard.browser_context
business = dashboard.business
manager = dashboard.manager


def test_the_manager_reads_and_downloads_a_report(
    live_server,
    browser_context,
    business,
    manager,
):
    client = Client()
    client.force_login(manager)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    browser_context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
    )
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # Script errors, and every resource of the pages that failed (the browser's own
    # favicon request, outside the pages, is not counted).
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            errors.append(f"{response.status} {response.url}") if response.status >= 400 else None
        ),
    )
    page.goto(f"{live_server.url}/admin/reports/")
    page.get_by_role("link", name="Sales by channel").click()
    page.wait_for_url("**/admin/reports/sales-by-channel/")
    table = page.locator("#report-table")
    headings = table.locator("thead th").all_text_contents()
    assert headings == ["Channel", "Orders placed", "Cancelled", "Revenue", "Average order value"]
    # 14 days of orders in each channel; the web lost one to a cancellation.
    rows = {
        cells[0]: cells[1:]
        for cells in (
            row.locator("th, td").all_text_contents() for row in table.locator("tbody tr").all()
        )
    }
    assert rows["Web storefront"][:2] == ["14", "1"]
    assert rows["Marketplace"][:2] == ["14", "0"]
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "report-sales-by-channel.png"), full_page=True)

    # The last 3 days only: the form keeps the period, the table follows it.
    end = page.locator("#id_end_date").input_value()
    page.fill("#id_start_date", end)
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**start_date=*")
    web = table.locator("tbody tr", has_text="Web storefront").locator("td").first
    assert web.inner_text() == "1"

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    saved = download.value
    assert saved.suggested_filename.startswith("sales-by-channel-")
    assert saved.suggested_filename.endswith(".csv")
    text = Path(saved.path()).read_text()
    assert text.splitlines()[0] == "Channel,Orders placed,Cancelled,Revenue,Average order value"
    assert errors == []
