from django.core.management.base import BaseCommand, CommandError

from backtests.marketdata import imports
from backtests.marketdata.exchanges import ExchangeFetchError
from backtests.marketdata.services import BadBarsError


class Command(BaseCommand):
    help = "Download OHLCV history from an exchange through ccxt into the shared store."

    def add_arguments(self, parser):
        parser.add_argument("exchange", help="ccxt exchange id, e.g. binance")
        parser.add_argument("symbol", help="exchange market, e.g. BTC/USDT")
        parser.add_argument("timeframe", help="Pine timeframe: 1, 5, 60, 1D ...")
        parser.add_argument("--since", required=True, help="ISO date/time (UTC unless an offset is given)")
        parser.add_argument("--until", default=None)
        parser.add_argument("--series-symbol", default=None, help="stored name; default EXCHANGE:BASEQUOTE")
        parser.add_argument("--api-url", default=None, help="replace the exchange's API host (mirror/testing)")

    def handle(self, *args, **options):
        try:
            result = imports.import_from_exchange(
                options["exchange"],
                options["symbol"],
                options["timeframe"],
                since=options["since"],
                until=options["until"],
                series_symbol=options["series_symbol"],
                api_url=options["api_url"],
                on_page=lambda n: self.stderr.write(f"\r{n} bars fetched", ending=""),
            )
        except (ExchangeFetchError, BadBarsError, imports.ImportRejected) as error:
            raise CommandError(str(error)) from error
        self.stderr.write("")
        if result.rows == 0:
            self.stdout.write("The exchange returned no bars for that range.")
            return
        self.stdout.write(
            f"{result.rows} bars stored in {result.series} ({result.first:%Y-%m-%d %H:%M} → {result.last:%Y-%m-%d %H:%M} UTC)"
        )
