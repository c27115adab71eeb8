PERIODIC = [(15, "execution.native.actors:catch_up"), (5, "execution.native.actors:poll_feeds")]
