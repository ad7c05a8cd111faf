"""Staff roles as code. ``sync_staff_groups`` makes each group hold exactly these permissions.

Permissions are ``app_label.codename``. A role gets only what its jobs need
(see the product brief); superusers are for operators.
"""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

ROLE_PERMISSIONS: dict[str, list[str]] = {
    "agent": [
        "customers.view_customer",
        "customers.change_customer",
        "customers.view_company",
        "customers.view_address",
        "customers.add_address",
        "customers.change_address",
        "customers.view_customernote",
        "customers.add_customernote",
        "customers.view_notificationpreference",
        "customers.change_notificationpreference",
        # Every message sent about an order, and its resend (orders.notifications).
        "customers.view_companycontact",
        "orders.view_notification",
        "orders.resend_notification",
        "inventory.view_product",
        "inventory.view_location",
        "inventory.view_stocklevel",
        "inventory.view_networkstock",
        "orders.view_order",
        "orders.view_orderline",
        "orders.view_orderevent",
        "orders.view_orderhold",
        "orders.cancel_order",
        "orders.edit_placed_order",
        "orders.place_order_on_behalf",
        "orders.place_hold",
        # Agents fix what a customer can tell them: the address, and their own manual holds.
        "orders.release_address_hold",
        "orders.release_manual_hold",
        # Notes for the team on the order page, and pinning them on top of it.
        "orders.view_ordernote",
        "orders.add_ordernote",
        "orders.change_ordernote",
        # Quotes sent to buyers, read-only (orders.admin.quotes): a buyer calls about one.
        "orders.view_quote",
        "shipping.view_shippingmethod",
        "shipping.view_carrier",
        # Where an order is and why it went there; the lines back the page's inlines.
        "fulfillment.view_fulfillmentorder",
        "fulfillment.view_fulfillmentorderline",
        "fulfillment.view_shipment",
        "fulfillment.view_shipmentline",
        "fulfillment.view_trackingevent",
        "fulfillment.view_routingdecision",
        # Returns: agents read them and decide the ones the policy leaves to a person.
        "returns.view_returnrequest",
        "returns.view_returnline",
        "returns.view_returnevent",
        "returns.view_returnphoto",
        "returns.view_returnreason",
        "returns.view_returnpolicy",
        "returns.add_returnrequest",
        "returns.approve_returnrequest",
        # Payments received, read-only (the order page shows its invoices' status).
        "billing.view_receivedpayment",
        "billing.view_paymentapplication",
    ],
    "sales_rep": [
        "customers.view_customer",
        "customers.add_customer",
        "customers.view_company",
        "customers.view_address",
        "customers.add_address",
        "inventory.view_product",
        "inventory.view_location",
        "inventory.view_stocklevel",
        "inventory.view_networkstock",
        "inventory.view_stockreservation",
        "orders.view_order",
        "orders.view_orderline",
        "orders.view_orderevent",
        "orders.view_orderhold",
        "orders.place_order_on_behalf",
        # The quotes they sent, read-only (orders.admin.quotes): open, accepted, expired.
        "orders.view_quote",
        "shipping.view_shippingmethod",
    ],
    "warehouse": [
        "inventory.view_product",
        "inventory.view_location",
        "inventory.view_stocklevel",
        # The bin of a stock level, at their own locations only (the stock level page
        # refuses the others'); its counters move only through the operations below.
        "inventory.change_stocklevel",
        "inventory.view_stockmovement",
        "inventory.view_stockreservation",
        "inventory.receive_stock",
        "inventory.adjust_stock",
        "inventory.transfer_stock",
        "inventory.count_stock",
        # Supply on its way to the location: count deliveries in against it.
        "inventory.view_purchaseorder",
        "inventory.view_purchaseorderline",
        "inventory.receive_purchaseorder",
        "orders.view_order",
        "orders.view_orderline",
        "shipping.view_shippingmethod",
        "shipping.view_carrier",
        # The location's work queue: pick, pack, ship, hand over, accept or reject.
        "fulfillment.view_fulfillmentorder",
        "fulfillment.view_fulfillmentorderline",
        "fulfillment.work_fulfillment",
        "fulfillment.reject_fulfillment",
        "fulfillment.view_shipment",
        "fulfillment.view_shipmentline",
        "fulfillment.view_trackingevent",
        # The location's returns queue: receive and inspect what comes back.
        "returns.view_returnrequest",
        "returns.view_returnline",
        "returns.view_returnevent",
        "returns.view_returnreceipt",
        "returns.view_returninspection",
        "returns.receive_returnrequest",
    ],
    "finance": [
        "customers.view_customer",
        "customers.view_company",
        "customers.change_company",
        # A company's contacts for its invoices (accounts payable), with the company.
        "customers.view_companycontact",
        "customers.add_companycontact",
        "customers.change_companycontact",
        "customers.delete_companycontact",
        "orders.view_order",
        "orders.view_orderline",
        "orders.view_orderevent",
        "orders.view_orderhold",
        # Money holds are finance's call; fraud and approvals are not.
        "orders.release_credit_hold",
        "orders.release_payment_hold",
        "inventory.view_product",
        # Invoices and credit notes, read-only: services issue them.
        "billing.view_invoice",
        "billing.view_invoiceline",
        "billing.view_creditnote",
        "billing.view_creditnoteline",
        "billing.view_paymenttermsrule",
        # Payments received against invoices on terms (billing.receivables): record,
        # apply and take off, import bank statements, export them for the ERP.
        "billing.view_receivedpayment",
        "billing.view_paymentapplication",
        "billing.record_receivedpayment",
        "billing.import_receivedpayment",
        # Refunds of captured money (billing.refunds); managers have it with the rest.
        "billing.refund_order",
        # Store credit (the customer page): grant goodwill credit, correct balances.
        "customers.adjust_store_credit",
        # The reports pages, and exports of the lists and reports (analytics.exports).
        "analytics.view_reports",
        "analytics.export_data",
        "analytics.view_exportjob",
    ],
    # Fraud review: reads what an order and its customer look like, releases fraud holds
    # (or cancels through a manager). Kept apart from the agents who take the calls.
    "risk": [
        "customers.view_customer",
        "customers.view_company",
        "customers.view_address",
        "customers.view_customernote",
        "orders.view_order",
        "orders.view_orderline",
        "orders.view_orderevent",
        "orders.view_orderhold",
        "orders.place_hold",
        "orders.release_fraud_hold",
        "fulfillment.view_fulfillmentorder",
        "fulfillment.view_fulfillmentorderline",
        "fulfillment.view_shipment",
        "fulfillment.view_routingdecision",
    ],
    # Filled below: every permission of the domain apps, which includes
    # fulfillment.change_routingrule (operators reorder and toggle the routing recipe)
    # and the release of every kind of hold (B2B approvals in the admin, fraud reviews).
    "manager": [],
}

DOMAIN_APPS = (
    "customers",
    "inventory",
    "shipping",
    "orders",
    "fulfillment",
    "billing",
    "returns",
    "webhooks",
    "planning",
    "analytics",
)


def _permissions(names: list[str]) -> list[Permission]:
    query = Q(pk__in=[])
    for name in names:
        app_label, codename = name.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.filter(query))


def sync_staff_groups(using: str = "default") -> dict[str, int]:
    """Create or update the staff groups; returns the permission count of each."""
    counts = {}
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        if role == "manager":
            perms = list(
                Permission.objects.using(using).filter(content_type__app_label__in=DOMAIN_APPS)
            )
        else:
            perms = _permissions(names)
        group.permissions.set(perms)
        counts[role] = len(perms)
    return counts
