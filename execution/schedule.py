PERIODIC = [(15, "execution.actors:housekeeping")]
