PERIODIC = [(30, "backtests.actors:fail_stale_backtests")]
