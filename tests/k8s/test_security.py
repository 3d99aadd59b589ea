"""What a platform team checks on every workload, asserted on the rendered overlays: security
settings, probes, resources, pinned images, budgets, network policies, autoscaling, no secret
in configuration, migrations before serving, and the broker/database shape per environment."""
import re

import pytest

from contracts.services import SERVICES
from tests.k8s.conftest import K8S, rendered

REPOSITORY = K8S.parent
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicaSet"}
SERVICES_WITH_DATABASES = ("registry", "visits", "facilities", "notifications", "subsidies", "audit", "accounts",
                           "imports", "surveys", "departments", "orders")


def workloads(objects):
    return [o for o in objects if o["kind"] in WORKLOAD_KINDS]


def pod_spec(workload):
    if workload["kind"] == "Pod":
        return workload["spec"]
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return workload["spec"]["template"]["spec"]


def containers(spec):
    return [*spec.get("initContainers", []), *spec["containers"]]


def by_kind(objects, kind):
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def test_every_pod_runs_as_non_root_with_the_runtime_default_seccomp_profile(objects):
    assert workloads(objects)
    for workload in workloads(objects):
        spec = pod_spec(workload)
        context = spec.get("securityContext", {})
        name = workload["metadata"]["name"]
        assert context.get("runAsNonRoot") is True, name
        assert context.get("runAsUser", 0) > 0 and context.get("runAsGroup", 0) > 0, name
        assert context.get("seccompProfile", {}).get("type") == "RuntimeDefault", name
        assert spec.get("automountServiceAccountToken") is False, name
        assert spec.get("hostNetwork") is not True and spec.get("hostPID") is not True, name


def test_every_container_is_locked_down(objects):
    for workload in workloads(objects):
        for container in containers(pod_spec(workload)):
            where = f"{workload['metadata']['name']}/{container['name']}"
            context = container.get("securityContext", {})
            assert context.get("allowPrivilegeEscalation") is False, where
            assert context.get("readOnlyRootFilesystem") is True, where
            assert context.get("privileged") is not True, where
            assert context.get("runAsNonRoot") is not False, where
            assert context.get("capabilities", {}).get("drop") == ["ALL"], where
            assert not context.get("capabilities", {}).get("add"), where


def test_every_container_has_requests_and_limits(objects):
    for workload in workloads(objects):
        for container in containers(pod_spec(workload)):
            resources = container.get("resources", {})
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(bound, {})), f"{container['name']} {bound}"


def test_every_image_is_pinned(objects):
    pinned = re.compile(r"^[\w.\-/:]+(:[\w.\-]+|@sha256:[0-9a-f]{64})$")
    images = [c["image"] for w in workloads(objects) for c in containers(pod_spec(w))]
    images += [o["spec"]["image"] for o in objects if o["kind"] == "RabbitmqCluster"]
    images += [o["spec"]["imageName"] for o in objects if o["kind"] == "Cluster"]
    for image in images:
        tag = image.rsplit("/", 1)[-1]
        assert pinned.match(image) and (":" in tag or "@" in image), image
        assert not image.endswith(":latest"), image


