"""``eldercare broker users``: each process its own broker user, with the permissions of
``contracts.broker_permissions``, through the RabbitMQ management API (what the k8s
manifests' User/Permission/TopicPermission resources do on a cluster)."""
from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import quote, urlsplit

import requests
import yaml

from contracts.broker_permissions import TOPOLOGY_USER, all_permissions, topology_permissions


class ManagementApi:
    """The few management API calls this needs; ``api_url`` carries the admin's credentials."""

    def __init__(self, api_url: str, timeout: float = 10.0):
        parts = urlsplit(api_url)
        self.base = f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}/api"
        self.auth = (parts.username or "guest", parts.password or "guest")
        self.timeout = timeout

    def put(self, *path: str, body: dict) -> None:
        url = "/".join([self.base, *(quote(p, safe="") for p in path)])
        response = requests.put(url, json=body, auth=self.auth, timeout=self.timeout)
        response.raise_for_status()


def passwords_for(path: str | Path) -> dict[str, str]:
    """Each user's password from a YAML file (mode 0600), adding a generated one for a user
    that has none yet."""
    path = Path(path)
    known = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.exists() else {}
    users = [p.user for p in all_permissions()] + [TOPOLOGY_USER]
    missing = [user for user in users if user not in known]
    if missing:
        known.update({user: secrets.token_urlsafe(24) for user in missing})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        path.write_text(yaml.safe_dump(known, sort_keys=True), encoding="utf-8")
    return known


def apply_users(api: ManagementApi, vhost: str, passwords: dict[str, str], prefix: str = "") -> list[str]:
    """Create or update every process's user and the topology user on ``vhost``; returns the
    users. ``prefix`` goes before each user name (users are per broker, not per vhost)."""
    applied = []
    for permissions in all_permissions():
        user = prefix + permissions.user
        api.put("users", user, body={"password": passwords[permissions.user], "tags": ""})
        api.put("permissions", vhost, user, body=permissions.as_management_api())
        api.put("topic-permissions", vhost, user,
                body={"exchange": permissions.topic_exchange, "write": permissions.topic_write,
                      "read": permissions.topic_read})
        applied.append(user)
    api.put("users", prefix + TOPOLOGY_USER, body={"password": passwords[TOPOLOGY_USER], "tags": ""})
    api.put("permissions", vhost, prefix + TOPOLOGY_USER, body=topology_permissions())
    return applied + [prefix + TOPOLOGY_USER]


def delete_users(api: ManagementApi, users) -> None:
    for user in users:
        requests.delete(f"{api.base}/users/{quote(user, safe='')}", auth=api.auth, timeout=api.timeout)


def amqp_uri_for(base_uri: str, user: str, password: str) -> str:
    """``base_uri`` (host, port, vhost) with ``user``'s credentials."""
    parts = urlsplit(base_uri)
    host = f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname
    return f"{parts.scheme}://{quote(user, safe='')}:{quote(password, safe='')}@{host}{parts.path or '/'}"


K8S_VHOST = "eldercare"
K8S_CLUSTER = "rabbitmq"
KEDA_USER = "eldercare-keda"


def secret_name(user: str) -> str:
    """``eldercare-amqp-<process>``: ``username``, ``password`` and ``uri`` of one broker user."""
    return "eldercare-amqp-" + user.removeprefix("eldercare-")


def manifests(vhost: str = K8S_VHOST, cluster: str = K8S_CLUSTER) -> list[dict]:
    """The messaging-topology-operator's User, Permission and TopicPermission resources
    giving each process the permissions ``eldercare broker-users`` applies
    (``k8s/base/broker-users.yaml`` is this, written out)."""
    reference = {"name": cluster}

    def user(name):
        return {"apiVersion": "rabbitmq.com/v1beta1", "kind": "User", "metadata": {"name": name, "labels": LABELS},
                "spec": {"rabbitmqClusterReference": reference, "tags": [],
                         "importCredentialsSecret": {"name": secret_name(name)}}}

    def permission(name, grants):
        return {"apiVersion": "rabbitmq.com/v1beta1", "kind": "Permission",
                "metadata": {"name": name, "labels": LABELS},
                "spec": {"vhost": vhost, "userReference": {"name": name}, "rabbitmqClusterReference": reference,
                         "permissions": grants}}

    objects = []
    for grants in all_permissions():
        objects += [user(grants.user), permission(grants.user, grants.as_management_api()),
                    {"apiVersion": "rabbitmq.com/v1beta1", "kind": "TopicPermission",
                     "metadata": {"name": grants.user, "labels": LABELS},
                     "spec": {"vhost": vhost, "userReference": {"name": grants.user},
                              "rabbitmqClusterReference": reference,
                              "permissions": {"exchange": grants.topic_exchange, "write": grants.topic_write,
                                              "read": grants.topic_read}}}]
    # The topology job's user, and KEDA's: on the vhost, but it only declares queues passively.
    objects += [user(TOPOLOGY_USER), permission(TOPOLOGY_USER, topology_permissions()),
                user(KEDA_USER), permission(KEDA_USER, {"configure": "^$", "write": "^$", "read": "^$"})]
    return objects


LABELS = {"app.kubernetes.io/name": "rabbitmq", "app.kubernetes.io/component": "broker-users",
          "app.kubernetes.io/part-of": "eldercare"}
MANIFEST_HEADER = """\
# Each process its own broker user (issue 25): publish only to its own exchanges, read only
# its own queues. Written by `python -m cli.broker` from contracts/broker_permissions.py
# (tests/k8s/test_broker_users.py holds them equal); applied by the RabbitMQ Messaging
# Topology Operator. Credentials: the Secret eldercare-amqp-<process> (k8s/README.md).
"""


if __name__ == "__main__":
    from kernel.config import repository_path
    Path(repository_path("k8s/base/broker-users.yaml")).write_text(
        MANIFEST_HEADER + yaml.safe_dump_all(manifests(), sort_keys=False, width=200), encoding="utf-8")
