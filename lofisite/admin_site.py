"""The admin app's config: the site itself (who may enter) lives in `accounts.admin_site`."""

from django.contrib.admin.apps import AdminConfig


class LofisiteAdminConfig(AdminConfig):
    default_site = "accounts.admin_site.LofisiteAdminSite"
