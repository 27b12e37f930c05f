from django.urls import path

from . import views_notifications as views

# Included from monitoring/urls.py, so these names live in the "monitoring" namespace.
urlpatterns = [
    path("notifications/", views.NotificationPreferencesView.as_view(), name="notifications"),
    path("notifications/test/", views.NotificationTestView.as_view(), name="notifications-test"),
    path("notifications/deliveries/", views.DeliveryListView.as_view(), name="notification-deliveries"),
]
