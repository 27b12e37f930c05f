import pytest

from tests.api_helpers import use_private_file_cache


@pytest.fixture(autouse=True)
def _private_cache(settings, tmp_path):
    """Throttle and lockout counters that no other test run on this machine can clear."""
    use_private_file_cache(settings, tmp_path)
