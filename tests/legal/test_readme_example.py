"""The README's curl example for accepting the legal documents works against the real endpoints."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from legal import services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def readme_step(text: str) -> str:
    """The README's step 3: the filter that turns GET /legal/documents/ into the accept body."""
    match = re.search(r"/api/v1/legal/documents/.*?\|\s*python3 -c '([^']+)'", text, re.S)
    assert match, "the README fetches the document ids from GET /api/v1/legal/documents/"
    return match.group(1)


def test_readme_accept_example_takes_the_current_ids_from_the_list(api_as):
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    assert '"documents": [1, 2, 3, 4]' not in readme  # ids change with every new version
    services.seed_documents()
    user = UserFactory(username="newbie")
    client = api_as(user)
    assert client.get("/api/v1/pipeline/runs/").status_code == 403  # terms not accepted yet

    listed = client.get("/api/v1/legal/documents/")
    assert listed.status_code == 200
    body = subprocess.run([sys.executable, "-c", readme_step(readme)], input=listed.content, capture_output=True,
                          check=True).stdout
    accepted = client.post("/api/v1/legal/accept/", json.loads(body), format="json")
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["pending"] == []
    assert client.get("/api/v1/pipeline/runs/").status_code == 200
