"""A stand-in for the accounts service (issue 18, built alongside) that speaks its RPC
contract (``contracts/accounts.py``: sign_in, resolve_session, sign_out) over the real broker,
so the web app's sign-in is tested end to end through the gateway's identity resolver.
Replace it with ``services.accounts`` in these fixtures once that service is merged."""
import secrets
from datetime import datetime, timedelta, timezone

from nameko.extensions import DependencyProvider

from kernel.errors import AuthenticationError
from kernel.rpc import command_rpc

SESSIONS: dict = {}


class People(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return self.container.config["FAKE_PEOPLE"]


class FakeAccountsService:
    name = "accounts"
    people = People()

    @command_rpc
    def sign_in(self, request):
        person = self.people.get(request.get("login"))
        if person is None or person["password"] != request.get("password"):
            raise AuthenticationError("login or password is wrong", field="password")
        token = secrets.token_urlsafe(32)
        SESSIONS[token] = request["login"]
        return {"session_token": token, "expires_at": (datetime.now(timezone.utc) + timedelta(hours=8)).isoformat(),
                **self._answer(request["login"], token)}

    @command_rpc
    def resolve_session(self, request):
        login = SESSIONS.get(request.get("session_token"))
        if login is None:
            raise AuthenticationError("session unknown or ended", field="session_token")
        return self._answer(login, request["session_token"])

    @command_rpc
    def sign_out(self, request):
        SESSIONS.pop(request.get("session_token"), None)
        return {"signed_out": True}

    @command_rpc
    def ping(self):
        return {"service": "accounts"}

    def _answer(self, login, token):
        person = self.people[login]
        grant = {"grant_id": f"g-{login}", **person["grant"]}
        record = {"person_id": f"p-{login}", "login": login, "name": person["name"], "status": "active",
                  "second_factor": False, "grants": [grant]}
        return {"person": record, "active_grant": grant, "session_id": token[:8], **record}
