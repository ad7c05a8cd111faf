from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0006_company_receivables"),
    ]

    operations = []
