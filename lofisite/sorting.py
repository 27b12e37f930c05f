"""Sortable table headers for list pages (any app's; imports no app)."""


def sort_headers(request, columns, default="-created"):
    """Header links that sort by a column, keep the filters and reset the page.

    `columns` is a list of (label, ordering key or None when the column is not sortable);
    the keys are the public names the list's `ordering` parameter accepts.
    """
    current = request.GET.get("ordering") or default
    headers = []
    for label, key in columns:
        if key is None:
            headers.append({"label": label})
            continue
        if current == key:
            state, next_order = "ascending", f"-{key}"
        elif current == f"-{key}":
            state, next_order = "descending", key
        else:
            state, next_order = "none", key
        query = request.GET.copy()
        query["ordering"] = next_order
        query.pop("page", None)
        headers.append({"label": label, "url": f"?{query.urlencode()}", "sort": state})
    return headers
