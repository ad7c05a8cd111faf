"""Purchase orders and transfers in transit: the incoming supply of a location."""

import django.db.models.deletion
import django.db.models.expressions
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('inventory', '0009_bins_and_staff_locations'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='stockmovement',
            name='reason',
            field=models.CharField(choices=[('receipt', 'Receipt'), ('expected', 'Expected receipt'), ('expected_cancelled', 'Expected receipt cancelled'), ('adjustment', 'Adjustment'), ('damage', 'Damaged / to QC'), ('transfer_out', 'Transfer out'), ('transfer_in', 'Transfer in'), ('cycle_count', 'Cycle count'), ('safety_stock', 'Safety stock change'), ('reservation', 'Reservation'), ('reservation_release', 'Reservation released'), ('allocation', 'Allocation'), ('deallocation', 'Allocation released'), ('shipment', 'Shipment'), ('return_restock', 'Return restocked'), ('return_damaged', 'Return received damaged'), ('return_to_vendor', 'Return held for the vendor')], max_length=32),
        ),
        migrations.CreateModel(
            name='PurchaseOrder',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('number', models.CharField(max_length=32, unique=True)),
                ('kind', models.CharField(choices=[('purchase', 'Purchase from a supplier'), ('transfer', 'Transfer between locations')], default='purchase', max_length=16)),
                ('supplier', models.CharField(blank=True, max_length=200)),
                ('expected_date', models.DateField(db_index=True)),
                ('status', models.CharField(choices=[('open', 'Open'), ('partially_received', 'Partly received'), ('received', 'Received'), ('cancelled', 'Cancelled')], db_index=True, default='open', max_length=20)),
                ('reference', models.CharField(blank=True, help_text="The supplier's or ERP's own number for this order.", max_length=100)),
                ('note', models.TextField(blank=True)),
                ('location', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='purchase_orders', to='inventory.location')),
                ('source_location', models.ForeignKey(blank=True, help_text="Where a transfer's units come from.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='outgoing_transfers', to='inventory.location')),
            ],
            options={
                'ordering': ['-id'],
                'permissions': [('receive_purchaseorder', 'Can receive purchase orders'), ('cancel_purchaseorder', 'Can cancel purchase order lines')],
            },
        ),
        migrations.CreateModel(
            name='PurchaseOrderEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('actor_kind', models.CharField(choices=[('user', 'Staff user'), ('api', 'API client'), ('customer', 'Customer'), ('system', 'System')], max_length=16)),
                ('actor_label', models.CharField(max_length=150)),
                ('kind', models.CharField(max_length=32)),
                ('payload', models.JSONField(blank=True, default=dict)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('actor_user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('purchase_order', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='inventory.purchaseorder')),
            ],
            options={
                'ordering': ['purchase_order_id', 'id'],
            },
        ),
        migrations.CreateModel(
            name='PurchaseOrderLine',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('line_number', models.PositiveSmallIntegerField()),
                ('quantity_ordered', models.PositiveIntegerField()),
                ('quantity_received', models.PositiveIntegerField(default=0)),
                ('quantity_cancelled', models.PositiveIntegerField(default=0)),
                ('product', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='inventory.product')),
                ('purchase_order', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='lines', to='inventory.purchaseorder')),
            ],
            options={
                'ordering': ['purchase_order_id', 'line_number'],
            },
        ),
        migrations.CreateModel(
            name='PurchaseOrderReceipt',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('actor_kind', models.CharField(choices=[('user', 'Staff user'), ('api', 'API client'), ('customer', 'Customer'), ('system', 'System')], max_length=16)),
                ('actor_label', models.CharField(max_length=150)),
                ('reference', models.CharField(blank=True, help_text="The delivery note or the warehouse's receipt id.", max_length=100)),
                ('note', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('actor_user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('purchase_order', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='receipts', to='inventory.purchaseorder')),
            ],
            options={
                'ordering': ['purchase_order_id', 'id'],
            },
        ),
        migrations.CreateModel(
            name='PurchaseOrderReceiptLine',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('quantity', models.PositiveIntegerField()),
                ('line', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='inventory.purchaseorderline')),
                ('receipt', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='lines', to='inventory.purchaseorderreceipt')),
            ],
        ),
        migrations.AddIndex(
            model_name='purchaseorder',
            index=models.Index(fields=['location', 'expected_date'], name='inventory_p_locatio_b00877_idx'),
        ),
        migrations.AddConstraint(
            model_name='purchaseorder',
            constraint=models.UniqueConstraint(condition=models.Q(('reference', ''), _negated=True), fields=('location', 'reference'), name='purchase_order_reference_unique'),
        ),
        migrations.AddConstraint(
            model_name='purchaseorder',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'purchase'), ('source_location__isnull', True)), models.Q(('kind', 'transfer'), ('source_location__isnull', False), models.Q(('source_location', models.F('location')), _negated=True)), _connector='OR'), name='purchase_order_transfer_has_other_source'),
        ),
        migrations.AddIndex(
            model_name='purchaseorderline',
            index=models.Index(fields=['product', 'purchase_order'], name='inventory_p_product_cf5c9c_idx'),
        ),
        migrations.AddConstraint(
            model_name='purchaseorderline',
            constraint=models.UniqueConstraint(fields=('purchase_order', 'product'), name='purchase_order_line_sku_unique'),
        ),
        migrations.AddConstraint(
            model_name='purchaseorderline',
            constraint=models.UniqueConstraint(fields=('purchase_order', 'line_number'), name='purchase_order_line_number_unique'),
        ),
        migrations.AddConstraint(
            model_name='purchaseorderline',
            constraint=models.CheckConstraint(condition=models.Q(('quantity_ordered__gt', 0)), name='purchase_order_line_qty_positive'),
        ),
        migrations.AddConstraint(
            model_name='purchaseorderline',
            constraint=models.CheckConstraint(condition=models.Q(('quantity_ordered__gte', django.db.models.expressions.CombinedExpression(models.F('quantity_received'), '+', models.F('quantity_cancelled')))), name='purchase_order_line_within_ordered'),
        ),
        migrations.AddConstraint(
            model_name='purchaseorderreceipt',
            constraint=models.UniqueConstraint(condition=models.Q(('reference', ''), _negated=True), fields=('purchase_order', 'reference'), name='purchase_order_receipt_reference_unique'),
        ),
        migrations.AddConstraint(
            model_name='purchaseorderreceiptline',
            constraint=models.CheckConstraint(condition=models.Q(('quantity__gt', 0)), name='purchase_order_receipt_qty_positive'),
        ),
    ]
