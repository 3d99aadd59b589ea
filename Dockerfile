# syntax=docker/dockerfile:1
# One image for every eldercare service and the gateway; the service is chosen by argument:
#   docker run IMAGE services.registry.service:RegistryService
#   docker run IMAGE gateway.service:GatewayService
#   docker run --entrypoint eldercare IMAGE migrate registry
# Kubernetes sets `args` (the service) per Deployment; see k8s/.
#
# The base is pinned to an exact patch release (CPython 3.11.7, the version the project is
# measured and tested on; nameko 2.14.1 is pinned to what works on 3.11). Release builds add the
# digest: --build-arg PYTHON_IMAGE=python:3.11.7-slim-bookworm@sha256:<digest>.
ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

# ---- build: a virtualenv with the runtime dependencies at the versions requirements.lock pins
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml requirements.lock ./
# The runtime dependencies are pyproject's [project.dependencies] (not the test extras); every
# package pip installs must be pinned in requirements.lock, or the build fails.
RUN python -m venv /opt/venv \
 && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/runtime.txt \
 && /opt/venv/bin/pip install --only-binary=:all: --constraint requirements.lock --requirement /tmp/runtime.txt \
 && /opt/venv/bin/pip freeze --all --exclude pip > /tmp/installed.txt \
 && python -c "import re, sys; norm = lambda s: re.sub(r'[-_.]+', '-', s.strip().lower()); lock = {norm(l) for l in open('requirements.lock') if '==' in l}; extra = [l.strip() for l in open('/tmp/installed.txt') if '==' in l and norm(l) not in lock]; sys.exit('not pinned in requirements.lock: ' + ', '.join(extra) if extra else 0)"
WORKDIR /app
COPY config.yml ./
COPY kernel/ kernel/
COPY contracts/ contracts/
COPY services/ services/
COPY gateway/ gateway/
COPY cli/ cli/
COPY demo/ demo/
COPY data/ data/
COPY policies/ policies/
# Console scripts for the source tree at /app (the project is not pip-installed: its
# configuration resolves policies/ and data/ relative to the source tree), and bytecode
# compiled now because the root filesystem is read-only at run time.
RUN printf '#!/opt/venv/bin/python\nimport sys\nfrom cli.app import main\nsys.exit(main())\n' > /opt/venv/bin/eldercare \
 && printf '#!/opt/venv/bin/python\nimport sys\nfrom cli.audit import main\nsys.exit(main())\n' > /opt/venv/bin/eldercare-audit \
 && chmod 0755 /opt/venv/bin/eldercare /opt/venv/bin/eldercare-audit \
 && /opt/venv/bin/python -m compileall -q /app /opt/venv/lib

# ---- runtime: no compiler, no pip cache, no source of the build stage, a non-root user
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="eldercare" \
      org.opencontainers.image.description="County coordination of care for rural left-behind elders: every service and the gateway" \
      org.opencontainers.image.licenses="UNLICENSED"
RUN groupadd --system --gid 10001 eldercare \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin eldercare
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PSYCOPG_WAIT_FUNC=wait_select \
    LOG_FORMAT=json \
    HOME=/tmp \
    ELDERCARE_CONFIG=/app/config.yml
WORKDIR /app
USER 10001:10001
# nameko stops gracefully on SIGTERM (running workers finish; unacked events go back to the queue).
STOPSIGNAL SIGTERM
ENTRYPOINT ["python", "-m", "nameko", "run", "--config", "/app/config.yml"]
CMD ["services.registry.service:RegistryService"]
