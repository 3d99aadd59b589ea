"""The accounts rules, read as: given these events, when this command, then these events.
Who administers whom, sign-in and lockout, departments as data, password strength."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from kernel.errors import AccountLockedError, AuthenticationError, CommandRejected, NotFoundError, PolicyError
from kernel.policy_files import load_policy_file
from services.accounts.adapters.secrets import password_rules
from services.accounts.domain import (AccountLocked, AccountUnlocked, Administrator, ApiTokenIssued, ApiTokenRevoked,
                                      DepartmentBook, DepartmentChange, DepartmentName, Grant, GrantRole,
                                      IssueApiToken, PersonCreated, PersonLeft, PersonState, PersonSuspended,
                                      RecordLeaving, RevokeRole, RoleGranted, RoleRevoked, SignedIn, SignedOut, SignIn,
                                      SignInFailed, SignInPolicy, Suspend, Unlock, decide, evolve_all, fold,
                                      grant_refusal, level_refusal, manage_refusal)
from services.accounts.domain.person import refusal_of

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
CITY, COUNTY, TOWNSHIP, VILLAGE = "410900000000", "410928000000", "410928101000", "410928101201"
OTHER_COUNTY = "410922000000"
PERSON = "p-1"
CREATED = PersonCreated(PERSON, "admin-1", "cadre", "李明", None, VILLAGE)
GRANTED = RoleGranted(PERSON, "admin-1", "g-1", "civil_affairs", "village_worker", VILLAGE, "ga-1")


def given(*events) -> PersonState:
    return fold(PERSON, events)


def attempt(**overrides) -> SignIn:
    values = dict(person_id=PERSON, session_id="s-1", client_address="10.0.0.1", password_matched=True,
                  one_time_password_given=False, one_time_password_matched=False, second_factor_required=False,
                  grant_id=None, now=NOW)
    return SignIn(**{**values, **overrides})


def admin_at(jurisdiction: str, person_id: str = "admin-1") -> Administrator:
    return Administrator(person_id, (Grant("ga-1", "civil_affairs", "admin", jurisdiction),))


# -- sign-in ------------------------------------------------------------------------------


def test_a_right_password_signs_in_under_the_first_grant():
    assert decide(given(CREATED, GRANTED), attempt()) == [SignedIn(PERSON, PERSON, "s-1", "g-1", "10.0.0.1", False)]


def test_five_wrong_passwords_in_a_row_lock_the_account_for_the_policy_time():
    state = given(CREATED, GRANTED, *[SignInFailed(PERSON, PERSON, "10.0.0.1", "bad_password", n) for n in (1, 2, 3, 4)])
    events = decide(state, attempt(password_matched=False))
    assert events == [SignInFailed(PERSON, PERSON, "10.0.0.1", "bad_password", 5),
                      AccountLocked(PERSON, "system:accounts", "2026-11-23T02:15:00.000000Z",
                                    "5 failed sign-ins in a row")]
    locked = evolve_all(state, events)
    # While locked, even the right password is refused without being looked at.
    refused = decide(locked, attempt(now=NOW + timedelta(minutes=5)))
    assert [e.reason for e in refused] == ["locked"]
    assert isinstance(refusal_of(refused, locked), AccountLockedError)
    # After the lock's time, the right password works and the count starts again.
    assert isinstance(decide(locked, attempt(now=NOW + timedelta(minutes=16)))[0], SignedIn)
    again = decide(locked, attempt(password_matched=False, now=NOW + timedelta(minutes=16)))
    assert again == [SignInFailed(PERSON, PERSON, "10.0.0.1", "bad_password", 1)]


def test_an_administrator_unlocks_and_a_success_resets_the_count():
    state = given(CREATED, GRANTED, SignInFailed(PERSON, PERSON, "a", "bad_password", 1),
                  AccountLocked(PERSON, "system:accounts", None, "by hand"))
    assert decide(state, Unlock(PERSON, "called", "admin-1")) == [AccountUnlocked(PERSON, "admin-1", "called")]
    assert given(CREATED, GRANTED, SignInFailed(PERSON, PERSON, "a", "bad_password", 3),
                 SignedIn(PERSON, PERSON, "s", "g-1", "a", False)).consecutive_failures == 0


def test_a_second_factor_is_required_and_checked():
    state = given(CREATED, GRANTED)
    assert [e.reason for e in decide(state, attempt(second_factor_required=True))] == ["one_time_password_required"]
    wrong = decide(state, attempt(second_factor_required=True, one_time_password_given=True))
    assert [(e.reason, e.consecutive_failures) for e in wrong] == [("bad_one_time_password", 1)]
    assert refusal_of(wrong).field == "one_time_password"
    right = decide(state, attempt(second_factor_required=True, one_time_password_given=True,
                                  one_time_password_matched=True))
    assert right[0].second_factor_used is True


def test_a_code_whose_step_was_already_used_is_refused_and_counts_towards_the_lock():
    state = given(CREATED, GRANTED, SignInFailed(PERSON, PERSON, "a", "bad_password", 4))
    replayed = decide(state, attempt(second_factor_required=True, one_time_password_given=True,
                                     one_time_password_matched=True, one_time_password_reused=True))
    assert [type(e) for e in replayed] == [SignInFailed, AccountLocked]
    assert (replayed[0].reason, replayed[0].consecutive_failures) == ("one_time_password_reused", 5)
    first = decide(given(CREATED, GRANTED), attempt(second_factor_required=True, one_time_password_given=True,
                                                    one_time_password_matched=True, one_time_password_reused=True))
    assert [e.reason for e in first] == ["one_time_password_reused"]
    refusal = refusal_of(first)
    assert refusal.field == "one_time_password" and "already used" in refusal.message


def test_suspended_left_and_grantless_people_do_not_sign_in():
    suspended = given(CREATED, GRANTED, PersonSuspended(PERSON, "admin-1", "investigation"))
    assert refusal_of(decide(suspended, attempt())).message.startswith("this account is suspended")
    assert [e.reason for e in decide(given(CREATED), attempt())] == ["no_grant"]
    with pytest.raises(CommandRejected):
        decide(given(CREATED, GRANTED, PersonLeft(PERSON, "admin-1", "retired", date(2026, 11, 1))),
               Suspend(PERSON, "x", "admin-1"))


def test_a_wrong_password_is_refused_without_saying_whether_the_login_exists():
    error = refusal_of(decide(given(CREATED, GRANTED), attempt(password_matched=False)))
    assert isinstance(error, AuthenticationError) and error.message == "wrong login name or password"


# -- sessions, tokens, suspension ----------------------------------------------------------------


def test_suspension_ends_every_session():
    state = given(CREATED, GRANTED, SignedIn(PERSON, PERSON, "s-1", "g-1", "a", False),
                  SignedIn(PERSON, PERSON, "s-2", "g-1", "b", False), SignedOut(PERSON, PERSON, "s-2", "signed_out"))
    assert decide(state, Suspend(PERSON, "investigation", "admin-1")) == [
        PersonSuspended(PERSON, "admin-1", "investigation"), SignedOut(PERSON, "admin-1", "s-1", "suspended")]


def test_revoking_a_grant_revokes_its_tokens_and_ends_its_sessions():
    state = given(CREATED, GRANTED, ApiTokenIssued(PERSON, PERSON, "t-1", "g-1", "phone", "2026-11-24T00:00:00Z"),
                  SignedIn(PERSON, PERSON, "s-1", "g-1", "a", False))
    assert decide(state, RevokeRole(PERSON, "g-1", "moved", "admin-1")) == [
        RoleRevoked(PERSON, "admin-1", "g-1", "moved"), ApiTokenRevoked(PERSON, "admin-1", "its grant was revoked", "t-1"),
        SignedOut(PERSON, "admin-1", "s-1", "grant_revoked")]


def test_tokens_are_short_lived_and_name_a_held_grant():
    state = given(CREATED, GRANTED)
    issued = decide(state, IssueApiToken(PERSON, "t-1", "g-1", "phone", 1, PERSON, NOW))
    assert issued == [ApiTokenIssued(PERSON, PERSON, "t-1", "g-1", "phone", "2026-11-24T02:00:00.000000Z")]
    with pytest.raises(CommandRejected):
        decide(state, IssueApiToken(PERSON, "t-2", "g-1", "phone", SignInPolicy().api_token_max_days + 1, PERSON, NOW))
    with pytest.raises(NotFoundError):
        decide(state, IssueApiToken(PERSON, "t-3", "g-nope", "phone", 1, PERSON, NOW))


def test_leaving_ends_sessions_and_tokens_first():
    state = given(CREATED, GRANTED, ApiTokenIssued(PERSON, PERSON, "t-1", "g-1", "x", "2026-11-24T00:00:00Z"),
                  SignedIn(PERSON, PERSON, "s-1", "g-1", "a", False))
    events = decide(state, RecordLeaving(PERSON, date(2026, 11, 30), "retired", "admin-1"))
    assert [type(e).__name__ for e in events] == ["SignedOut", "ApiTokenRevoked", "PersonLeft"]
    after = evolve_all(state, events)
    assert after.status == "left" and not after.grants and not after.tokens


def test_granting_what_is_held_already_changes_nothing():
    state = given(CREATED, GRANTED)
    again = GrantRole(PERSON, Grant("g-2", "civil_affairs", "village_worker", VILLAGE), "ga-1", "admin-1")
    assert decide(state, again) == []


# -- who administers whom ----------------------------------------------------------------------


@pytest.mark.parametrize("admin, role, place, refused_field", [
    (admin_at(COUNTY), "village_worker", VILLAGE, None),
    (admin_at(COUNTY), "township_officer", TOWNSHIP, None),
    (admin_at(COUNTY), "county_coordinator", COUNTY, None),
    (admin_at(COUNTY), "village_worker", "410922100201", "jurisdiction"),     # another county
    (admin_at(COUNTY), "admin", COUNTY, "role"),                              # a peer administrator
    (admin_at(COUNTY), "admin", TOWNSHIP, None),                              # one level down
    (admin_at(COUNTY), "city_coordinator", CITY, "jurisdiction"),             # above their reach
    (admin_at(CITY), "admin", COUNTY, None),                                  # the city makes county admins
    (admin_at(CITY), "admin", CITY, "role"),
    (Administrator("cadre", (Grant("g", "civil_affairs", "village_worker", VILLAGE),)), "village_worker",
     VILLAGE, "actor"),
    (Administrator("cadre", ()), "village_worker", VILLAGE, "actor"),
    (Administrator.system("bootstrap"), "admin", "000000000000", None),
])
def test_who_may_grant_what_where(admin, role, place, refused_field):
    # A non-admin grant never reaches grant_refusal as an admin grant (Administrator.of keeps only those).
    if admin.grants and admin.grants[0].role != "admin":
        admin = Administrator(admin.by, ())
    refusal = grant_refusal(admin, role, place)
    assert (refusal[0] if refusal else None) == refused_field, refusal


def test_an_administrator_manages_only_people_they_could_have_granted():
    cadre = given(CREATED, GRANTED)
    assert manage_refusal(admin_at(COUNTY), cadre) is None
    assert "outside your jurisdiction" in manage_refusal(admin_at(OTHER_COUNTY), cadre)
    county_admin = fold("p-2", [PersonCreated("p-2", "x", "county-admin", "张", None, COUNTY),
                                RoleGranted("p-2", "x", "g-2", "civil_affairs", "admin", COUNTY, None)])
    assert manage_refusal(admin_at(COUNTY, "other-admin"), county_admin)       # a peer
    assert manage_refusal(admin_at(CITY), county_admin) is None


@pytest.mark.parametrize("role, level, refused", [
    ("village_worker", "village", False), ("village_worker", "township", True), ("township_officer", "township", False),
    ("county_coordinator", "village", True), ("city_coordinator", "city", False), ("auditor", "county", False),
])
def test_a_role_is_held_at_its_level(role, level, refused):
    assert bool(level_refusal(role, level)) is refused


# -- departments as data -----------------------------------------------------------------------


def test_the_default_departments_are_the_nine_and_jincheng_adds_its_committee():
    from contracts.actors import DEFAULT_DEPARTMENTS
    book = load_policy_file("policies/departments.yml", DepartmentBook.from_dict, "DEPARTMENTS_POLICY_FILE")
    assert tuple(book.on(COUNTY, date(2024, 1, 1)).names) == DEFAULT_DEPARTMENTS
    jincheng = book.on("140522000000", date(2024, 1, 1))
    assert "political_legal_committee" in jincheng and jincheng.convenor == "civil_affairs"
    assert "political_legal_committee" not in book.on("140522000000", date(2022, 12, 31))


def test_department_changes_apply_from_their_date_and_are_inherited():
    book = DepartmentBook([
        DepartmentChange("", date(2017, 1, 1), add=(("civil_affairs", DepartmentName("民政", "Civil affairs")),
                                                     ("culture", DepartmentName("文化", "Culture"))),
                         joint_meeting=("civil_affairs", ("civil_affairs", "culture"))),
        DepartmentChange("4109", date(2025, 1, 1), retire=("culture",)),
    ])
    assert "culture" in book.on(VILLAGE, date(2024, 12, 31))
    after = book.on(VILLAGE, date(2025, 1, 1))
    assert "culture" not in after and after.members == ("civil_affairs",)      # a retired member leaves the meeting
    assert "culture" in book.on("140522000000", date(2025, 1, 1))


def test_a_bad_department_policy_names_the_entry():
    with pytest.raises(PolicyError) as bad:
        DepartmentBook.from_dict({"department_policies": [{"jurisdiction": "", "effective_from": "2017-01-01",
                                                           "add": {"Civil Affairs": {"zh": "民政", "en": "x"}}}]})
    assert "department_policies[0]" in bad.value.message


# -- passwords ----------------------------------------------------------------------------------


@pytest.mark.parametrize("password, weak", [
    ("short", True), ("password123", True), ("qwertyuiop", True), ("1234567890", True),
    ("cadre-cadre-cadre", True), ("lantern-orchard-47-ferry", False), ("这是一个很长的中文密码短语", False),
])
def test_weak_passwords_are_refused(password, weak):
    assert bool(password_rules().problems(password, "cadre", "李明")) is weak


def test_county_level_finance_auditor_and_admin_grants_need_a_second_factor():
    from services.accounts.handlers import second_factor_required

    def person(department, role, place):
        return given(CREATED, RoleGranted(PERSON, "a", "g", department, role, place, None))
    assert not second_factor_required(person("civil_affairs", "village_worker", VILLAGE))
    assert not second_factor_required(person("civil_affairs", "township_officer", TOWNSHIP))
    assert second_factor_required(person("health", "department_officer", COUNTY))
    assert second_factor_required(person("finance", "village_worker", VILLAGE))
    assert second_factor_required(person("civil_affairs", "auditor", TOWNSHIP))
    assert second_factor_required(person("civil_affairs", "admin", TOWNSHIP))
