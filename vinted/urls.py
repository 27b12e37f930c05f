from django.urls import include, path

app_name = "vinted"

# One URL module per part of the desk, so each grows on its own.
urlpatterns = [
    path("", include("vinted.urls_listings")),
    path("", include("vinted.urls_photos")),
    path("", include("vinted.urls_drafts")),
    path("", include("vinted.urls_inventory")),
    path("", include("vinted.urls_accounts")),
    path("", include("vinted.urls_publishing")),
    path("", include("vinted.urls_inbox")),
    path("", include("vinted.urls_relist")),
    path("", include("vinted.urls_automation")),
    path("", include("vinted.urls_replies")),
    path("", include("vinted.urls_price_rules")),
    path("", include("vinted.urls_reposts")),
]
