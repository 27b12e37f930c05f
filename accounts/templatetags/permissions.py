"""The queryset rule, asked from a template to hide buttons (the view still decides).

    {% load permissions %}
    {% permits run "change" as can_change %}{% if can_change %}<button>…{% endif %}
    {% can_add runs as can_start %}   {# a queryset, a model instance or a list of them #}
"""

from django import template

register = template.Library()


def _manager(thing):
    model = getattr(thing, "model", None) or type(thing)
    return model._default_manager


@register.simple_tag(takes_context=True)
def permits(context, obj, action="view"):
    user = context.get("user") or context["request"].user
    return _manager(obj).permits(user, obj, action)


@register.simple_tag(takes_context=True)
def can_add(context, model_of):
    user = context.get("user") or context["request"].user
    return _manager(model_of).can_add(user)
