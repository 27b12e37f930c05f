"""Navigation by role, for templates/base.html."""

from django.urls import reverse

from accounts import roles


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = [("Dashboard", reverse("home"), "home")]
    items.append(("API docs", reverse("api-docs"), "api-docs"))
    if roles.is_admin(user):
        items.append(("Admin", reverse("admin:index"), "admin"))
    current = getattr(getattr(request, "resolver_match", None), "url_name", "")
    return {"nav_items": [{"label": label, "url": url, "active": name == current} for label, url, name in items]}
