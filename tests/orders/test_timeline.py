"""How timeline entries read on the order page: what an edit or a cancellation changed,
in words and money."""

from orders.timeline import describe_changes


def test_an_edit_reads_as_what_changed_with_money_as_money():
    # given: an address change that also changed the shipping charge and the total
    payload = {
        "before": {"city": "Reno", "shipping_total": "5.00", "grand_total": "25.00", "line": 1},
        "after": {"city": "Denver", "shipping_total": "7.50", "grand_total": "27.50", "line": 1},
    }

    # when
    text = describe_changes(payload, currency="USD")

    # then: only what changed, captions a person reads, dollars as dollars
    assert text == "City: Reno → Denver; Shipping: $5.00 → $7.50; Total: $25.00 → $27.50"


def test_a_value_that_appears_reads_from_a_dash_and_unchanged_blanks_are_left_out():
    payload = {"before": {"promised_delivery_date": None}, "after": {"po_number": "PO-9"}}

    assert describe_changes(payload) == "Po number: – → PO-9"


def test_a_cancellation_names_its_lines_and_the_totals_in_the_orders_currency():
    payload = {
        "lines": {"MUG-RED#1": 2, "CUP-BLUE#3": 1},
        "grand_total_before": "40.00",
        "grand_total_after": "12.50",
    }

    assert describe_changes(payload, currency="EUR") == (
        "Cancelled line 1 (MUG-RED) × 2, line 3 (CUP-BLUE) × 1; total: 40.00 EUR → 12.50 EUR"
    )


def test_other_events_have_nothing_to_describe():
    assert describe_changes({"reason": "fraud"}) == ""
    assert describe_changes(None) == ""
    assert describe_changes({"before": "x", "after": "y"}) == ""
