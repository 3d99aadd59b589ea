# Shared by bin/run and bin/test: a virtualenv with the locked dependencies, and a broker.
# Sourced, not executed.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PYTHON="${PYTHON:-python3}"
VENV="$REPO/.venv"
export PYTHONWARNINGS="${PYTHONWARNINGS:-ignore::UserWarning,ignore::DeprecationWarning}"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

ensure_venv() {
  local stamp="$VENV/.installed-$(cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)"
  if [ -f "$stamp" ]; then return; fi
  "$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
    || die "Python 3.11 is required (nameko 2.14.1 is pinned to what works there); set PYTHON=/path/to/python3.11"
  say "installing dependencies into .venv (pinned in requirements.lock)"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.lock
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e ".[test]"
  rm -f "$VENV"/.installed-* && touch "$stamp"
}

ensure_broker() {
  if "$VENV/bin/eldercare" check-broker >/dev/null 2>&1; then return; fi
  if command -v rabbitmq-server >/dev/null 2>&1 && [ -z "${AMQP_URI:-}" ]; then
    say "RabbitMQ is not answering; starting the local one (rabbitmq-server -detached)"
    rabbitmq-server -detached >/dev/null 2>&1 || true
    for _ in $(seq 1 60); do
      "$VENV/bin/eldercare" check-broker >/dev/null 2>&1 && return
      sleep 1
    done
  fi
  "$VENV/bin/eldercare" check-broker   # prints exactly what is wrong and how to start it
  exit 1
}
