from tests.execution.support import _clean_fake_broker, make_account  # noqa: F401
