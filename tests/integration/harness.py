"""Shared helpers for confab's integration tests.

The tests drive the real binaries, found through environment variables that
ctest sets (see tests/integration/CMakeLists.txt), and talk only to loopback.
"""
import hashlib
import os
import subprocess
import tempfile
import unittest


def binary(env_name):
    path = os.environ.get(env_name)
    if not path or not os.access(path, os.X_OK):
        raise unittest.SkipTest(f"{env_name} does not name an executable: {path!r}")
    return path


def shared_dir():
    return os.environ.get("CONFAB_SHARED") or os.path.join(
        os.path.dirname(__file__), "..", "..", "..", "shared")


def run(args, timeout=60, **kwargs):
    """Runs a command to completion; returns CompletedProcess with text output."""
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)


MIB = 1 << 20


def make_file(path, size, seed=b"confab"):
    """A file of `size` pseudo-random bytes (fast: a 1 MiB block repeated
    with a counter, so no two MiB are equal)."""
    block = hashlib.shake_256(seed).digest(MIB)
    with open(path, "wb") as f:
        done = 0
        i = 0
        while done < size:
            chunk = i.to_bytes(8, "little") + block[8:]
            n = min(MIB, size - done)
            f.write(chunk[:n])
            done += n
            i += 1
    return path


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(4 * MIB), b""):
            h.update(chunk)
    return h.hexdigest()



class TempDirTest(unittest.TestCase):
    """A test case with a fresh temporary directory in self.tmp."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="confab-it-")
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()


# ---- Tracker and member helpers (test_tracker.py) ---------------------------

import json
import queue
import re
import signal
import socket
import struct
import threading
import time


def varint(data, at):
    """A protobuf varint at data[at]: (value, the index after it)."""
    value, shift = 0, 0
    while True:
        b = data[at]
        at += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, at


def proto_fields(data):
    """A protobuf message's fields by number (the last value of each): ints,
    floats for fixed64 (doubles), bytes for length-delimited and fixed32."""
    fields, i = {}, 0
    while i < len(data):
        tag, i = varint(data, i)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            fields[number], i = varint(data, i)
        elif wire == 1:
            (fields[number],) = struct.unpack("<d", data[i:i + 8])
            i += 8
        elif wire == 2:
            n, i = varint(data, i)
            fields[number], i = bytes(data[i:i + n]), i + n
        elif wire == 5:
            fields[number], i = bytes(data[i:i + 4]), i + 4
        else:
            raise ValueError(f"wire type {wire}")
    return fields


def wait_until(predicate, timeout=10.0, interval=0.05, what="condition"):
    """Polls predicate() until it returns something truthy; returns that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class TrackerProcess:
    """A real `confab-tracker` state directory and (when started) its daemon."""

    def __init__(self, state_dir, org="Demo", listen="127.0.0.1:0"):
        self.exe = binary("CONFAB_TRACKER")
        self.state = state_dir
        self.org = org
        self.listen = listen
        self.proc = None
        self.port = None
        self.log_path = os.path.join(os.path.dirname(state_dir), "tracker-stderr.log")

    def cmd(self, *args, timeout=30):
        return run([self.exe, *args, "--state", self.state], timeout=timeout)

    def init(self, extra_toml=""):
        r = run([self.exe, "init", "--org", self.org, "--state", self.state,
                 "--listen", self.listen])
        if r.returncode != 0:
            raise AssertionError(f"init failed: {r.stderr}")
        if extra_toml:
            with open(self.toml_path, "a") as f:
                f.write("\n" + extra_toml)
        return r

    @property
    def toml_path(self):
        return os.path.join(self.state, "tracker.toml")

    def set_listen(self, host_port):
        """Rewrites `listen` in tracker.toml (e.g. to pin the port for a restart)."""
        with open(self.toml_path) as f:
            text = f.read()
        text = re.sub(r"^listen = .*$", f"listen = '{host_port}'", text, flags=re.M)
        with open(self.toml_path, "w") as f:
            f.write(text)

    def start(self, timeout=15):
        addr_file = os.path.join(self.state, "tracker.addr")
        if os.path.exists(addr_file):
            os.unlink(addr_file)
        self._log = open(self.log_path, "a")
        self.proc = subprocess.Popen([self.exe, "serve", "--state", self.state],
                                     stdout=subprocess.DEVNULL, stderr=self._log)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"tracker exited with {self.proc.returncode}: "
                                     f"{self.log()}")
            try:
                with open(addr_file) as f:
                    text = f.read().strip()
            except FileNotFoundError:
                return None
            return text or None

        text = wait_until(ready, timeout, what="tracker.addr")
        self.port = int(text.rsplit(":", 1)[1])
        return self.port

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Signals the daemon and waits; returns its exit code (None if not running)."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self._log.close()
        return proc.returncode

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def invite(self, name, *extra):
        r = self.cmd("invite", name, *extra)
        if r.returncode != 0:
            raise AssertionError(f"invite {name} failed: {r.stderr}")
        return r.stdout.strip().splitlines()[-1]

    def users(self):
        r = self.cmd("users", "--json")
        if r.returncode != 0:
            raise AssertionError(f"users failed: {r.stderr}")
        return {u["name"]: u for u in json.loads(r.stdout)}


def confab_env(home):
    env = dict(os.environ)
    env["CONFAB_HOME"] = home
    return env


