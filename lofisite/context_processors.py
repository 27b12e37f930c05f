"""Navigation by role, for templates/base.html."""

from django.contrib import admin
from django.urls import reverse

from monitoring.models import Event


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "sees_operations": False}
    # The third value names a view ("home") or a URL namespace ("monitoring"): the item is
    # active on that view, or on every page of that namespace.
    items = [("Dashboard", reverse("home"), "home")]
    items.append(("Pipeline", reverse("pipeline:run-list"), "pipeline"))
    items.append(("Vinted", reverse("vinted:listing-list"), "vinted"))
    # The operations pages are admin-only (monitoring's operations rule); everyone else's part of
    # Monitoring is their own AI costs (and notification preferences, linked from the profile).
    sees_operations = Event.objects.model_permits(user)
    items.append(("Monitoring", reverse("monitoring:index"), "monitoring") if sees_operations
                 else ("AI costs", reverse("monitoring:costs"), "monitoring"))
    items.append(("API docs", reverse("api-docs"), "api-docs"))
    if admin.site.has_permission(request):  # the admin site's own rule (accounts.admin_site)
        items.append(("Admin", reverse("admin:index"), "admin"))
    match = getattr(request, "resolver_match", None)
    current = {match.view_name, *match.namespaces} if match else set()
    return {"nav_items": [{"label": label, "url": url, "active": name in current} for label, url, name in items],
            "sees_operations": sees_operations}
