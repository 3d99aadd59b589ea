"""The accounts service's pure domain: people and their grants, sign-in, who administers
whom, departments as data, password rules."""
from .departments import DepartmentBook, DepartmentChange, DepartmentName, Departments
from .passwords import PasswordRules
from .person import *  # noqa: F401,F403 - commands, events, state and decisions of a person
from .person import PERSON_EVENTS, Grant, PersonState, SignInPolicy, decide, evolve, evolve_all, fold
from .reach import Administrator, covering_grant, grant_refusal, level_refusal, manage_refusal, within

EVENT_TYPES = {cls.TYPE: cls for cls in PERSON_EVENTS}
