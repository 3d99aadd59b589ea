"""Rendered manifests against the Kubernetes JSON schemas (kubernetes-validate, strict: an
unknown field is an error) and custom resources against the operators' CRD schemas vendored
under k8s/crds/ (see its README for their source and fidelity)."""
import copy

import kubernetes_validate
import pytest

from tests.k8s.conftest import rendered
from tests.k8s.crd_schema import CrdCatalogue

KUBERNETES_VERSION = "1.31"       # the oldest minor the platform runs; KEDA 2.16 supports 1.29-1.31
CRDS = CrdCatalogue()


def builtin_errors(obj) -> list[str]:
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{'/'.join(str(p) for p in error.path)}: {error.message}"]
    return []


def test_every_builtin_object_is_valid_for_kubernetes(objects):
    problems = {}
    for obj in objects:
        if not CRDS.knows(obj):
            errors = builtin_errors(obj)
            if errors:
                problems[f"{obj['kind']}/{obj['metadata']['name']}"] = errors
    assert not problems


def test_every_custom_resource_is_valid_for_its_operator(objects):
    custom = [o for o in objects if CRDS.knows(o)]
    kinds = {o["kind"] for o in custom}
    assert kinds == {"RabbitmqCluster", "Cluster", "Database", "ScaledObject", "TriggerAuthentication"}
    problems = {f"{o['kind']}/{o['metadata']['name']}": CRDS.errors(o) for o in custom}
    assert not {k: v for k, v in problems.items() if v}


def test_no_kind_goes_unvalidated(objects):
    for obj in objects:
        if CRDS.knows(obj):
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            pytest.fail(f"{obj['apiVersion']} {obj['kind']} has neither a Kubernetes schema nor a vendored CRD")
        except kubernetes_validate.ValidationError:
            pass                                   # reported by the test above


def test_the_vendored_crds_are_valid_custom_resource_definitions():
    assert len(CRDS.documents) == 5
    for crd in CRDS.documents:
        assert builtin_errors(crd) == [], crd["metadata"]["name"]
        assert crd["metadata"]["annotations"]["eldercare.example.org/source"].startswith("https://github.com/")


def _find(kind, name=None, overlay="prod"):
    return copy.deepcopy(next(o for o in rendered(overlay)
                              if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)))


@pytest.mark.parametrize("mutate, expected", [
    (lambda o: o["spec"].update(replica=3), "replica"),                                    # a typo
    (lambda o: o["spec"].update(replicas="3"), "replicas"),                                # wrong type
    (lambda o: o["spec"]["service"].update(type="External"), "service/type"),             # not in the enum
    (lambda o: o["spec"]["rabbitmq"].update(additionalPlugins=["bad plugin"]), "additionalPlugins"),
])
def test_a_wrong_rabbitmq_cluster_is_caught(mutate, expected):
    cluster = _find("RabbitmqCluster")
    mutate(cluster)
    errors = CRDS.errors(cluster)
    assert errors and any(expected in e for e in errors), errors


@pytest.mark.parametrize("mutate, expected", [
    (lambda o: o["spec"].pop("instances"), "instances"),
    (lambda o: o["spec"]["postgresql"]["parameters"].update(wal_compression=True), "wal_compression"),
    (lambda o: o["spec"]["managed"]["roles"][0].update(ensure="yes"), "ensure"),
    (lambda o: o["spec"]["managed"]["roles"][0]["passwordSecret"].pop("name"), "passwordSecret"),
    (lambda o: o["spec"].update(primaryUpdateStrategy="automatic"), "primaryUpdateStrategy"),
])
def test_a_wrong_postgres_cluster_is_caught(mutate, expected):
    cluster = _find("Cluster")
    mutate(cluster)
    errors = CRDS.errors(cluster)
    assert errors and any(expected in e for e in errors), errors


@pytest.mark.parametrize("mutate, expected", [
    (lambda o: o["spec"]["triggers"][0].pop("metadata"), "metadata"),
    (lambda o: o["spec"]["triggers"][0]["metadata"].update(value=20), "value"),           # must be a string
    (lambda o: o["spec"]["scaleTargetRef"].pop("name"), "name"),
    (lambda o: o["spec"].update(minReplicas=2), "minReplicas"),                           # HPA's name, not KEDA's
])
def test_a_wrong_scaled_object_is_caught(mutate, expected):
    scaled = _find("ScaledObject", "visits")
    mutate(scaled)
    errors = CRDS.errors(scaled)
    assert errors and any(expected in e for e in errors), errors


def test_a_wrong_builtin_object_is_caught():
    deployment = _find("Deployment", "registry")
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFs"] = True
    assert builtin_errors(deployment)
    deployment = _find("Deployment", "registry")
    deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = []
    assert builtin_errors(deployment)
