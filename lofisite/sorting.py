"""Sortable table headers for list pages (any app's; imports no app).

`sort_link` is the one toggle rule; `sort_headers` (views' context) and the `ui`
library's `{% sort_header %}` tag (templates) both use it.
"""


def sort_link(request, key, default="-created"):
    """(aria-sort state, query string with the leading '?') of the header that sorts by `key`.

    Clicking toggles ascending/descending (first click: ascending), keeps the other
    query parameters and goes back to page 1.
    """
    current = request.GET.get("ordering") or default
    if current == key:
        state, next_order = "ascending", f"-{key}"
    elif current == f"-{key}":
        state, next_order = "descending", key
    else:
        state, next_order = "none", key
    query = request.GET.copy()
    query["ordering"] = next_order
    query.pop("page", None)
    return state, f"?{query.urlencode()}"


def sort_headers(request, columns, default="-created"):
    """Header links that sort by a column, keep the filters and reset the page.

    `columns` is a list of (label, ordering key or None when the column is not sortable);
    the keys are the public names the list's `ordering` parameter accepts.
    """
    headers = []
    for label, key in columns:
        if key is None:
            headers.append({"label": label})
            continue
        state, url = sort_link(request, key, default)
        headers.append({"label": label, "url": url, "sort": state})
    return headers