def test_every_service_is_probed_by_its_own_rpc_ping_and_the_gateway_over_http(objects):
    for name, deployment in by_kind(objects, "Deployment").items():
        [main] = pod_spec(deployment)["containers"]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert probe in main, f"{name}: {probe}"
        if name == "gateway":
            port = main["ports"][0]
            assert (port["name"], port["containerPort"]) == ("http", 8000)
            assert main["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
            assert main["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
        else:
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                command = main[probe]["exec"]["command"]
                assert command[:3] == ["eldercare", "wait", name], command
                # `eldercare wait` waits up to 10 s for an RPC reply: the probe must allow more.
                assert main[probe]["timeoutSeconds"] > 10


def test_the_deployments_run_what_the_procfile_runs():
    procfile = (REPOSITORY / "Procfile").read_text().splitlines()
    expected = {line.split(":", 1)[0]: line.split()[-1] for line in procfile if line.strip()}
    expected["gateway"] = "gateway.service:GatewayService"
    for overlay in ("dev", "prod"):
        deployments = by_kind(rendered(overlay), "Deployment")
        assert set(deployments) == set(expected)
        for name, deployment in deployments.items():
            assert pod_spec(deployment)["containers"][0]["args"] == [expected[name]], name


def test_each_service_migrates_its_database_and_declares_the_topology_before_it_serves(objects):
    deployments = by_kind(objects, "Deployment")
    for name in SERVICES_WITH_DATABASES:
        spec = pod_spec(deployments[name])
        steps = [" ".join(c.get("command", [])) for c in spec.get("initContainers", [])]
        assert len(steps) == 2, name
        assert steps[0] == f"eldercare migrate {name}" or f"upgrade('{name}'" in steps[0], steps
        assert steps[1] == "eldercare topology"
        env = {e["name"]: e for e in spec["containers"][0]["env"]}
        for init in spec["initContainers"]:
            init_env = {e["name"]: e for e in init["env"]}
            assert init_env[f"{name.upper()}_DATABASE_URL"] == env[f"{name.upper()}_DATABASE_URL"]


def test_autoscalers_own_the_replica_counts(objects):
    deployments = by_kind(objects, "Deployment")
    scaled = {o["spec"]["scaleTargetRef"]["name"]: o for o in objects if o["kind"] == "ScaledObject"}
    hpas = {o["spec"]["scaleTargetRef"]["name"]: o for o in objects if o["kind"] == "HorizontalPodAutoscaler"}
    assert set(scaled) == set(SERVICES_WITH_DATABASES) and set(hpas) == {"gateway"}
    for name, deployment in deployments.items():
        assert "replicas" not in deployment["spec"], f"{name}: the autoscaler owns replicas"
    for name, scaled_object in scaled.items():
        queues = [t["metadata"]["queueName"] for t in scaled_object["spec"]["triggers"]]
        # the RPC queue and each of the service's own consumer queues (a service with none
        # scales on its RPC queue alone)
        assert {f"rpc-{name}"} | {f"{name}.{c.handler}" for c in SERVICES[name].consumes} <= set(queues), queues
        assert all(t["authenticationRef"]["name"] == "rabbitmq" for t in scaled_object["spec"]["triggers"])
        assert scaled_object["spec"]["minReplicaCount"] <= scaled_object["spec"]["maxReplicaCount"]


def test_prod_keeps_two_replicas_and_a_disruption_budget_for_each(overlay, objects):
    budgets = by_kind(objects, "PodDisruptionBudget")
    for name, deployment in by_kind(objects, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        matching = [b for b in budgets.values() if selects(b["spec"]["selector"], labels)]
        assert len(matching) == 1, name
    if overlay == "prod":
        for obj in objects:
            if obj["kind"] == "ScaledObject":
                assert obj["spec"]["minReplicaCount"] >= 2
            if obj["kind"] == "HorizontalPodAutoscaler":
                assert obj["spec"]["minReplicas"] >= 2
        assert all(b["spec"].get("minAvailable") == 1 for b in budgets.values())


def test_every_pod_uses_its_own_service_account(objects):
    accounts = by_kind(objects, "ServiceAccount")
    for name, deployment in by_kind(objects, "Deployment").items():
        assert pod_spec(deployment)["serviceAccountName"] == name
        assert accounts[name]["automountServiceAccountToken"] is False


def _egress_ports(policy):
    return {(p.get("protocol", "TCP"), p["port"]) for rule in policy["spec"].get("egress", [])
            for p in rule.get("ports", [])}


def test_network_policies_deny_by_default_and_services_reach_only_broker_dns_and_database(objects):
    policies = by_kind(objects, "NetworkPolicy")
    assert policies["default-deny"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for name in SERVICES_WITH_DATABASES:
        policy = policies[name]
        assert policy["spec"]["ingress"] == [], name
        assert _egress_ports(policy) == {("TCP", 5672), ("TCP", 5432), ("UDP", 53), ("TCP", 53)}
        targets = [peer for rule in policy["spec"]["egress"] for peer in rule["to"]]
        assert {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "rabbitmq"}}} in targets
        assert {"podSelector": {"matchLabels": {"cnpg.io/cluster": "postgres"}}} in targets
        assert all(rule.get("to") for rule in policy["spec"]["egress"]), "no egress to anywhere"
    gateway = policies["gateway"]
    # The ingress controller, and Prometheus (whose scrape of /metrics carries its bearer token).
    ingress, scrape = gateway["spec"]["ingress"]
    assert ingress["ports"] == scrape["ports"] == [{"protocol": "TCP", "port": 8000}]
    assert ingress["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "ingress-nginx"}
    assert scrape["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
                               "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}]
    assert _egress_ports(gateway) == {("TCP", 5672), ("UDP", 53), ("TCP", 53)}


def test_the_gateway_is_served_over_tls(objects):
    [ingress] = by_kind(objects, "Ingress").values()
    hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
    covered = {host for tls in ingress["spec"]["tls"] for host in tls["hosts"]}
    assert hosts and hosts <= covered
    assert all(tls.get("secretName") for tls in ingress["spec"]["tls"])
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"


SECRET_LOOKING = re.compile(r"(PASSWORD|SECRET|TOKEN|PRIVATE|CREDENTIAL|_URI$|_URL$)", re.I)


def test_no_secret_is_written_into_configuration(objects):
    assert not [o for o in objects if o["kind"] == "Secret"], "secrets are created outside git (k8s/README.md)"
    for config in by_kind(objects, "ConfigMap").values():
        for key, value in (config.get("data") or {}).items():
            assert not SECRET_LOOKING.search(key), key
            assert not re.search(r"://[^/@\s]+:[^/@\s]+@", str(value)), key
    for workload in workloads(objects):
        for container in containers(pod_spec(workload)):
            defined_from_secrets = set()
            for env in container.get("env", []):
                if "valueFrom" in env:
                    assert "secretKeyRef" in env["valueFrom"] or "fieldRef" in env["valueFrom"]
                    defined_from_secrets.add(env["name"])
                    continue
                value = str(env.get("value", ""))
                credentials = re.search(r"://[^/@\s]+:([^/@\s]+)@", value)
                if credentials:   # a password in a URL may only be a reference to a secret
                    assert re.fullmatch(r"\$\((\w+)\)", credentials.group(1)), env["name"]
                    assert credentials.group(1)[2:-1] in defined_from_secrets, env["name"]
                assert not SECRET_LOOKING.search(env["name"]) or credentials or env["name"] == "WEB_SERVER_ADDRESS", env["name"]


def referenced_secrets(objects) -> set[str]:
    names = set()
    for workload in workloads(objects):
        spec = pod_spec(workload)
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                names.add(volume["secret"]["secretName"])
        for container in containers(spec):
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    names.add(ref["name"])
    for obj in objects:
        for ref in obj.get("spec", {}).get("secretTargetRef", []) if obj["kind"] == "TriggerAuthentication" else []:
            names.add(ref["name"])
        if obj["kind"] == "Cluster":
            names |= {r["passwordSecret"]["name"] for r in obj["spec"]["managed"]["roles"]}
        if obj["kind"] == "Ingress":
            names |= {tls["secretName"] for tls in obj["spec"]["tls"]}
    return names


def test_every_secret_the_manifests_need_is_documented(objects):
    readme = (K8S / "README.md").read_text()
    missing = sorted(name for name in referenced_secrets(objects) if f"`{name}`" not in readme)
    assert not missing, f"document these secrets in k8s/README.md: {missing}"


def test_queue_type_is_configuration_quorum_in_prod_and_classic_in_dev():
    for overlay, queue_type, nodes in (("dev", "classic", 1), ("prod", "quorum", 3)):
        objects = rendered(overlay)
        assert by_kind(objects, "ConfigMap")["eldercare-config"]["data"]["QUEUE_TYPE"] == queue_type
        assert by_kind(objects, "RabbitmqCluster")["rabbitmq"]["spec"]["replicas"] == nodes
        for workload in workloads(objects):
            for container in containers(pod_spec(workload)):
                refs = [e["configMapRef"]["name"] for e in container.get("envFrom", [])]
                assert refs == ["eldercare-config"], container["name"]
                assert "QUEUE_TYPE" not in {e["name"] for e in container.get("env", [])}


def test_postgres_has_one_database_and_one_role_per_service_and_each_role_only_its_own(objects):
    [cluster] = by_kind(objects, "Cluster").values()
    roles = {r["name"]: r for r in cluster["spec"]["managed"]["roles"]}
    databases = {d["spec"]["name"]: d["spec"] for d in by_kind(objects, "Database").values()}
    assert set(roles) == set(databases) == set(SERVICES_WITH_DATABASES)
    for name in SERVICES_WITH_DATABASES:
        assert databases[name]["owner"] == name and databases[name]["cluster"] == {"name": "postgres"}
        assert roles[name]["passwordSecret"] == {"name": f"eldercare-db-{name}"}
        assert not roles[name].get("superuser") and not roles[name].get("createrole")
        hba = cluster["spec"]["postgresql"]["pg_hba"]
        allow, reject = hba.index(f"hostssl {name} {name} all scram-sha-256"), hba.index(f"host all {name} all reject")
        assert allow < reject
    deployments = by_kind(objects, "Deployment")
    for name in SERVICES_WITH_DATABASES:
        env = {e["name"]: e for e in pod_spec(deployments[name])["containers"][0]["env"]}
        url = env[f"{name.upper()}_DATABASE_URL"]["value"]
        assert url.startswith(f"postgresql://{name}:$(DB_PASSWORD)@postgres-rw:5432/{name}?sslmode=verify-full")
        assert env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == f"eldercare-db-{name}"


def test_namespaces_enforce_the_restricted_pod_security_standard(objects):
    [namespace] = by_kind(objects, "Namespace").values()
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("key", ["app.kubernetes.io/name", "app.kubernetes.io/part-of"])
def test_every_object_is_labelled(objects, key):
    unlabelled = [f"{o['kind']}/{o['metadata']['name']}" for o in objects
                  if key not in (o["metadata"].get("labels") or {})]
    assert key == "app.kubernetes.io/name" and all(u.startswith("Namespace/") for u in unlabelled) or not unlabelled, unlabelled


def test_each_process_mounts_its_own_key_and_the_public_key_list_and_no_other_key(objects):
    """Its key signs its checkpoints and the batches its relay publishes (issue 25); the public
    key list is what its consumers check every event against."""
    deployments = by_kind(objects, "Deployment")
    for name in [*SERVICES, "gateway"]:
        spec = pod_spec(deployments[name])
        keys = [item["key"] for volume in spec.get("volumes", [])
                if volume.get("secret", {}).get("secretName") == "eldercare-checkpoint-keys"
                for item in volume["secret"]["items"]]
        assert keys == [f"{name}.ed25519", "public_keys.yml"], name
