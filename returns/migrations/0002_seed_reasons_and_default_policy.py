from decimal import Decimal

from django.db import migrations

REASONS = [
    ("damaged", "Arrived damaged", Decimal("0")),
    ("wrong_item", "Wrong item sent", Decimal("0")),
    ("not_as_described", "Not as described", Decimal("0")),
    ("no_longer_needed", "No longer needed", Decimal("15")),
    ("size_fit", "Size or fit", Decimal("10")),
]


def seed(apps, schema_editor):
    ReturnReason = apps.get_model("returns", "ReturnReason")
    ReturnPolicy = apps.get_model("returns", "ReturnPolicy")
    for code, label, fee in REASONS:
        ReturnReason.objects.get_or_create(
            code=code, defaults={"label": label, "restocking_fee_percent": fee}
        )
    if not ReturnPolicy.objects.filter(scope="default", is_active=True).exists():
        policy = ReturnPolicy.objects.create(
            name="Standard returns", scope="default", window_days=30
        )
        # Our mistakes are approved at once; anything else waits for an agent.
        policy.auto_approve_reasons.set(
            ReturnReason.objects.filter(code__in=["damaged", "wrong_item"])
        )


def unseed(apps, schema_editor):
    ReturnPolicy = apps.get_model("returns", "ReturnPolicy")
    ReturnReason = apps.get_model("returns", "ReturnReason")
    ReturnPolicy.objects.filter(scope="default", name="Standard returns").delete()
    ReturnReason.objects.filter(code__in=[code for code, _, _ in REASONS]).delete()


class Migration(migrations.Migration):
    dependencies = [("returns", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