def confab_join(home, code, *extra, timeout=60):
    """`confab join CODE` with no terminal on stdin; returns CompletedProcess."""
    return subprocess.run([binary("CONFAB"), "join", code, *extra], env=confab_env(home),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


class Probe:
    """A tracker_probe for one joined home: JSON events out, commands in."""

    def __init__(self, home, *extra):
        args = [binary("TRACKER_PROBE"), "--backoff-initial-ms", "200", "--backoff-max-ms",
                "1000", *extra]
        self.proc = subprocess.Popen(args, env=confab_env(home), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.events = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "unparsed", "line": line}
            with self._lock:
                self.events.append(event)

    def send(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def snapshot(self):
        with self._lock:
            return list(self.events)

    def wait_for(self, timeout=10.0, after=0, **fields):
        """The first event at index >= after whose fields match; returns (index, event)."""
        def match():
            for i, e in enumerate(self.snapshot()[after:], start=after):
                if all(e.get(k) == v for k, v in fields.items()):
                    return (i, e)
            return None
        return wait_until(match, timeout,
                          what=f"event {fields} (have {self.snapshot()[after:][-8:]})")

    def count(self, **fields):
        return sum(1 for e in self.snapshot() if all(e.get(k) == v for k, v in fields.items()))

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(timeout)
            except (BrokenPipeError, OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(5)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)
        self.stop()


# ---- Node helpers (test_node.py) --------------------------------------------

NODE_UP_RE = re.compile(r"node up as (\S+); peers on (\S+); control socket (\S+)")


class NodeProcess:
    """A member's `confab up` on 127.0.0.1:0 in its own CONFAB_HOME."""

    def __init__(self, home, name):
        self.home = home
        self.name = name
        self.proc = None
        self.port = None
        self.log_path = os.path.join(os.path.dirname(home), f"{name}-node.log")
        self.extra_up_args = []

    def start(self, timeout=15):
        self._log = open(self.log_path, "a")
        start_at = self._log.tell()
        self.proc = subprocess.Popen([binary("CONFAB"), "up", "--listen", "127.0.0.1:0",
                                      *self.extra_up_args],
                                     env=confab_env(self.home), stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=self._log)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name}'s node exited with {self.proc.returncode}: "
                                     f"{self.log()}")
            with open(self.log_path) as f:
                f.seek(start_at)
                m = NODE_UP_RE.search(f.read())
            return m

        m = wait_until(ready, timeout, what=f"{self.name}'s node")
        self.port = int(m.group(2).rsplit(":", 1)[1])
        return self.port

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Signals the node and waits; returns its exit code (None if not running)."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self._log.close()
        return proc.returncode

    def kill(self):
        """SIGKILL: no clean shutdown (node.sock is left behind)."""
        return self.stop(sig=signal.SIGKILL)

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def cli(self, *args, timeout=30):
        """Runs `confab ARGS` against this home; returns CompletedProcess."""
        return subprocess.run([binary("CONFAB"), *args], env=confab_env(self.home),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout)

    def cli_json(self, *args):
        r = self.cli(*args, "--json")
        if r.returncode != 0:
            raise AssertionError(f"{self.name}: confab {' '.join(args)} exited "
                                 f"{r.returncode}: {r.stderr}")
        return json.loads(r.stdout)

    def history(self, contact):
        return self.cli_json("history", contact)


class OrgTest(TempDirTest):
    """A running tracker on 127.0.0.1 and helpers to enrol members whose
    nodes (`confab up`) the test starts; every process is stopped afterwards.
    A subclass sets `tracker_toml` to add tables to tracker.toml."""

    tracker_toml = ""

    def setUp(self):
        super().setUp()
        self.nodes = []
        self.tracker = TrackerProcess(os.path.join(self.tmp, "state"))
        self.tracker.init(self.tracker_toml)
        self.tracker.start()

    def tearDown(self):
        for n in self.nodes:
            n.stop(timeout=10)
        self.tracker.stop(timeout=10)
        super().tearDown()

    def member(self, name):
        """Joins `name` with a fresh invite; returns its (not yet started) node."""
        home = os.path.join(self.tmp, name)
        r = confab_join(home, self.tracker.invite(name))
        self.assertEqual(r.returncode, 0, r.stderr)
        node = NodeProcess(home, name)
        self.nodes.append(node)
        return node

    def logs(self):
        return "\n".join(f"{n.name} log:\n{n.log()}" for n in self.nodes)


class PairTest(OrgTest):
    """Two enrolled members, alice and bob (nodes not yet started), and a
    download directory for bob."""

    def setUp(self):
        super().setUp()
        self.alice = self.member("alice")
        self.bob = self.member("bob")
        self.downloads = os.path.join(self.tmp, "bob-downloads")

    def write_config(self, node, text):
        """Writes `text` as the node's whole config.toml."""
        with open(os.path.join(node.home, "config.toml"), "w") as f:
            f.write(text)

    def configure(self, node, text):
        """config.toml with `text` as its [transfers] table."""
        self.write_config(node, "[transfers]\n" + text)

    def path_only(self, path, auto_accept=False):
        """Both nodes dial only over `path` (network.path); with auto_accept,
        bob takes alice's files into self.downloads unasked."""
        for node in (self.alice, self.bob):
            text = f'[network]\npath = "{path}"\n'
            if node is self.bob and auto_accept:
                text += ('[transfers]\nauto_accept_from = ["alice"]\n'
                         f'auto_accept_max_size = {128 * MIB}\n'
                         f'download_dir = "{self.downloads}"\n')
            self.write_config(node, text)

    def who(self, node, name):
        """`name`'s entry in node's `who --verbose --json`, or None."""
        for c in node.cli_json("who", "--verbose"):
            if c["name"] == name:
                return c
        return None

    def delivered(self, node, contact, count):
        """A check: node wrote at least `count` messages to contact, all delivered."""
        def check():
            mine = [m for m in node.history(contact) if m["from"] == node.name]
            return len(mine) >= count and all(m["state"] == "delivered" for m in mine)
        return check

