from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("returns", "0003_resolution"), ("inventory", "0008_product_category")]

    operations = []
