"""Signed-in pages and API answers are never kept by a shared cache; public pages and static files may be."""

import pytest
from django.test import Client

from tests.conftest import jwt_for

pytestmark = pytest.mark.django_db


def cache_control(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part.strip()}


@pytest.mark.parametrize("path", ["/", "/pipeline/", "/pipeline/tracks/", "/monitoring/costs/", "/accounts/profile/",
                                  "/legal/terms/"])
def test_signed_in_pages_are_private_and_not_stored(operator, path):
    client = Client()
    client.force_login(operator)
    response = client.get(path)
    assert response.status_code == 200, path
    assert {"private", "no-store"} <= cache_control(response), path


def test_api_answers_are_private_and_not_stored(api, viewer):
    token = jwt_for(api, viewer)["access"]
    assert {"private", "no-store"} <= cache_control(api.get("/api/v1/auth/me/", HTTP_AUTHORIZATION=f"Bearer {token}"))
    assert {"private", "no-store"} <= cache_control(api.get("/api/v1/pipeline/runs/"))  # the 401 too


def test_public_pages_and_static_files_stay_cacheable():
    page = Client().get("/legal/terms/")
    assert page.status_code == 200
    assert "no-store" not in cache_control(page) and "private" not in cache_control(page)
    static = Client().get("/static/css/app.css")
    assert static.status_code == 200
    assert "no-store" not in cache_control(static) and "private" not in cache_control(static)
