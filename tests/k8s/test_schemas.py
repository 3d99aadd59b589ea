"""Rendered manifests against the Kubernetes JSON schemas (kubernetes-validate, strict: an
unknown field is an error) and custom resources against the operators' CRD schemas vendored
under k8s/crds/ (the operators' own files, unmodified: see its README for their source)."""
import copy
import hashlib
import re

import kubernetes_validate
import pytest

from tests.k8s.conftest import rendered
from tests.k8s import cel
from tests.k8s.crd_schema import CRD_DIRECTORY, CrdCatalogue

KUBERNETES_VERSION = "1.31"       # the oldest minor the platform runs; KEDA 2.16 supports 1.29-1.31
CRDS = CrdCatalogue(KUBERNETES_VERSION)


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
    assert kinds == {"RabbitmqCluster", "Cluster", "Database", "ScaledObject", "TriggerAuthentication",
                     "User", "Permission", "TopicPermission"}
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
    assert sorted(CRDS.documents) == sorted(UPSTREAM)
    for name, documents in CRDS.documents.items():
        [crd] = documents
        assert builtin_errors(crd) == [], name


def _git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


# k8s/crds/README.md's table: file → (repository, tag, commit, path upstream, git blob SHA-1)
UPSTREAM = {
    row[0]: row[1:] for row in re.findall(
        r"^\| `([\w.]+\.yaml)` \|[^|]+\|[^|]+\| (https://github\.com/[\w-]+/[\w-]+) \| `(v[\d.]+)` \| "
        r"`([0-9a-f]{40})` \| `([\w./]+)` \| `([0-9a-f]{40})` \|$",
        (CRD_DIRECTORY / "README.md").read_text(), re.M)}


def test_the_vendored_crds_are_the_upstream_files_unmodified():
    assert len(UPSTREAM) == 8
    for name, (repository, tag, commit, path, blob) in UPSTREAM.items():
        assert path.endswith("/" + name)
        assert _git_blob_sha1((CRD_DIRECTORY / name).read_bytes()) == blob, f"{name} differs from {repository}@{tag}"


def test_every_cel_rule_is_evaluated_or_is_a_transition_rule():
    rules = []

    def collect(node):
        if isinstance(node, dict):
            rules.extend(r["rule"] for r in node.get("x-kubernetes-validations", []))
            for child in node.values():
                collect(child)
        elif isinstance(node, list):
            for child in node:
                collect(child)
    for documents in CRDS.documents.values():
        collect(documents)
    evaluated = [r for r in rules if not cel.is_transition_rule(r)]
    assert len(rules) == 26 and len(evaluated) == 14       # as k8s/crds/README.md says
    for rule in evaluated:
        cel.evaluate(rule, {})                              # parses: CelUnsupported would raise


def _find(kind, name=None, overlay="prod"):
    return copy.deepcopy(next(o for o in rendered(overlay)
                              if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)))


@pytest.mark.parametrize("mutate, expected", [
    (lambda o: o["spec"].update(replica=3), "replica"),                                    # a typo
    (lambda o: o["spec"].update(replicas="3"), "replicas"),                                # wrong type
    (lambda o: o["spec"]["service"].update(type="External"), "service/type"),             # not in the enum
    (lambda o: o["spec"]["rabbitmq"].update(additionalPlugins=["bad plugin"]), "additionalPlugins"),
    (lambda o: o["spec"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
     .update(topologyKeys=["zone"]), "topologyKeys"),                                  # deep inside affinity
    (lambda o: o["spec"].update(override={"statefulSet": {"spec": {"template": {"spec": {"containers": [
        {"name": "rabbitmq", "image": "a"}, {"name": "rabbitmq", "image": "b"}]}}}}}), "duplicate"),  # list-map key
    (lambda o: o["metadata"].update(lables={"a": "b"}), "lables"),                     # ObjectMeta is strict
    (lambda o: o["metadata"]["labels"].update(replicas=3), "metadata/labels/replicas"),
])
def test_a_wrong_rabbitmq_cluster_is_caught(mutate, expected):
    cluster = _find("RabbitmqCluster")
    mutate(cluster)
    errors = CRDS.errors(cluster)
    assert errors and any(expected in e for e in errors), errors


@pytest.mark.parametrize("mutate, expected", [
    (lambda o: o["spec"].update(instances=0), "instances"),                              # minimum 1
    (lambda o: o["spec"]["managed"]["roles"][0].pop("name"), "'name' is a required property"),
    (lambda o: o["spec"]["postgresql"]["parameters"].update(wal_compression=True), "wal_compression"),
    (lambda o: o["spec"]["managed"]["roles"][0].update(ensure="yes"), "ensure"),
    (lambda o: o["spec"]["managed"]["roles"][0]["passwordSecret"].pop("name"), "passwordSecret"),
    (lambda o: o["spec"].update(primaryUpdateStrategy="automatic"), "primaryUpdateStrategy"),
    (lambda o: o["spec"].update(imageCatalogRef={"apiGroup": "postgresql.cnpg.io", "kind": "ImageCatalog",
                                                 "name": "pg", "major": 15}), "mutually exclusive"),  # CEL
    (lambda o: o["spec"]["postgresql"].update(synchronous={"method": "any", "number": 0}), "greater than zero"),
    (lambda o: o["spec"]["bootstrap"]["initdb"].update(icuLocale="zh-CN"), "icuLocale is only available"),
    (lambda o: o["spec"]["storage"].update(size=50), "storage/size"),
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
    (lambda o: o["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"]["policies"][0]
     .update(periodSecond=60), "periodSecond"),                                          # HPA behavior is checked
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


@pytest.mark.parametrize("mutate, expected", [
    (lambda o: o["spec"].update(name="postgres"), "the name postgres is reserved"),        # CEL
    (lambda o: o["spec"].update(ensure="exists"), "ensure"),
    (lambda o: o["spec"].pop("cluster"), "cluster"),
])
def test_a_wrong_database_is_caught(mutate, expected):
    database = _find("Database", "visits")
    mutate(database)
    errors = CRDS.errors(database)
    assert errors and any(expected in e for e in errors), errors


def test_a_wrong_trigger_authentication_is_caught():
    authentication = _find("TriggerAuthentication")
    authentication["spec"]["secretTargetRef"][0]["secret"] = "eldercare-amqp"            # `name`, not `secret`
    authentication["spec"]["secretTargetRef"][0].pop("name")
    errors = CRDS.errors(authentication)
    assert any("secret" in e for e in errors) and any("name" in e for e in errors), errors


def test_defaults_apply_before_validation_and_transition_rules_wait_for_an_update():
    database = _find("Database", "visits")
    database["spec"].pop("ensure")                      # defaulted to "present", as the API server does
    database["spec"]["encoding"] = "UTF8"               # "encoding is immutable": self == oldSelf
    assert CRDS.errors(database) == []
    cluster = _find("Cluster")
    cluster["spec"].pop("instances")                    # required, but upstream defaults it to 1
    assert CRDS.errors(cluster) == []
