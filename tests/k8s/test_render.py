"""The overlays render, and the Python renderer agrees with kustomize itself where it exists."""
import shutil
import subprocess

import pytest
import yaml

from contracts.services import PROCESSES
from tests.k8s.conftest import K8S, OVERLAYS, rendered
from tests.k8s.kustomize import KustomizeError, identity, render


def _kustomize_command():
    """kustomize v5, standalone or inside kubectl (v1.27+ embeds v5); None if neither."""
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    kubectl = shutil.which("kubectl")
    if kubectl:
        version = subprocess.run([kubectl, "version", "--client"], capture_output=True, text=True).stdout
        if "Kustomize Version: v5" in version:
            return [kubectl, "kustomize"]
    return None


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_python_renderer_gives_what_kustomize_gives(overlay):
    command = _kustomize_command()
    if command is None:
        pytest.skip("no kustomize v5 binary here (kustomize, or kubectl >= 1.27): the Python renderer "
                    "is then the only renderer")
    output = subprocess.run(command + [str(K8S / "overlays" / overlay)], capture_output=True, text=True,
                            check=True).stdout
    theirs = {identity(doc): doc for doc in yaml.safe_load_all(output) if doc}
    ours = {identity(doc): doc for doc in rendered(overlay)}
    assert set(ours) == set(theirs)
    different = [key for key in ours if ours[key] != theirs[key]]
    assert not different, f"rendered differently from kustomize: {different}"


def test_each_overlay_renders_every_workload_into_its_namespace():
    for overlay, namespace in (("dev", "eldercare-dev"), ("prod", "eldercare")):
        objects = rendered(overlay)
        deployments = {o["metadata"]["name"] for o in objects if o["kind"] == "Deployment"}
        assert deployments == set(PROCESSES)
        for obj in objects:
            if obj["kind"] == "Namespace":
                assert obj["metadata"]["name"] == namespace
            else:
                assert obj["metadata"]["namespace"] == namespace, identity(obj)


def test_the_renderer_refuses_what_it_does_not_implement(tmp_path):
    (tmp_path / "kustomization.yaml").write_text("resources: []\ncommonLabels: {a: b}\n")
    with pytest.raises(KustomizeError, match="commonLabels"):
        render(tmp_path)


def test_patches_images_and_namespace(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    (base / "deploy.yaml").write_text(yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"},
        "spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "app", "env": [{"name": "X", "value": "1"}]},
            {"name": "b", "image": "other:1.0"}]}}}}))
    (base / "kustomization.yaml").write_text("resources: [deploy.yaml]\n")
    (tmp_path / "patch.yaml").write_text(yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"},
        "spec": {"template": {"spec": {"containers": [{"name": "a", "env": [{"name": "Y", "value": "2"}]}]}}}}))
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump({
        "namespace": "ns", "resources": ["base"],
        "images": [{"name": "app", "newName": "reg/app", "newTag": "1.2.3"}],
        "patches": [{"path": "patch.yaml"},
                    {"target": {"kind": "Deployment", "name": "a"},
                     "patch": "- op: add\n  path: /spec/replicas\n  value: 3\n"}]}))
    [deployment] = render(tmp_path)
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert deployment["metadata"]["namespace"] == "ns" and deployment["spec"]["replicas"] == 3
    assert containers[0]["image"] == "reg/app:1.2.3" and containers[1]["image"] == "other:1.0"
    assert containers[0]["env"] == [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]
