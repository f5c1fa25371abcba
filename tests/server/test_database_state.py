"""Connection failure handling of the server's database state: one message per failure,
back-off between automatic retries, recovery announced once. A real engine Assistant
reads a real SQLite file that first does not exist; only the clock and the
user-facing channel of the server are stand-ins (they record what the user would see)."""

import shutil
import sqlite3

from text2sql.config import Settings
from text2sql.data import CHINOOK_PATH
from text2sql.pipeline import Assistant
from text2sql.server.database import Databases


class RecordingServer:
    """The parts of Text2SQLServer that Databases talks to, recording messages."""

    def __init__(self):
        self.assistant = Assistant(settings=Settings())
        self.shown: list[str] = []
        self.logged: list[str] = []

    def show(self, message, kind=None):
        self.shown.append(message)

    def log_to_client(self, message, kind=None):
        self.logged.append(message)


def test_failure_is_reported_once_retried_with_backoff_and_recovery_is_announced(tmp_path):
    now = [100.0]
    server = RecordingServer()
    databases = Databases(server, clock=lambda: now[0])
    path = tmp_path / "later.sqlite"
    target = f"sqlite:///{path}"

    assert databases.schema(target) is None
    assert len(server.shown) == 1 and "no such SQLite database file" in server.shown[0]
    assert databases.error_for(target)

    with sqlite3.connect(path) as conn:  # the database appears
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    assert databases.schema(target) is None  # still backing off: no new attempt yet
    now[0] += 2.5  # past the first back-off (2 s)
    schema = databases.schema(target)
    assert schema is not None and schema.table_names == ["t"]
    assert databases.error_for(target) is None and databases.latest(target) is schema
    assert len(server.logged) == 1 and "again" in server.logged[0]
    assert len(server.shown) == 1  # recovery is not a popup


def test_refresh_retries_at_once_and_a_second_failure_is_not_a_second_popup(tmp_path):
    now = [0.0]
    server = RecordingServer()
    databases = Databases(server, clock=lambda: now[0])
    path = tmp_path / "db.sqlite"
    target = f"sqlite:///{path}"
    assert databases.schema(target) is None
    assert databases.schema(target, refresh=True) is None  # retried at once, failed again
    assert len(server.shown) == 1
    shutil.copy(CHINOOK_PATH, path)
    assert len(databases.schema(target, refresh=True).tables) == 11
