from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from backtests.marketdata import imports
from backtests.marketdata.services import BadBarsError


class Command(BaseCommand):
    help = "Import OHLCV bars from a CSV file (time, open, high, low, close[, volume]) into the shared store."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--symbol", required=True, help="e.g. BINANCE:BTCUSDT or NASDAQ:GOOG")
        parser.add_argument("--timeframe", required=True, help="Pine timeframe: 1, 5, 60, 1D ...")
        parser.add_argument("--timezone", default=None, help="Exchange time zone (naive times are read in it)")
        parser.add_argument("--mintick", default=None)
        parser.add_argument("--pointvalue", default=None)
        parser.add_argument("--asset-type", default=None)
        parser.add_argument("--session-start", default=None, help="HHMM local start of the trading day")

    def handle(self, *args, **options):
        try:
            mintick = Decimal(options["mintick"]) if options["mintick"] else None
            pointvalue = Decimal(options["pointvalue"]) if options["pointvalue"] else None
        except InvalidOperation as error:
            raise CommandError("--mintick and --pointvalue must be numbers") from error
        try:
            with open(options["file"], "rb") as handle:
                result = imports.import_csv(
                    handle,
                    symbol=options["symbol"],
                    timeframe=options["timeframe"],
                    timezone=options["timezone"],
                    mintick=mintick,
                    pointvalue=pointvalue,
                    asset_type=options["asset_type"],
                    session_start=options["session_start"],
                    source=f"csv:{options['file'].rsplit('/', 1)[-1]}",
                )
        except FileNotFoundError as error:
            raise CommandError(f"no such file: {options['file']}") from error
        except (BadBarsError, imports.ImportRejected) as error:
            raise CommandError(f"{options['file']}: {error} — nothing was imported") from error
        self.stdout.write(
            f"{result.rows} bars imported into {result.series} ({result.written} new or changed; {result.first:%Y-%m-%d %H:%M} → {result.last:%Y-%m-%d %H:%M} UTC) "
            f"in {result.seconds:.2f} s ({result.rows_per_second:,.0f} rows/s)"
        )
