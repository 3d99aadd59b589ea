"""Test set-up shared by every suite.

eventlet must patch the standard library before anything imports sockets (nameko's pytest
plugin no longer does it). Tests that need infrastructure use the real services: each
PostgreSQL test gets its own database (dropped after), each RabbitMQ test its own vhost
(nameko's ``rabbit_config`` fixture, through the management API).
"""
import os
import warnings

# Hypothesis loads third-party plugins from entry points; trio (selenium's dependency)
# registers one, and trio cannot be imported once eventlet has patched the socket module.
os.environ.setdefault("HYPOTHESIS_NO_PLUGINS", "1")
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import os  # noqa: E402
import uuid  # noqa: E402
from urllib.parse import urljoin  # noqa: E402

import pytest  # noqa: E402

os.environ.setdefault("LOG_FORMAT", "console")
# One fixed master key for personal data (kernel.personal), so no test writes var/keys; tests
# of the key file and rotation set their own.
os.environ.setdefault("MASTER_KEY", "test:" + "dGVzdC1tYXN0ZXIta2V5LWZvci1wZXJzb25hbC1kYXQ=")

# Every relay signs its batches and every consumer checks them (kernel.authenticity): one
# key directory for the session, with a key for each service and the kernel's test sources,
# found through CHECKPOINT_KEY_DIR by every config that names no CHECKPOINTS.key_dir.
TEST_KEY_SOURCES = ("kerneltest", "kernelsink", "kernelcommands", "tracetest", "bench", "benchsink")


@pytest.fixture(scope="session", autouse=True)
def signing_keys(tmp_path_factory):
    from contracts.services import PROCESSES
    from kernel.checkpoints import init_keys

    key_dir = tmp_path_factory.mktemp("keys")
    init_keys([*PROCESSES, *TEST_KEY_SOURCES], key_dir)
    previous = os.environ.get("CHECKPOINT_KEY_DIR")
    os.environ["CHECKPOINT_KEY_DIR"] = str(key_dir)
    yield key_dir
    if previous is None:
        os.environ.pop("CHECKPOINT_KEY_DIR", None)
    else:
        os.environ["CHECKPOINT_KEY_DIR"] = previous

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'service.db'}"


@pytest.fixture
def postgres_url():
    """A fresh PostgreSQL database for this test, dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"eldercare_test_{uuid.uuid4().hex[:12]}"
    admin = make_url(POSTGRES_ADMIN_URL)
    conninfo = f"host={admin.host} port={admin.port or 5432} user={admin.username} dbname={admin.database}"
    try:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({exc}); start it with "
                    "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` "
                    "or set TEST_POSTGRES_URL")
    yield admin.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request):
    """Run a test once against SQLite and once against PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")


@pytest.fixture
def web_session(web_config_port):
    """nameko's fixture imports werkzeug.urls.url_join, which Werkzeug 3 removed."""
    from requests import Session

    class WebSession(Session):
        def request(self, method, url, *args, **kwargs):
            return super().request(method, urljoin(f"http://127.0.0.1:{web_config_port}/", url),
                                   *args, **kwargs)

    session = WebSession()
    yield session
    session.close()
