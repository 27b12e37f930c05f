"""Every change to Vinted rows that touches more than one row (views, API, commands and tasks call these)."""
