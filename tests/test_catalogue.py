"""The service catalogue (``contracts.services``) says what each service class does: the class
it names is that service, answers exactly the RPC methods listed, consumes exactly the queues
listed, and seals its log when (and only when) the catalogue says so."""
import importlib

import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.rpc import Rpc as RpcEntrypoint

from contracts.services import SERVICES, subscriptions
from kernel.consumer import subscriptions_of
from kernel.providers import CheckpointSealer


def service_class(runs: str):
    module, _, attribute = runs.partition(":")
    return getattr(importlib.import_module(module), attribute)


def rpc_methods(cls) -> set[str]:
    return {name for name in dir(cls)
            if any(isinstance(e, RpcEntrypoint) for e in getattr(getattr(cls, name), ENTRYPOINT_EXTENSIONS_ATTR, ()))}


@pytest.mark.parametrize("name", list(SERVICES))
def test_the_catalogue_describes_the_class_it_names(name):
    contract = SERVICES[name]
    cls = service_class(contract.runs)
    assert cls.name == name
    assert rpc_methods(cls) == set(contract.rpc), "RPC methods differ from the catalogue"
    assert sorted(subscriptions_of(cls), key=str) == sorted(subscriptions(name), key=str)
    assert any(isinstance(v, CheckpointSealer) for v in vars(cls).values()) == contract.seals_checkpoints


def test_a_command_answers_with_a_view_and_takes_a_request():
    registry = SERVICES["registry"]
    assert registry.rpc["assess_self_care"].request.__name__ == "AssessSelfCareRequest"
    assert registry.rpc["assess_self_care"].answer.__name__ == "ElderView"
    assert SERVICES["visits"].consumer("on_registry_event").source == "registry"
    with pytest.raises(KeyError):
        SERVICES["visits"].consumer("on_nothing")
