"""Every process the Procfile starts can be set up by the README's run command: its service
class imports, and a service with a database is migrated by `eldercare migrate` and has a
database URL in config.yml."""
import importlib

from kernel.config import REPOSITORY_ROOT, SERVICES, load_config
from kernel.providers import ServiceDatabase


def procfile_classes():
    for line in (REPOSITORY_ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            module, _, attribute = line.split()[-1].partition(":")
            yield getattr(importlib.import_module(module), attribute)


def test_every_procfile_service_is_migrated_and_configured():
    config = load_config()
    classes = list(procfile_classes())
    assert len(classes) >= 7
    for service_class in classes:
        if any(isinstance(v, ServiceDatabase) for v in vars(service_class).values()):
            assert service_class.name in SERVICES, f"eldercare migrate skips {service_class.name}"
            assert service_class.name in config["DATABASES"], f"config.yml has no database for {service_class.name}"
