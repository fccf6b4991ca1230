"""Helpers for running the real confab-tracker and confab nodes in the network
lab (../shared/lab/netlab): one lab, one tracker in the `tracker` namespace,
members whose `confab up` runs inside peer-a / peer-b. Python 3 stdlib only.

Used by node_lab_test.py (ctest lab.nodes) and node_bench.py
(scripts/bench-lab-nodes.sh). Everything here must run as root.

The CLI talks to a node through CONFAB_HOME/node.sock, a filesystem-path Unix
socket, which is shared across network namespaces: CLI commands run from the
root namespace while the node itself runs inside its namespace.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

# One file maker and digest for the loopback and the lab tests.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import MIB, make_file, sha256_file  # noqa: E402,F401

TRACKER_PORT = 7650
NODE_PORT = 7651
NODE_UP_RE = re.compile(r"node up as (\S+); peers on (\S+); control socket (\S+)")


class Skip(Exception):
    """This host cannot run the lab (exit 77 with the reason)."""


def shared_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.realpath(os.environ.get("CONFAB_SHARED") or os.environ.get("CONFAB_SHARED_DIR")
                            or os.path.join(here, "..", "..", "..", "shared"))


def check_host(netlab):
    """Raises Skip with a clear reason when the lab cannot be built here."""
    if not os.access(netlab, os.X_OK):
        raise Skip(f"no network lab at {netlab} (set CONFAB_SHARED_DIR)")
    if os.geteuid() != 0:
        raise Skip("needs root to create network namespaces (CI runs it as root)")
    if not (shutil.which("nft") or shutil.which("iptables")):
        raise Skip("neither nft nor iptables is installed (scripts/install-deps.sh lab)")
    if not shutil.which("ip"):
        raise Skip("no `ip` (iproute2)")
    probe = f"cfbprobe{os.getpid()}"
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if r.returncode != 0:
        raise Skip("this host cannot create network namespaces "
                   f"(a container without NET_ADMIN/SYS_ADMIN?): {r.stderr.strip()}")
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)


def wait_until(predicate, timeout, interval=0.2):
    """Polls predicate() until it returns something truthy; returns that
    value, or None at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def tail(path, lines=40):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as e:
        return f"({e})"


class Lab:
    """netlab with our own NETLAB_PREFIX."""

    def __init__(self, prefix):
        self.netlab = os.path.join(shared_dir(), "lab", "netlab")
        self.prefix = prefix
        self.env = dict(os.environ, NETLAB_PREFIX=prefix, NETLAB_QUIET="1")
        self.vars = {}

    def run(self, *args, check=True, timeout=120):
        r = subprocess.run([self.netlab, *args], env=self.env, capture_output=True, text=True,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"netlab {' '.join(args)} failed ({r.returncode}): "
                               f"{r.stdout}{r.stderr}")
        return r

    def up(self, *args):
        self.run("up", *args)
        self.vars = {}
        for line in self.run("env").stdout.splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                self.vars[k.strip()] = v.strip().strip("'\"")
        return self

    def down(self):
        self.run("down", check=False, timeout=60)

    def degrade(self, link, spec):
        self.run("degrade", link, *spec.split())

    def ns(self, node):
        return f"{self.prefix}-{node}"

    def exec_args(self, node, *cmd):
        return [self.netlab, "exec", node, *cmd]

    def counters(self, node="tracker"):
        """Total rx+tx bytes over the namespace's interfaces but lo."""
        script = ('for d in /sys/class/net/*; do n="${d##*/}"; [ "$n" = lo ] && continue; '
                  'echo "$n $(cat "$d/statistics/rx_bytes") $(cat "$d/statistics/tx_bytes")"; done')
        r = subprocess.run(["ip", "netns", "exec", self.ns(node), "sh", "-c", script],
                           capture_output=True, text=True, timeout=30, check=True)
        total = 0
        for line in r.stdout.splitlines():
            _, rx, tx = line.split()
            total += int(rx) + int(tx)
        return total


class Tracker:
    """confab-tracker: state in `state_dir`, daemon in the lab's tracker namespace."""

    def __init__(self, exe, state_dir, lab, port=TRACKER_PORT):
        self.exe = exe
        self.state = state_dir
        self.lab = lab
        self.port = port
        self.proc = None
        self.log_path = os.path.join(os.path.dirname(state_dir), "tracker.log")

    def cmd(self, *args, timeout=30):
        return subprocess.run([self.exe, *args, "--state", self.state], capture_output=True,
                              text=True, timeout=timeout)

    def init(self, ip):
        r = subprocess.run([self.exe, "init", "--org", "Lab", "--state", self.state, "--listen",
                            f"{ip}:{self.port}"], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"confab-tracker init: {r.stderr}")

    def set_relay(self, enabled):
        """tracker.toml's [relay] enabled (the table is rewritten; read at start)."""
        path = os.path.join(self.state, "tracker.toml")
        with open(path) as f:
            text = f.read()
        text = re.sub(r"\n# node_lab relay\n\[relay\]\nenabled = \w+\n", "\n", text)
        with open(path, "w") as f:
            f.write(text + f"\n# node_lab relay\n[relay]\nenabled = {str(enabled).lower()}\n")

    def start(self, timeout=20):
        addr = os.path.join(self.state, "tracker.addr")
        if os.path.exists(addr):
            os.unlink(addr)
        self._log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            self.lab.exec_args("tracker", self.exe, "serve", "--state", self.state),
            env=self.lab.env, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"tracker exited with {self.proc.returncode}:\n"
                                   f"{tail(self.log_path)}")
            try:
                with open(addr) as f:
                    return f.read().strip() or None
            except FileNotFoundError:
                return None
        if not wait_until(ready, timeout, 0.05):
            raise RuntimeError(f"tracker did not start:\n{tail(self.log_path)}")

    def stop(self):
        stop_process(self.proc)
        self.proc = None

    def invite(self, name):
        r = self.cmd("invite", name)
        if r.returncode != 0:
            raise RuntimeError(f"invite {name}: {r.stderr}")
        return r.stdout.strip().splitlines()[-1]


