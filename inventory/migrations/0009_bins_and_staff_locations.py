"""Bin locations on stock levels (the pick list walks them) and staff assigned to
locations (the fulfillment queue opens on their work)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ('inventory', '0008_product_category'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='stocklevel',
            name='bin_location',
            field=models.CharField(blank=True, help_text='Where the SKU sits at the location, e.g. A-03-2; the pick list walks the bins in this order.', max_length=32, verbose_name='bin'),
        ),
        migrations.CreateModel(
            name='StaffLocation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('location', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='staff', to='inventory.location')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='staff_locations', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'staff location',
                'ordering': ['location__code', 'user__username'],
                'permissions': [('see_all_locations', 'Can see the work of every location')],
                'constraints': [models.UniqueConstraint(fields=('user', 'location'), name='staff_location_unique')],
            },
        ),
    ]
