"""Validate custom resources against a CustomResourceDefinition's openAPIV3Schema, the way
the API server with strict field validation (`kubectl apply --validate=strict`) would on create:

- defaults from the schema are applied first, as the API server does before validating;
- types, enums, patterns, formats of int-or-string, bounds and required fields;
- no field the schema does not declare, unless the schema says x-kubernetes-preserve-unknown-fields
  (an object declared with no properties at all accepts no field: the API server prunes them);
- the object's own `metadata` against the Kubernetes ObjectMeta schema (kubernetes-validate's,
  strict);
- `x-kubernetes-list-type: set` items unique, `map` items unique by their `x-kubernetes-list-map-keys`;
- `x-kubernetes-validations` CEL rules, with tests/k8s/cel.py; transition rules (`oldSelf`)
  apply to updates only and are skipped, a rule that evaluator cannot read is an error.

Not checked: `format` (date-time, int32 ranges, …), and what only the operators' admission
webhooks reject (for example CloudNativePG's fixed PostgreSQL parameters).
"""
from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path

import jsonschema
import yaml
from jsonschema import ValidationError
from referencing import Registry, Resource

from tests.k8s import cel

CRD_DIRECTORY = Path(__file__).resolve().parents[2] / "k8s" / "crds"
OBJECT_META = "https://kubernetes.io/api/objectmeta/meta/v1"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)     # the real CRDs are ~750 KB of YAML


def to_json_schema(node: dict) -> dict:
    """OpenAPI v3 (Kubernetes structural schema) → JSON Schema, with the Kubernetes
    extensions turned into this module's keywords."""
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "properties":
            out["properties"] = {name: to_json_schema(child) for name, child in value.items()}
        elif key == "items":
            out["items"] = to_json_schema(value)
        elif key == "additionalProperties":
            out["additionalProperties"] = to_json_schema(value) if isinstance(value, dict) else value
        elif key in ("anyOf", "allOf", "oneOf"):
            out[key] = [to_json_schema(child) for child in value]
        elif key == "not":
            out["not"] = to_json_schema(value)
        elif key == "x-kubernetes-validations":
            out["x-cel"] = value
        elif key == "x-kubernetes-list-type":
            if value == "set":
                out["uniqueItems"] = True
            elif value == "map":
                out["x-list-map-keys"] = node.get("x-kubernetes-list-map-keys", [])
        elif key == "nullable":
            continue
        elif key.startswith("x-kubernetes-") or key in ("description", "default", "example", "format"):
            continue                        # not constraints jsonschema should enforce as such
        else:
            out[key] = value
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    preserved = node.get("x-kubernetes-preserve-unknown-fields")
    declared = "properties" in node or node.get("type") == "object"
    if declared and "additionalProperties" not in node and not preserved:
        out["additionalProperties"] = False
    return out


def apply_defaults(value, schema: dict):
    """What the API server does before validating: fill absent fields that declare a default,
    in objects that are present (recursively, into list items and map values)."""
    if isinstance(value, dict):
        for name, child in (schema.get("properties") or {}).items():
            if name not in value and "default" in child:
                value[name] = copy.deepcopy(child["default"])
            if name in value:
                apply_defaults(value[name], child)
        if isinstance(schema.get("additionalProperties"), dict):
            for name, item in value.items():
                if name not in (schema.get("properties") or {}):
                    apply_defaults(item, schema["additionalProperties"])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(item, schema["items"])
    return value


def _cel_rules(validator, rules, instance, schema):
    for rule in rules:
        if cel.is_transition_rule(rule["rule"]):
            continue                                       # evaluated on update only
        try:
            holds = cel.evaluate(rule["rule"], instance)
        except cel.CelUnsupported as error:
            yield ValidationError(f"CEL rule this validator cannot evaluate ({error}): {rule['rule']}")
            continue
        if not holds:
            yield ValidationError(rule.get("message") or f"failed rule: {rule['rule']}")


def _list_map_keys(validator, keys, instance, schema):
    if not isinstance(instance, list):
        return
    seen = set()
    for item in instance:
        if isinstance(item, dict):
            key = tuple(json.dumps(item.get(k), sort_keys=True) for k in keys)
            if key in seen:
                yield ValidationError(f"duplicate entry for {dict(zip(keys, (item.get(k) for k in keys)))}")
            seen.add(key)


CrdValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"x-cel": _cel_rules, "x-list-map-keys": _list_map_keys})


def _kubernetes_registry(kubernetes_version: str) -> Registry:
    """ObjectMeta and the definitions it refers to, from kubernetes-validate's strict schemas."""
    directory = resources.files("kubernetes_validate") / "kubernetes-json-schema" / f"v{kubernetes_version}.0-local-strict"
    documents = [json.loads((directory / name).read_text()) for name in ("objectmeta-meta-v1.json", "_definitions.json")]
    return Registry().with_resources((doc["$id"], Resource.from_contents(doc)) for doc in documents)


class CrdCatalogue:
    def __init__(self, kubernetes_version: str, directory: Path = CRD_DIRECTORY):
        self.registry = _kubernetes_registry(kubernetes_version)
        self.crds: dict[tuple[str, str], tuple[dict, dict]] = {}   # (apiVersion, kind) → (OpenAPI, JSON Schema)
        self.documents: dict[str, list[dict]] = {}                  # file name → its documents
        for path in sorted(directory.glob("*.yaml")):
            self.documents[path.name] = [doc for doc in yaml.load_all(path.read_text(), Loader=_LOADER) if doc]
            for crd in self.documents[path.name]:
                group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
                for version in crd["spec"]["versions"]:
                    if not version.get("served", True):
                        continue
                    openapi = version["schema"]["openAPIV3Schema"]
                    schema = to_json_schema(openapi)
                    schema["properties"]["metadata"] = {"$ref": OBJECT_META}
                    self.crds[(f"{group}/{version['name']}", kind)] = (openapi, schema)

    def knows(self, obj: dict) -> bool:
        return (obj.get("apiVersion"), obj.get("kind")) in self.crds

    def errors(self, obj: dict) -> list[str]:
        openapi, schema = self.crds[(obj["apiVersion"], obj["kind"])]
        validator = CrdValidator(schema, registry=self.registry)
        problems = []
        defaulted = apply_defaults(copy.deepcopy(obj), openapi)
        for error in sorted(validator.iter_errors(defaulted), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            problems.append(f"{where}: {error.message}")
        name = obj.get("metadata", {}).get("name")
        if not name:
            problems.append("metadata/name: required")
        return problems
