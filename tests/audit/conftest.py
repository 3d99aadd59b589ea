import pytest

from contracts.services import SEALING_SERVICES


@pytest.fixture(autouse=True)
def _isolated_witnesses(tmp_path, monkeypatch):
    """The audit CLI reads every service's database as a witness; point each at this test's
    own directory (tests override the ones they use) so nothing in ./var is ever read."""
    for service in SEALING_SERVICES + ("audit",):
        monkeypatch.setenv(f"{service.upper()}_DATABASE_URL", f"sqlite:///{tmp_path / ('witness_' + service + '.db')}")
