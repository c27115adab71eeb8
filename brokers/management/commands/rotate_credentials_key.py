"""Re-encrypt every broker credential under the first key of CREDENTIALS_KEYS, in every tenant schema.

Rotation: put the new key FIRST in CREDENTIALS_KEYS (keep the old ones after it), deploy, run this
command, then drop the old keys.
"""

from django.core.management.base import BaseCommand
from django_tenants.utils import get_tenant_model, schema_context

from brokers.services import rotate_credentials_key


class Command(BaseCommand):
    help = "Re-encrypt stored broker credentials with the current (first) CREDENTIALS_KEYS key."

    def handle(self, *args, **options):
        total = 0
        for tenant in get_tenant_model().objects.exclude(schema_name="public"):
            with schema_context(tenant.schema_name):
                count = rotate_credentials_key()
            total += count
            self.stdout.write(f"{tenant.schema_name}: {count} account(s) re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"done: {total} account(s) re-encrypted"))
