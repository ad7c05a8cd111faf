"""Stock planning: forecasts, planning runs and low-stock crossings."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('inventory', '0010_purchase_orders'),
        ('orders', '0026_quotes'),
    ]

    operations = [
        migrations.CreateModel(
            name='PlanningRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('started_at', models.DateTimeField(auto_now_add=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('history_days', models.PositiveIntegerField()),
                ('holdout_days', models.PositiveIntegerField()),
                ('lead_time_days', models.PositiveIntegerField()),
                ('review_days', models.PositiveIntegerField()),
                ('series', models.PositiveIntegerField(default=0)),
                ('wape', models.DecimalField(blank=True, decimal_places=4, help_text='Weighted absolute percentage error of all back-tested series together.', max_digits=8, null=True)),
            ],
            options={
                'ordering': ['-started_at'],
                'get_latest_by': 'started_at',
            },
        ),
        migrations.CreateModel(
            name='DemandForecast',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('method', models.CharField(choices=[('holt_winters', 'Exponential smoothing, weekly seasonality'), ('mean', 'Daily average')], max_length=16)),
                ('daily_demand', models.DecimalField(decimal_places=3, help_text='Forecast units per day, on average.', max_digits=12)),
                ('next_days', models.JSONField(default=list, help_text='Forecast units for each of the coming days.')),
                ('history_days', models.PositiveIntegerField(help_text='Days of order history it learned from.')),
                ('history_units', models.PositiveIntegerField()),
                ('wape', models.DecimalField(blank=True, decimal_places=4, help_text='Forecast against the held-out last weeks: sum of |actual - forecast| over sum of actual. Empty when the history is too short to hold weeks out.', max_digits=8, null=True, verbose_name='back-test error (WAPE)')),
                ('lead_time_demand', models.PositiveIntegerField(help_text='Units expected to sell during the lead time (rounded up).')),
                ('review_demand', models.PositiveIntegerField(help_text='Units expected to sell during one review period (rounded up).')),
                ('computed_at', models.DateTimeField()),
                ('stock_level', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='forecast', to='inventory.stocklevel')),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='forecasts', to='planning.planningrun')),
            ],
            options={
                'ordering': ['stock_level_id'],
            },
        ),
        migrations.CreateModel(
            name='ReorderSuggestion',
            fields=[
            ],
            options={
                'verbose_name': 'reorder suggestion',
                'permissions': [('draft_purchase_order', 'Can draft purchase orders from suggestions')],
                'proxy': True,
                'indexes': [],
                'constraints': [],
            },
            bases=('planning.demandforecast',),
        ),
        migrations.CreateModel(
            name='LowStockCrossing',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('position', models.IntegerField(help_text='Stock plus incoming when it crossed.')),
                ('reorder_point', models.PositiveIntegerField()),
                ('opened_at', models.DateTimeField(auto_now_add=True)),
                ('closed_at', models.DateTimeField(blank=True, null=True)),
                ('alerted_at', models.DateTimeField(blank=True, null=True)),
                ('stock_level', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='low_stock_crossings', to='inventory.stocklevel')),
            ],
            options={
                'ordering': ['-opened_at'],
                'indexes': [models.Index(condition=models.Q(('alerted_at__isnull', True)), fields=['opened_at'], name='low_stock_crossing_unalerted')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('closed_at__isnull', True)), fields=('stock_level',), name='low_stock_one_open_crossing')],
            },
        ),
        migrations.AddConstraint(
            model_name='demandforecast',
            constraint=models.CheckConstraint(condition=models.Q(('daily_demand__gte', 0)), name='forecast_daily_demand_nonneg'),
        ),
        migrations.AddConstraint(
            model_name='demandforecast',
            constraint=models.CheckConstraint(condition=models.Q(('wape__gte', 0)), name='forecast_wape_nonneg'),
        ),
    ]
