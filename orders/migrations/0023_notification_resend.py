"""The notification log keeps what rebuilds a message, the SMS provider's id and resends
(the message repeated, the agent who asked); longer dedupe keys (channel and recipient)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0022_exposure_counts_invoices'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='notification',
            options={'ordering': ['-id'], 'permissions': [('resend_notification', 'Can resend notifications')]},
        ),
        migrations.AddField(
            model_name='notification',
            name='params',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='notification',
            name='provider_id',
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AddField(
            model_name='notification',
            name='requested_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='notification',
            name='resend_of',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='resends', to='orders.notification'),
        ),
        migrations.AlterField(
            model_name='notification',
            name='dedupe_key',
            field=models.CharField(max_length=400, unique=True),
        ),
        migrations.AlterField(
            model_name='notification',
            name='status',
            field=models.CharField(choices=[('sending', 'Sending'), ('sent', 'Sent'), ('failed', 'Failed'), ('skipped', 'Skipped (customer opted out)'), ('queued', 'Queued (resend)')], max_length=16),
        ),
        migrations.AlterField(
            model_name='orderevent',
            name='type',
            field=models.CharField(choices=[('created', 'Draft created'), ('placed', 'Placed'), ('status_changed', 'Status changed'), ('hold_placed', 'Hold placed'), ('hold_released', 'Hold released'), ('edited', 'Edited'), ('cancelled', 'Cancelled'), ('lines_cancelled', 'Lines cancelled'), ('routed', 'Routed'), ('shipped', 'Shipped'), ('delivered', 'Delivered'), ('note', 'Note'), ('notification_sent', 'Notification sent'), ('notification_failed', 'Notification failed'), ('notification_resend', 'Notification resend requested'), ('imported', 'Imported'), ('return_requested', 'Return requested'), ('return_approved', 'Return approved'), ('return_rejected', 'Return rejected'), ('return_cancelled', 'Return cancelled'), ('return_in_transit', 'Return sent back'), ('return_received', 'Return received'), ('return_closed', 'Return closed'), ('return_tracking', 'Return parcel scanned'), ('return_refunded', 'Return refunded'), ('return_exchange', 'Return exchanged')], max_length=32),
        ),
    ]
