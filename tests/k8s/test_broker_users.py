"""The broker users the manifests declare are the ones ``contracts.broker_permissions`` defines
(``eldercare broker-users`` applies the same set; tests/visits/test_broker_users.py shows it on a
real broker), and every process connects as its own user."""
import pytest

from cli.broker import manifests, secret_name
from contracts.services import PROCESSES

KINDS = ("User", "Permission", "TopicPermission")


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_the_rendered_broker_users_are_the_catalogues(overlay):
    from tests.k8s.conftest import rendered
    objects = rendered(overlay)
    found = {(o["kind"], o["metadata"]["name"]): o["spec"] for o in objects if o["kind"] in KINDS}
    expected = {(o["kind"], o["metadata"]["name"]): o["spec"] for o in manifests()}
    assert found == expected
    assert {name for kind, name in found if kind == "TopicPermission"} == {f"eldercare-{p}" for p in PROCESSES}


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_every_process_connects_as_its_own_user(overlay):
    from tests.k8s.conftest import rendered
    for obj in rendered(overlay):
        if obj["kind"] != "Deployment":
            continue
        process = obj["metadata"]["name"]
        pod = obj["spec"]["template"]["spec"]
        for container in pod.get("initContainers", []) + pod["containers"]:
            [secret] = [e["valueFrom"]["secretKeyRef"]["name"] for e in container.get("env", [])
                        if e["name"] == "AMQP_URI"]
            expected = "eldercare-amqp-topology" if container["name"] == "topology" else secret_name(process)
            assert secret == expected, (process, container["name"])
