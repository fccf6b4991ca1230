"""A real PostgreSQL server for one integration test, from Debian's binaries
(/usr/lib/postgresql/<n>/bin, or CONFAB_PG_BIN): initdb into a temporary
directory, a Unix socket in that directory and no TCP, as the `postgres` user
when the test runs as root (initdb refuses root). The same recipe as
tests/unit/tracker/pg_server.cc."""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import unittest


def find_binaries():
    candidates = []
    if os.environ.get("CONFAB_PG_BIN"):
        candidates.append(os.environ["CONFAB_PG_BIN"])
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for c in candidates:
        if all(os.access(os.path.join(c, t), os.X_OK) for t in ("initdb", "pg_ctl", "psql")):
            return c
    return None


class PgServer:
    def __init__(self):
        self.bin = find_binaries()
        if self.bin is None:
            raise unittest.SkipTest("no PostgreSQL server binaries (install postgresql)")
        self.dir = tempfile.mkdtemp(prefix="confab-it-pg-")
        self.prefix = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self.data = os.path.join(self.dir, "data")
        self._run([os.path.join(self.bin, "initdb"), "-D", self.data, "-A", "trust", "-U",
                   "confab", "--no-sync", "-E", "UTF8"])
        self.started = False
        self.start()

    def _run(self, args):
        r = subprocess.run(self.prefix + args, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed: {r.stdout}{r.stderr}")
        return r

    def start(self):
        opts = f"-c listen_addresses='' -c unix_socket_directories={self.dir} -c fsync=off"
        self._run([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-w", "-t", "60", "-l",
                   os.path.join(self.dir, "server.log"), "-o", opts, "start"])
        self.started = True

    def stop(self, mode="fast"):
        if self.started:
            self._run([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", mode, "-w",
                       "stop"])
            self.started = False

    def url(self, dbname="postgres"):
        """The Unix-socket form of a postgresql:// URL."""
        return f"postgresql:///{dbname}?host={self.dir}&user=confab"

    def create_database(self, name):
        self.sql(f"CREATE DATABASE {name}")

    def sql(self, statement, dbname="postgres"):
        """Runs one statement with psql; returns its unaligned output."""
        r = subprocess.run([os.path.join(self.bin, "psql"), "-h", self.dir, "-U", "confab",
                            "-d", dbname, "-At", "-v", "ON_ERROR_STOP=1", "-c", statement],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError(f"psql {statement!r}: {r.stderr}")
        return r.stdout.strip()

    def close(self):
        try:
            self.stop(mode="immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
