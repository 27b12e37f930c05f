import pytest

from tests.api_helpers import use_private_file_cache


@pytest.fixture(autouse=True)
def _private_cache(settings, tmp_path):
    """Throttle and lockout counters that no other test run on this machine can clear."""
    use_private_file_cache(settings, tmp_path)


@pytest.fixture
def token_as():
    """token_as(user, write=True, **options) -> an APIClient sending a personal API token of that user."""
    from rest_framework.test import APIClient

    from accounts.tokens import create_token

    def make(user, write=True, **options):
        issued = create_token(user, "pytest", write=write, **options)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {issued.plaintext}")
        client.issued = issued
        return client

    return make


@pytest.fixture(params=["jwt", "token"])
def api_with(request, api_as, token_as):
    """The API client of a user, once with a JWT and once with a (write-enabled) personal API token."""
    return api_as if request.param == "jwt" else token_as
