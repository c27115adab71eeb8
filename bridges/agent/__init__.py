"""Reference bridge agent: a stateless HTTP agent that drives broker terminals on a (Windows) node."""
