"""Saved changelist filters per staff user, and the work queues page's admin entry."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ('core', '0002_staff_preferences'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='SavedFilter',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100)),
                ('changelist', models.CharField(help_text='The list it filters, e.g. /admin/orders/order/.', max_length=200)),
                ('query', models.CharField(blank=True, help_text="The list's query string, without the '?'.", max_length=2000)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='saved_filters', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['name', 'id'],
                'constraints': [
                    models.UniqueConstraint(fields=('user', 'changelist', 'name'), name='saved_filter_unique_name'),
                    models.CheckConstraint(condition=models.Q(('changelist__startswith', '/')), name='saved_filter_path_absolute'),
                ],
            },
        ),
        migrations.CreateModel(
            name='WorkQueue',
            fields=[],
            options={
                'verbose_name': 'work queue',
                'verbose_name_plural': 'work queues',
                'proxy': True,
                'indexes': [],
                'constraints': [],
            },
            bases=('core.savedfilter',),
        ),
    ]
