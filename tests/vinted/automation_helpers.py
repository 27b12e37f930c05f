"""What the automation tests share: an account (rows only) and the settings form's data."""

from vinted.forms_automation import AutomationSettingsForm
from vinted.services import automation


def form_data(account, **changes) -> dict:
    """The settings form as the page fills it for `account`, with `changes` (None drops a field)."""
    initial = AutomationSettingsForm.initial_for(automation.settings_for(account))
    data = {name: value.strftime("%H:%M") if hasattr(value, "strftime") else value for name, value in initial.items()}
    data.update(changes)
    for name in ("price_drops_enabled", "reposts_enabled"):  # an unticked box is not sent
        if not data.get(name):
            data.pop(name, None)
    return {name: value for name, value in data.items() if value is not None}
