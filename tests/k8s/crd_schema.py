"""Validate custom resources against a CustomResourceDefinition's openAPIV3Schema, the way
the API server with strict field validation (`kubectl apply --validate=strict`) would: types,
enums, patterns, required fields, and no field the schema does not declare, unless the schema
says x-kubernetes-preserve-unknown-fields."""
from __future__ import annotations

from pathlib import Path

import jsonschema
import yaml

CRD_DIRECTORY = Path(__file__).resolve().parents[2] / "k8s" / "crds"


def to_json_schema(node: dict) -> dict:
    """OpenAPI v3 (Kubernetes structural schema) → JSON Schema."""
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
    closed = ("properties" in node and "additionalProperties" not in node
              and not node.get("x-kubernetes-preserve-unknown-fields"))
    if closed:
        out["additionalProperties"] = False
    return out


class CrdCatalogue:
    def __init__(self, directory: Path = CRD_DIRECTORY):
        self.crds: dict[tuple[str, str], dict] = {}      # (apiVersion, kind) → JSON Schema
        self.documents: list[dict] = []
        for path in sorted(directory.glob("*.yaml")):
            for crd in yaml.safe_load_all(path.read_text()):
                if not crd:
                    continue
                self.documents.append(crd)
                group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
                for version in crd["spec"]["versions"]:
                    schema = to_json_schema(version["schema"]["openAPIV3Schema"])
                    self.crds[(f"{group}/{version['name']}", kind)] = schema

    def knows(self, obj: dict) -> bool:
        return (obj.get("apiVersion"), obj.get("kind")) in self.crds

    def errors(self, obj: dict) -> list[str]:
        schema = self.crds[(obj["apiVersion"], obj["kind"])]
        validator = jsonschema.Draft202012Validator(schema)
        problems = []
        for error in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            problems.append(f"{where}: {error.message}")
        name = obj.get("metadata", {}).get("name")
        if not name:
            problems.append("metadata/name: required")
        return problems
