"""Company notification contacts (with their history); more kinds of event to choose
channels for."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0005_store_credit'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='notificationpreference',
            name='event',
            field=models.CharField(choices=[('order_confirmed', 'Order confirmed'), ('on_hold', 'Order on hold, waiting for you'), ('shipped', 'Shipped'), ('delayed', 'Delayed or exception'), ('out_for_delivery', 'Out for delivery'), ('delivered', 'Delivered'), ('ready_for_pickup', 'Ready for pickup'), ('picked_up', 'Picked up'), ('cancelled', 'Cancelled'), ('address_changed', 'Delivery address changed'), ('return_approved', 'Return approved'), ('return_received', 'Return received'), ('refund_issued', 'Refund issued'), ('invoice_issued', 'Invoice issued'), ('payment_failed', 'Payment failed')], max_length=32),
        ),
        migrations.CreateModel(
            name='HistoricalCompanyContact',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('created_at', models.DateTimeField(blank=True, db_index=True, editable=False)),
                ('updated_at', models.DateTimeField(blank=True, editable=False)),
                ('name', models.CharField(max_length=200)),
                ('email', models.EmailField(blank=True, max_length=254)),
                ('phone', models.CharField(blank=True, help_text='With its country code, e.g. +1 415 555 0100.', max_length=32)),
                ('events', models.JSONField(blank=True, default=list, help_text='The kinds of message this contact gets a copy of.')),
                ('by_email', models.BooleanField(default=True, verbose_name='by e-mail')),
                ('by_sms', models.BooleanField(default=False, verbose_name='by SMS')),
                ('is_active', models.BooleanField(default=True)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('company', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='customers.company')),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical notification contact',
                'verbose_name_plural': 'historical notification contacts',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='CompanyContact',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('name', models.CharField(max_length=200)),
                ('email', models.EmailField(blank=True, max_length=254)),
                ('phone', models.CharField(blank=True, help_text='With its country code, e.g. +1 415 555 0100.', max_length=32)),
                ('events', models.JSONField(blank=True, default=list, help_text='The kinds of message this contact gets a copy of.')),
                ('by_email', models.BooleanField(default=True, verbose_name='by e-mail')),
                ('by_sms', models.BooleanField(default=False, verbose_name='by SMS')),
                ('is_active', models.BooleanField(default=True)),
                ('company', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notification_contacts', to='customers.company')),
            ],
            options={
                'verbose_name': 'notification contact',
                'ordering': ['company_id', 'name'],
                'constraints': [models.CheckConstraint(condition=models.Q(('by_email', False), models.Q(('email', ''), _negated=True), _connector='OR'), name='company_contact_email_needs_address'), models.CheckConstraint(condition=models.Q(('by_sms', False), models.Q(('phone', ''), _negated=True), _connector='OR'), name='company_contact_sms_needs_phone')],
            },
        ),
    ]
