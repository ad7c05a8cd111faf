from django.db import migrations

# One rule per value of customers.Company.payment_terms, plus "due on receipt" for
# invoices of customers without terms.
RULES = [
    ("prepaid", "Prepaid (card)", 0),
    ("due_on_receipt", "Due on receipt", 0),
    ("net15", "Net 15", 15),
    ("net30", "Net 30", 30),
    ("net60", "Net 60", 60),
]


def seed_rules(apps, schema_editor):
    rule = apps.get_model("billing", "PaymentTermsRule")
    for code, name, days in RULES:
        rule.objects.update_or_create(code=code, defaults={"name": name, "days": days})


def remove_rules(apps, schema_editor):
    rule = apps.get_model("billing", "PaymentTermsRule")
    rule.objects.filter(code__in=[code for code, _, _ in RULES]).delete()


class Migration(migrations.Migration):
    """The payment terms companies have today, as data: due date = issue date + days."""

    dependencies = [("billing", "0001_invoices")]

    operations = [migrations.RunPython(seed_rules, remove_rules)]
