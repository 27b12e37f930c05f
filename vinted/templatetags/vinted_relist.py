"""The relist panel of a listing page (templates/vinted/_relist.html): `{% relist_panel listing %}`."""

from django import template

from ..services import relist

register = template.Library()


@register.inclusion_tag("vinted/_relist_panel.html", takes_context=True)
def relist_panel(context, listing):
    user = context.get("user") or context["request"].user
    return {**relist.panel_state(user, listing), "csrf_token": context.get("csrf_token")}
