"""The division table is shared reference data: it lives in ``kernel.divisions``."""
from kernel.divisions import *  # noqa: F401,F403
from kernel.divisions import DEFAULT_DIVISION_FILES, DivisionTable  # noqa: F401
