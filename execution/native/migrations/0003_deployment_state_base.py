from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("native", "0002_alter_deployment_series"),
    ]

    operations = [
        migrations.AddField(
            model_name="deployment",
            name="state_base",
            field=models.BinaryField(blank=True, null=True),
        ),
    ]
