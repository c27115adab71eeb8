from django.core.management.base import BaseCommand

from fourpass.scheduler import run_forever


class Command(BaseCommand):
    help = "Enqueue periodic Dramatiq jobs (worker heartbeat, apps' schedule.py jobs)."

    def handle(self, *args, **options):
        run_forever()
