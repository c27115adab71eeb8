from tests.e2e.conftest import running_app  # noqa: F401 (the real app for test_running_app.py)
from tests.execution.support import _clean_fake_broker, make_account  # noqa: F401
