"""Rendered overlays, shared by the manifest tests (rendering takes well under a second)."""
from pathlib import Path

import pytest

from tests.k8s.kustomize import render

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
K8S = REPOSITORY_ROOT / "k8s"
OVERLAYS = ("dev", "prod")
_RENDERED = {}


def rendered(overlay: str) -> list[dict]:
    if overlay not in _RENDERED:
        _RENDERED[overlay] = render(K8S / "overlays" / overlay)
    return _RENDERED[overlay]


@pytest.fixture(params=OVERLAYS)
def overlay(request):
    return request.param


@pytest.fixture
def objects(overlay):
    return rendered(overlay)
