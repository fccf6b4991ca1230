#!/usr/bin/env python3
"""node_bench.py CONFAB_TRACKER CONFAB [options]: file throughput between two
real confab nodes over the UDP path beside the TCP path, and the kernel's TCP,
over the same emulated link in the network lab (issue 6).

Lab: nat-a cone (alice in peer-a), nat-b none (bob in peer-b, publicly
routed, so alice reaches him over TCP directly), every WAN link "rate 100mbit
delay 20ms" (--links both, the default; --links a shapes only nat-a's link as
tests/lab/udp_bench.sh does), once without loss and once with "loss 1%".
Per round, interleaved: the kernel's TCP (iperf3 -n SIZE if installed, else
the lab's throughput.py for a comparable time), then alice -> bob with
alice's config.toml `[network] path = "tcp"`, then `path = "udp"` (alice's
node restarts between them). The time of a confab transfer is from
`confab send` to bob's record saying completed (the file on disk, digest
checked), polled every 0.1 s; the kernel's is iperf3's receiver figure.

Prints a Markdown table (MB/s = 10^6 bytes/s, median of the rounds; UDP/TCP =
confab UDP over confab TCP) and writes it to --out. Root only; exit 77 when
the lab cannot be built here.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nodelab  # noqa: E402
from nodelab import MIB, Lab, Node, Skip, Tracker, make_file, sha256_file, tail, wait_until  # noqa: E402


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Bench:
    def __init__(self, a):
        self.a = a
        self.lab = Lab(os.environ.get("NETLAB_PREFIX", "cfbnbnch"))
        self.dir = tempfile.mkdtemp(prefix="node-bench.", dir=a.dir)
        self.tracker = self.alice = self.bob = None
        self.size = a.size_mib * MIB
        self.src = os.path.join(self.dir, "bench.bin")
        self.downloads = os.path.join(self.dir, "downloads")

    def setup(self, spec):
        for n in (self.alice, self.bob, self.tracker):
            if n:
                n.stop()
        if self.a.links == "both":
            self.lab.up("--nat-a", "cone", "--nat-b", "none", "--wan", spec)
        else:
            self.lab.up("--nat-a", "cone", "--nat-b", "none", "--wan-a", spec)
        first = self.tracker is None
        if first:
            self.tracker = Tracker(self.a.tracker, os.path.join(self.dir, "tracker-state"),
                                   self.lab)
            self.tracker.init(self.lab.vars.get("NETLAB_TRACKER_IP", "198.18.0.2"))
        self.tracker.start()
        if first:
            self.alice = Node(self.a.confab, os.path.join(self.dir, "alice"), "alice", self.lab,
                              "peer-a", self.a.log_level)
            self.bob = Node(self.a.confab, os.path.join(self.dir, "bob"), "bob", self.lab,
                            "peer-b", self.a.log_level)
            self.alice.join(self.tracker.invite("alice"))
            self.bob.join(self.tracker.invite("bob"))
            self.bob.write_config("[transfers]\n"
                                  'auto_accept_from = ["alice"]\n'
                                  f"auto_accept_max_size = {1 << 40}\n"
                                  f'download_dir = "{self.downloads}"\n')
        self.bob.start()
        self.path_mode = None

    def use_path(self, mode):
        """Restarts alice with `[network] path = mode`; waits until a message
        to bob is delivered (so the path is up before the clock starts)."""
        self.alice.stop()
        self.alice.write_config(f'[network]\npath = "{mode}"\n')
        self.alice.start()
        text = f"warm-up {mode} {time.time()}"
        r = self.alice.cli("msg", "bob", text)
        if r.returncode != 0:
            raise RuntimeError(f"confab msg: {r.stderr}")
        if not wait_until(lambda: self.alice.message_state("bob", text) == "delivered", 60, 0.1):
            raise RuntimeError(f"path={mode}: warm-up message not delivered in 60 s\n"
                               f"{tail(self.alice.log_path)}")
        c = self.alice.contact("bob") or {}
        return c.get("path"), c.get("path_address")

    def confab_round(self, mode):
        path, addr = self.use_path(mode)
        t0 = time.monotonic()
        tid = self.alice.send_file("bob", self.src)

        def done():
            t = self.bob.transfer(tid)
            return t if t and t.get("state") in ("completed", "failed", "quarantined",
                                                 "rejected", "cancelled") else None
        rec = wait_until(done, self.a.timeout, 0.1)
        dt = time.monotonic() - t0
        if not rec or rec.get("state") != "completed":
            raise RuntimeError(f"path={mode}: transfer ended as {rec}\n"
                               f"{tail(self.alice.log_path)}\n{tail(self.bob.log_path)}")
        if self.a.verify and sha256_file(rec["path"]) != self.want:
            raise RuntimeError(f"path={mode}: the received file differs")
        os.unlink(rec["path"])
        mbs = self.size / dt / 1e6
        log(f"    confab path={mode}: {mbs:.1f} MB/s ({dt:.1f} s; who says path {path!r} "
            f"at {addr})")
        return mbs, path

    def kernel_round(self):
        peer_b = self.lab.vars.get("NETLAB_PEER_B_IP", "10.200.2.2")
        if shutil.which("iperf3"):
            srv = subprocess.Popen(self.lab.exec_args("peer-b", "iperf3", "-s", "-1", "-p", "5201"),
                                   env=self.lab.env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            r = subprocess.run(self.lab.exec_args("peer-a", "iperf3", "-c", peer_b, "-p", "5201",
                                                  "-n", str(self.size), "-J"),
                               env=self.lab.env, capture_output=True, text=True,
                               timeout=self.a.timeout)
            nodelab.stop_process(srv, 5)
            j = json.loads(r.stdout)
            mbs = j["end"]["sum_received"]["bits_per_second"] / 8e6
            tool = "iperf3"
        else:
            srv = subprocess.Popen(self.lab.exec_args(
                "peer-b", sys.executable,
                os.path.join(nodelab.shared_dir(), "lab", "tools", "throughput.py"),
                "server", "--port", "5201"), env=self.lab.env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            r = subprocess.run(self.lab.exec_args(
                "peer-a", sys.executable,
                os.path.join(nodelab.shared_dir(), "lab", "tools", "throughput.py"),
                "client", peer_b, "--port", "5201", "--seconds", "12", "--json"),
                env=self.lab.env, capture_output=True, text=True, timeout=120)
            nodelab.stop_process(srv, 5)
            mbs = json.loads(r.stdout.splitlines()[-1])["mbit_s"] / 8
            tool = "throughput.py"
        log(f"    kernel TCP ({tool}): {mbs:.1f} MB/s")
        return mbs

    def run(self):
        make_file(self.src, self.size)
        self.want = sha256_file(self.src) if self.a.verify else None
        rows = []
        for loss in self.a.losses.split(","):
            spec = self.a.spec + (f" loss {loss}%" if float(loss) else "")
            log(f"== {spec} ({'every WAN link' if self.a.links == 'both' else 'nat-a only'})")
            self.setup(spec)
            k, t, u, paths = [], [], [], set()
            for r in range(self.a.rounds):
                log(f"  round {r + 1}/{self.a.rounds}")
                k.append(self.kernel_round())
                mbs, path = self.confab_round("tcp")
                t.append(mbs)
                paths.add(("tcp", path))
                mbs, path = self.confab_round("udp")
                u.append(mbs)
                paths.add(("udp", path))
            rows.append((loss, k, t, u, paths))
        return rows

    def table(self, rows):
        link = self.a.spec + (" on every WAN link" if self.a.links == "both" else " on nat-a's link")
        out = [f"{self.a.size_mib} MiB alice (cone NAT) -> bob (public), {link}, "
               f"{self.a.rounds} interleaved rounds, median (min-max) MB/s; "
               f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
               f"load average {os.getloadavg()[0]:.1f}",
               "",
               "| loss | kernel TCP | confab TCP path | confab UDP path | UDP/TCP (confab) "
               "| UDP/kernel TCP |",
               "|---|---:|---:|---:|---:|---:|"]

        def cell(v):
            return f"{statistics.median(v):.1f} ({min(v):.1f}-{max(v):.1f})"
        for loss, k, t, u, paths in rows:
            mt, mu, mk = statistics.median(t), statistics.median(u), statistics.median(k)
            out.append(f"| {loss}% | {cell(k)} | {cell(t)} | {cell(u)} | "
                       f"{mu / mt if mt else 0:.2f} | {mu / mk if mk else 0:.2f} |")
        seen = sorted({f"path={m} -> who says {p!r}" for _, _, _, _, ps in rows for m, p in ps})
        out += ["", "Paths seen: " + "; ".join(seen)]
        return "\n".join(out) + "\n"

    def cleanup(self, keep):
        for n in (self.alice, self.bob, self.tracker):
            if n:
                n.stop()
        self.lab.down()
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("tracker")
    p.add_argument("confab")
    p.add_argument("--size-mib", type=int, default=int(os.environ.get("BENCH_SIZE_MIB", 128)))
    p.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", 2)))
    p.add_argument("--losses", default="0,1", help="comma-separated loss percentages")
    p.add_argument("--spec", default="rate 100mbit delay 20ms")
    p.add_argument("--links", choices=("both", "a"), default="both")
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--no-verify", dest="verify", action="store_false",
                   help="skip the sha256 of each received copy")
    p.add_argument("--log-level", default="info")
    p.add_argument("--dir", default=None, help="where files and homes go (default /tmp)")
    p.add_argument("--out", default="bench-lab-nodes.md")
    p.add_argument("--keep", action="store_true")
    a = p.parse_args()
    a.tracker, a.confab = os.path.realpath(a.tracker), os.path.realpath(a.confab)
    try:
        nodelab.check_host(Lab("cfbnbnch").netlab)
    except Skip as e:
        print(f"SKIP: node_bench: {e}")
        return 77
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still take the lab down
    b = Bench(a)
    ok = False
    try:
        rows = b.run()
        text = b.table(rows)
        print(text)
        with open(a.out, "w") as f:
            f.write(text)
        log(f"(written to {a.out})")
        ok = True
    finally:
        b.cleanup(a.keep or not ok)
        if not ok:
            log(f"logs kept in {b.dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
