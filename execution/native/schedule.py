PERIODIC = [(15, "execution.native.actors:catch_up")]
