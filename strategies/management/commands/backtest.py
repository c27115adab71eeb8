import argparse

from django.core.management.base import BaseCommand

from strategies.pine.runtime import cli


class Command(BaseCommand):
    help = (
        "Run one Pine backtest outside the web app: backtest FILE.pine --data FILE.csv [--symbol --mintick "
        "--timezone --from --to --initial-capital --set name=value ...] [--json OUT] [--trades-csv OUT]"
    )

    def add_arguments(self, parser):
        parser.add_argument("backtest_args", nargs=argparse.REMAINDER)

    def handle(self, *args, **options):
        status = cli.main(["backtest", *options["backtest_args"]])
        if status:
            raise SystemExit(status)
