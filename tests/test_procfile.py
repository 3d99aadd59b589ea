"""The Procfile starts exactly the processes of the service catalogue, and each can be set up
by the README's run command: its class imports, is the service the catalogue names, and has a
database migrated by `eldercare migrate` and configured in config.yml."""
import importlib

from contracts.services import PROCESSES
from kernel.config import REPOSITORY_ROOT, load_config
from kernel.providers import ServiceDatabase


def procfile_entries() -> dict[str, str]:
    entries = {}
    for line in (REPOSITORY_ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.split()[-1]
    return entries


def test_the_procfile_runs_every_process_of_the_catalogue_and_nothing_else():
    assert procfile_entries() == {name: process.runs for name, process in PROCESSES.items()}


def test_every_procfile_service_is_migrated_and_configured():
    config = load_config()
    for name, runs in procfile_entries().items():
        module, _, attribute = runs.partition(":")
        service_class = getattr(importlib.import_module(module), attribute)
        assert service_class.name == name
        assert any(isinstance(v, ServiceDatabase) for v in vars(service_class).values()), name
        assert name in config["DATABASES"], f"config.yml has no database for {name}"
