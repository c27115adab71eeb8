from django.conf import settings
from django.core.management.base import BaseCommand

from fourpass.demo import seed_demo


class Command(BaseCommand):
    help = "Create plans, the retail and demo tenants, demo users and demo market data (idempotent)."

    def handle(self, *args, **options):
        result = seed_demo()
        for symbol, count in result["bars"].items():
            self.stdout.write(f"  market data {symbol}: {count} bars")
        self.stdout.write(self.style.SUCCESS(
            f"Demo ready. Log in as {settings.DEMO_USER_EMAIL} / {settings.DEMO_USER_PASSWORD} "
            f"(staff: staff@4pass.local, same password). Business tenant host: "
            f"{result['business'].domains.first().domain}"
        ))
