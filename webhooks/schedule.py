PERIODIC = [(15, "webhooks.actors:sweep_alerts")]
