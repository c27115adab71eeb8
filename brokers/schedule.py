# Resting paper limit/stop orders are matched against newly stored bars every 15 s.
PERIODIC = [(15.0, "brokers.actors:match_paper_orders_everywhere")]
