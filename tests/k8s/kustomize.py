"""Render a kustomization in Python: the subset of kustomize (v5) that k8s/ uses.

No kustomize binary can be installed from PyPI, npm or Debian (Debian's kubernetes-client
1.20 embeds kustomize v2.0.3, which predates `patches`), so the tests render the overlays
here. Where `kubectl` with kustomize v5 is on the machine, tests/k8s/test_render.py renders
the same overlays with it and requires the same objects, so this module cannot drift from
kustomize unnoticed.

Supported fields: resources (files and directories), namespace, images, patches (a path or
inline; strategic merge or JSON 6902; with or without target). Anything else in a
kustomization.yaml is an error, not silently ignored. Transformers run in kustomize's order:
patches, then namespace, then images.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path

import jsonpatch
import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}
CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding",
                  "PersistentVolume", "StorageClass", "PriorityClass", "IngressClass",
                  "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "ClusterIssuer"}
# Strategic-merge list keys of the built-in kinds used here (lists of CRDs are replaced whole,
# as kustomize does without their OpenAPI).
MERGE_KEYS = {"containers": "name", "initContainers": "name", "ephemeralContainers": "name",
              "volumes": "name", "env": "name", "volumeMounts": "mountPath", "ports": "containerPort",
              "imagePullSecrets": "name"}
BUILTIN_GROUPS = {"", "apps", "batch", "policy", "networking.k8s.io", "autoscaling", "rbac.authorization.k8s.io"}


class KustomizeError(Exception):
    pass


def render(directory: str | Path) -> list[dict]:
    directory = Path(directory)
    path = directory / "kustomization.yaml"
    if not path.exists():
        raise KustomizeError(f"{directory}: no kustomization.yaml")
    spec = yaml.safe_load(path.read_text()) or {}
    unknown = set(spec) - SUPPORTED
    if unknown:
        raise KustomizeError(f"{path}: fields this renderer does not implement: {sorted(unknown)}")
    objects: list[dict] = []
    for entry in spec.get("resources", []):
        target = (directory / entry).resolve()
        objects += render(target) if target.is_dir() else load_documents(target)
    _check_unique(objects, path)
    for patch in spec.get("patches", []):
        _apply_patch(objects, patch, directory)
    if "namespace" in spec:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj.setdefault("metadata", {})["namespace"] = spec["namespace"]
    for image in spec.get("images", []):
        for obj in objects:
            _set_images(obj, image)
    return objects


def load_documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def identity(obj: dict) -> tuple:
    metadata = obj.get("metadata", {})
    return (obj.get("apiVersion"), obj.get("kind"), metadata.get("namespace"), metadata.get("name"))


def _check_unique(objects, where):
    seen = set()
    for obj in objects:
        key = identity(obj)
        if key in seen:
            raise KustomizeError(f"{where}: {key} appears twice")
        seen.add(key)


# -- patches -------------------------------------------------------------------------------
def _apply_patch(objects: list[dict], entry: dict, directory: Path) -> None:
    if "path" in entry:
        body = yaml.safe_load((directory / entry["path"]).read_text())
    elif "patch" in entry:
        body = yaml.safe_load(entry["patch"])
    else:
        raise KustomizeError(f"a patch needs path or patch: {entry}")
    target = entry.get("target")
    if isinstance(body, list):                       # JSON 6902
        if not target:
            raise KustomizeError("a JSON 6902 patch needs a target")
        matched = [o for o in objects if _selected(o, target)]
        if not matched:
            raise KustomizeError(f"patch target matches nothing: {target}")
        for obj in matched:
            patched = jsonpatch.JsonPatch(body).apply(obj)
            obj.clear()
            obj.update(patched)
        return
    if target:
        matched = [o for o in objects if _selected(o, target)]
    else:
        matched = [o for o in objects if o.get("kind") == body.get("kind")
                   and _group(o) == _group(body)
                   and o.get("metadata", {}).get("name") == body.get("metadata", {}).get("name")]
    if not matched:
        raise KustomizeError(f"strategic merge patch matches nothing: {body.get('kind')}/"
                             f"{body.get('metadata', {}).get('name')}")
    for obj in matched:
        patch = copy.deepcopy(body)
        if target:
            patch.get("metadata", {}).pop("name", None)
        merged = strategic_merge(obj, patch, builtin=_group(obj) in BUILTIN_GROUPS)
        obj.clear()
        obj.update(merged)


def _group(obj: dict) -> str:
    api_version = obj.get("apiVersion", "")
    return api_version.split("/")[0] if "/" in api_version else ""


def _selected(obj: dict, target: dict) -> bool:
    api_version = obj.get("apiVersion", "")
    version = api_version.split("/")[-1]
    metadata = obj.get("metadata", {})
    checks = [("group", _group(obj)), ("version", version), ("kind", obj.get("kind")),
              ("namespace", metadata.get("namespace"))]
    for field, value in checks:
        if field in target and target[field] != value:
            return False
    if "name" in target and not re.fullmatch(target["name"], metadata.get("name", "")):
        return False
    for field, source in (("labelSelector", "labels"), ("annotationSelector", "annotations")):
        if field in target:
            have = metadata.get(source) or {}
            for term in target[field].split(","):
                key, _, value = term.partition("=")
                if have.get(key.strip()) != value.strip():
                    return False
    return True


def strategic_merge(original, patch, builtin: bool, key: str | None = None):
    """A strategic merge patch: maps merge, null deletes, lists with a merge key (built-in
    kinds) merge element by element, any other list is replaced."""
    if isinstance(original, dict) and isinstance(patch, dict):
        merged = dict(original)
        for name, value in patch.items():
            if value is None:
                merged.pop(name, None)
            elif name in merged:
                merged[name] = strategic_merge(merged[name], value, builtin, name)
            else:
                merged[name] = copy.deepcopy(value)
        return merged
    if isinstance(original, list) and isinstance(patch, list) and builtin and key in MERGE_KEYS:
        merge_key = MERGE_KEYS[key]
        merged = [copy.deepcopy(item) for item in original]
        for item in patch:
            for index, existing in enumerate(merged):
                if isinstance(existing, dict) and existing.get(merge_key) == item.get(merge_key):
                    merged[index] = strategic_merge(existing, item, builtin)
                    break
            else:
                merged.append(copy.deepcopy(item))
        return merged
    return copy.deepcopy(patch)


# -- images --------------------------------------------------------------------------------
def _set_images(node, image: dict) -> None:
    """Like kustomize's image transformer: every container and initContainer image, anywhere."""
    if isinstance(node, dict):
        for field, value in node.items():
            if field in ("containers", "initContainers") and isinstance(value, list):
                for container in value:
                    if isinstance(container, dict) and "image" in container:
                        container["image"] = _new_image(container["image"], image)
            else:
                _set_images(value, image)
    elif isinstance(node, list):
        for item in node:
            _set_images(item, image)


def _split_image(reference: str) -> tuple[str, str | None, str | None]:
    name, digest = (reference.split("@", 1) + [None])[:2]
    tag = None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    return name, tag, digest


def _new_image(reference: str, image: dict) -> str:
    name, tag, digest = _split_image(reference)
    if name != image["name"]:
        return reference
    name = image.get("newName", name)
    if "digest" in image:
        return f"{name}@{image['digest']}"
    if "newTag" in image:
        return f"{name}:{image['newTag']}"
    return name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
