"""Accounts with a live session on the fake Vinted site, and jobs, for the risk ledger's tests."""

import json

from monitoring.jobs import job
from vinted.choices import AccountStatus
from vinted.models import VintedAccount

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def make_account(owner, fake=None, *, label="Main shop", status=AccountStatus.ACTIVE, **fields) -> VintedAccount:
    """An account of `owner`; with `fake`, holding a valid session of the fake site."""
    cookies = fake.add_session() if fake is not None else {}
    account = VintedAccount.objects.create(
        owner=owner, label=label, domain="vinted.fr", cookies=json.dumps(cookies) if cookies else "",
        user_agent=USER_AGENT if cookies else "", status=status, **fields)
    account.session_cookies = cookies  # for the tests' searches; not a field
    return account


def cookie_header(cookies: dict) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


@job("tests.vinted.check_session", max_attempts=3, backoff_base=1)
def check_session_job(account_id: int) -> str:
    """A job that checks one account's session; a TransientError makes the wrapper retry it."""
    from vinted.services.accounts import check_session

    return check_session(VintedAccount.objects.get(pk=account_id)).status


@job("tests.vinted.read_inbox", max_attempts=3, backoff_base=1)
def read_inbox_job(account_id: int) -> dict:
    """A job that reads from Vinted for an account, as the inbox sync does."""
    from vinted.http import VintedClient

    return VintedClient(VintedAccount.objects.get(pk=account_id)).get_json("/api/v2/users/current", action="inbox")


@job("tests.vinted.two_writes", max_attempts=1)
def two_writes_job(account_id: int) -> bool:
    """Two writes in a row (the second waits for its turn); True if the run's heartbeat moved meanwhile."""
    from monitoring.models import JobRun
    from vinted.http import VintedClient

    client = VintedClient(VintedAccount.objects.get(pk=account_id))
    client.post_json("/web/api/auth/refresh", {}, action="refresh")
    before = JobRun.objects.get(name="tests.vinted.two_writes", status="running").heartbeat_at
    client.post_json("/web/api/auth/refresh", {}, action="refresh")
    return JobRun.objects.get(name="tests.vinted.two_writes", status="running").heartbeat_at > before