def stop_process(proc, timeout=10):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class Node:
    """A member's home and its `confab up` inside a lab node (peer-a, ...)."""

    def __init__(self, exe, home, name, lab, where, log_level="debug"):
        self.exe = exe
        self.home = home
        self.name = name
        self.lab = lab
        self.where = where
        self.log_level = log_level
        self.proc = None
        self.log_path = os.path.join(os.path.dirname(home), f"{name}-node.log")

    @property
    def env(self):
        return dict(self.lab.env, CONFAB_HOME=self.home)

    def join(self, code):
        r = subprocess.run(self.lab.exec_args(self.where, self.exe, "join", code), env=self.env,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=90)
        if r.returncode != 0:
            raise RuntimeError(f"{self.name}: confab join failed: {r.stdout}{r.stderr}")

    def write_config(self, text):
        with open(os.path.join(self.home, "config.toml"), "w") as f:
            f.write(text)

    def start(self, timeout=20):
        self._log = open(self.log_path, "a")
        self._log.write(f"---- confab up in {self.where} at {time.strftime('%H:%M:%S')}\n")
        self._log.flush()
        start_at = self._log.tell()
        args = [self.exe, "up", "--listen", f"0.0.0.0:{NODE_PORT}"]
        if self.log_level:
            args += ["--log-level", self.log_level]
        self.proc = subprocess.Popen(self.lab.exec_args(self.where, *args), env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=self._log)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name}'s node exited with {self.proc.returncode}:\n"
                                   f"{tail(self.log_path)}")
            with open(self.log_path, errors="replace") as f:
                f.seek(start_at)
                return NODE_UP_RE.search(f.read())
        if not wait_until(ready, timeout, 0.05):
            raise RuntimeError(f"{self.name}'s node did not come up:\n{tail(self.log_path)}")

    def stop(self):
        stop_process(self.proc)
        self.proc = None
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None

    def cli(self, *args, timeout=60):
        return subprocess.run([self.exe, *args], env=self.env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)

    def cli_json(self, *args, timeout=60):
        r = self.cli(*args, "--json", timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"{self.name}: confab {' '.join(args)} --json exited "
                               f"{r.returncode}: {r.stderr.strip()}")
        return json.loads(r.stdout)

    # ---- views --------------------------------------------------------------

    def contact(self, name):
        """The contact's object from `confab who --verbose --json` (path,
        path_address, path_reason), or from `who --json` when this build has
        no --verbose yet (then without the path fields); None if absent."""
        r = self.cli("who", "--verbose", "--json")
        if r.returncode != 0:
            r = self.cli("who", "--json")
            if r.returncode != 0:
                return None
        for c in json.loads(r.stdout):
            if c.get("name") == name:
                return c
        return None

    def status(self):
        """`confab status --verbose --json`, or None when unsupported."""
        r = self.cli("status", "--verbose", "--json")
        if r.returncode != 0:
            return None
        try:
            return json.loads(r.stdout)
        except ValueError:
            return None

    def message_state(self, contact, text):
        for e in self.cli_json("history", contact):
            if e.get("text") == text:
                return e.get("state")
        return None

    def transfer(self, tid):
        for t in self.cli_json("transfers"):
            if t.get("id") == tid:
                return t
        return None

    def send_file(self, contact, path):
        r = self.cli("send", contact, path, "--detach", "--json")
        if r.returncode != 0:
            raise RuntimeError(f"{self.name}: confab send: {r.stderr.strip()}")
        return json.loads(r.stdout.splitlines()[0])["id"]

    def wait_transfer(self, tid, states=("completed",), timeout=120,
                      final=("completed", "failed", "rejected", "cancelled", "quarantined")):
        """Polls until the transfer is in one of `states` (or any final state);
        returns the record (or the last one seen, or None)."""
        last = [None]

        def check():
            t = self.transfer(tid)
            last[0] = t
            return t if t and (t.get("state") in states or t.get("state") in final) else None
        return wait_until(check, timeout, 0.25) or last[0]
