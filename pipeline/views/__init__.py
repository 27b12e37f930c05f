"""HTML pages of the pipeline.

Thin: they read through `restrict()`, call `pipeline.services` for every
change, and put a service's ValidationError back on the form so the error
shows next to its field and what the user typed stays.

Permissions (NetBox style) come from the base views in `accounts.mixins`, which
apply each model's queryset rule once per request: an object the user may not see
is a 404; an object the user sees but may not change is a 403; anonymous visitors
are sent to the sign-in page. State changes are POST-only and CSRF-protected.
"""

from .channel import *  # noqa: F403
from .runs import *  # noqa: F403
from .schedules import *  # noqa: F403
from .tracks import *  # noqa: F403
