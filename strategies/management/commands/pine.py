import argparse

from django.core.management.base import BaseCommand

from strategies.pine import cli


class Command(BaseCommand):
    help = "Pine compiler: `pine check FILE... [--json]` prints FILE:LINE:COL: error: MESSAGE, exits 1 on errors."

    def add_arguments(self, parser):
        parser.add_argument("pine_args", nargs=argparse.REMAINDER, help="check FILE... [--json]")

    def handle(self, *args, **options):
        status = cli.main(options["pine_args"])
        if status:
            raise SystemExit(status)
