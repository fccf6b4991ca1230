#!/usr/bin/env python3
"""node_lab_test.py CONFAB_TRACKER CONFAB: the real confab-tracker and confab
nodes through real NATs in the network lab (issue 6; ../shared/lab/netlab).

The tracker runs in the `tracker` namespace on 198.18.0.2:7650; alice joins
and runs `confab up` in peer-a, bob in peer-b (homes are enrolled once and
reused by every lab below). Cases (NODE_LAB_CASES, comma-separated; default
all four):

  cone, symmetric and public first check the NAT mapping `confab status --verbose --json`
  reports (endpoint-independent behind cone, endpoint-dependent behind
  symmetric, none without NAT), learnt from the tracker's two probe ports.

  cone       cone/cone: messages both ways delivered; NODE_LAB_BYTES (default
             64 MiB) alice->bob arrives with the source's sha256; bob's path
             on alice is "udp"; the tracker namespace's interface counters
             grow by well under 1 MiB over the file (nothing relayed).
  degraded   cone/cone with `netlab degrade` 50 ms and 2% loss on both NAT
             links: a message and NODE_LAB_DEGRADED_BYTES (default 64 MiB)
             arrive intact over udp.
  symmetric  symmetric/symmetric with the tracker's [relay] enabled = false:
             a message stays "queued", bob's path on alice becomes "none" with
             "no direct path" in its reason within NODE_LAB_GIVEUP_S (default
             90 s), and the tracker's counters grow by less than the message's
             size (it is not relayed).
  relayed    symmetric/symmetric with the relay (issue 15): messages both ways
             through the tracker, bob's path on alice is "relay", a 16 MiB
             file arrives intact and the tracker's counters grow by at least
             its size.
  public     cone at a, no NAT at b: messages both ways and a 4 MiB file
             (prints which path carried them).
  plain      (not in the default) no NAT on either side: messages and a
             4 MiB file over direct TCP; checks the scaffolding alone.

Prints one PASS/FAIL line per check with figures; exits 0 when all pass, 1
when one fails, 77 (ctest's SKIP_RETURN_CODE) with the reason when this host
cannot build the lab (not root, no namespaces, no nft/iptables, no
../shared/lab). Logs (nodes at --log-level debug, tracker) stay in a
temporary directory on failure and their tails are printed.
NETLAB_PREFIX (default cfbnodes) keeps this lab apart from others.
"""
import os
import signal
import sys
import tempfile
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nodelab  # noqa: E402
from nodelab import MIB, Lab, Node, Skip, Tracker, make_file, sha256_file, tail, wait_until  # noqa: E402

CASES_DEFAULT = "cone,degraded,symmetric,relayed,public"


class Run:
    def __init__(self, tracker_exe, confab_exe):
        self.tracker_exe = tracker_exe
        self.confab_exe = confab_exe
        self.passed = 0
        self.failed = 0
        self.lab = Lab(os.environ.get("NETLAB_PREFIX", "cfbnodes"))
        self.dir = tempfile.mkdtemp(prefix="node-lab.")
        self.tracker = None
        self.alice = self.bob = None
        self.bytes = int(os.environ.get("NODE_LAB_BYTES", 64 * MIB))
        self.degraded_bytes = int(os.environ.get("NODE_LAB_DEGRADED_BYTES", 64 * MIB))
        self.giveup_s = float(os.environ.get("NODE_LAB_GIVEUP_S", 90))
        self.log_level = os.environ.get("NODE_LAB_LOG_LEVEL", "debug")
        self.downloads = os.path.join(self.dir, "bob-downloads")
        self.seq = 0

    # ---- reporting ----------------------------------------------------------

    def ok(self, what):
        print(f"PASS: {what}", flush=True)
        self.passed += 1

    def bad(self, what):
        print(f"FAIL: {what}", flush=True)
        self.failed += 1

    def check(self, cond, what):
        (self.ok if cond else self.bad)(what)
        return cond

    def dump_logs(self):
        for n in (self.alice, self.bob):
            if n:
                print(f"---- {n.name}'s node log (tail) {n.log_path}\n{tail(n.log_path, 60)}")
        if self.tracker:
            print(f"---- tracker log (tail) {self.tracker.log_path}\n"
                  f"{tail(self.tracker.log_path, 30)}")

    # ---- org ----------------------------------------------------------------

    def setup_lab(self, *up_args, degrade=None, nat=None, relay=True):
        """Builds the lab, starts the tracker (enrolling alice and bob on the
        first call; its [relay] enabled = `relay`) and both nodes."""
        self.stop_nodes()
        self.lab.up(*up_args)
        if degrade:
            for link in ("nat-a", "nat-b"):
                self.lab.degrade(link, degrade)
        first = self.tracker is None
        if first:
            self.tracker = Tracker(self.tracker_exe, os.path.join(self.dir, "tracker-state"),
                                   self.lab)
            self.tracker.init(self.lab.vars.get("NETLAB_TRACKER_IP", "198.18.0.2"))
        self.tracker.set_relay(relay)
        self.tracker.start()
        if first:
            self.alice = Node(self.confab_exe, os.path.join(self.dir, "alice"), "alice",
                              self.lab, "peer-a", self.log_level)
            self.bob = Node(self.confab_exe, os.path.join(self.dir, "bob"), "bob", self.lab,
                            "peer-b", self.log_level)
            t0 = time.monotonic()
            self.alice.join(self.tracker.invite("alice"))
            self.bob.join(self.tracker.invite("bob"))
            self.bob.write_config("[transfers]\n"
                                  'auto_accept_from = ["alice"]\n'
                                  f"auto_accept_max_size = {1 << 34}\n"
                                  f'download_dir = "{self.downloads}"\n')
            print(f"  enrolled alice (peer-a) and bob (peer-b) in {time.monotonic() - t0:.1f} s")
        self.alice.start()
        self.bob.start()
        # Both registered with the tracker (`status --verbose` where the
        # build has it; contacts are listed by `who` only once known).
        for n in (self.alice, self.bob):
            if n.status() is None:
                continue
            if not wait_until(lambda: (n.status() or {}).get("tracker") == "connected", 30):
                print(f"  ({n.name} not connected to the tracker after 30 s: {n.status()})")
        # What each node learnt from the tracker's two UDP probe ports.
        label = " ".join(up_args).replace("--", "")
        for n, want in zip((self.alice, self.bob), nat or (None, None)):
            st = wait_until(lambda: (lambda s: s if s and s.get("public_udp") and
                                     s.get("nat") != "unknown" else None)(n.status()),
                            10, 0.1) or n.status() or {}
            seen = (f"{n.name}: public UDP {st.get('public_udp') or '?'}, "
                    f"NAT mapping {st.get('nat')!r}")
            if want:
                self.check(st.get("nat") == want, f"{label}: {seen} (want {want!r})")
            else:
                print(f"  {seen}")

    def stop_nodes(self):
        for n in (self.alice, self.bob):
            if n:
                n.stop()
        if self.tracker:
            self.tracker.stop()

    def text(self, what):
        self.seq += 1
        return f"{what} #{self.seq} {time.time():.3f}"

    # ---- building blocks ----------------------------------------------------

    def message(self, sender, receiver, label, timeout=60):
        """sender -> receiver; PASS when the sender's history says delivered
        and the receiver has it."""
        text = self.text(f"{sender.name} to {receiver.name}")
        t0 = time.monotonic()
        r = sender.cli("msg", receiver.name, text)
        if r.returncode != 0:
            return self.check(False, f"{label}: {sender.name} -> {receiver.name}: confab msg "
                              f"exited {r.returncode}: {r.stderr.strip()}")
        state = wait_until(lambda: sender.message_state(receiver.name, text) == "delivered",
                           timeout, 0.1)
        dt = time.monotonic() - t0
        got = receiver.message_state(sender.name, text)
        return self.check(state and got == "received",
                          f"{label}: message {sender.name} -> {receiver.name} delivered in "
                          f"{dt:.2f} s (sender: {sender.message_state(receiver.name, text)}, "
                          f"receiver: {got})")

    def path_of(self, node, contact):
        c = node.contact(contact) or {}
        return c.get("path"), c.get("path_address"), c.get("path_reason")

    def check_path(self, label, want):
        """bob's path on alice is in `want` (a tuple); returns the path."""
        path, addr, reason = self.path_of(self.alice, "bob")
        if path is None:
            self.bad(f"{label}: no path field in `confab who --verbose --json` "
                     "(this build has no UDP path wiring)")
            return None
        self.check(path in want, f"{label}: alice reaches bob over {path!r} at {addr} "
                   f"(want {'/'.join(want)}; reason: {reason!r})")
        return path

    def file(self, label, size, timeout, tracker_limit=None):
        """alice sends bob a `size` random file; PASS when bob's copy has the
        source's sha256. With tracker_limit, also checks the tracker's
        counters grew by less than that over the transfer."""
        src = os.path.join(self.dir, f"file-{self.seq}.bin")
        self.seq += 1
        make_file(src, size, seed=str(self.seq).encode())
        want = sha256_file(src)
        before = self.lab.counters("tracker") if tracker_limit else 0
        t0 = time.monotonic()
        try:
            tid = self.alice.send_file("bob", src)
        except RuntimeError as e:
            os.unlink(src)
            return self.check(False, f"{label}: {e}")
        rec = self.bob.wait_transfer(tid, timeout=timeout) or {}
        dt = time.monotonic() - t0
        done = rec.get("state") == "completed"
        same = done and os.path.exists(rec.get("path", "")) and sha256_file(rec["path"]) == want
        mbs = size / MIB / dt
        # Which transport the file connection took (alice's log says so).
        with open(self.alice.log_path, errors="replace") as f:
            log = f.read()
        over = next((t for t in ("udp", "relay")
                     if f"transfer {tid}: connected to bob over {t}" in log), "tcp")
        self.check(same, f"{label}: {size / MIB:.0f} MiB alice -> bob over {over} in {dt:.1f} s "
                   f"({mbs:.1f} MiB/s), state {rec.get('state')!r}"
                   f"{', sha256 matches' if same else ''}"
                   f"{'' if done else ', error ' + repr(rec.get('error'))}")
        if tracker_limit:
            grew = self.lab.counters("tracker") - before
            self.check(grew < tracker_limit,
                       f"{label}: the tracker's interfaces moved {grew / 1024:.1f} KiB during "
                       f"the {size / MIB:.0f} MiB transfer (limit {tracker_limit / 1024:.0f} KiB)")
        os.unlink(src)
        if done and os.path.exists(rec.get("path", "")):
            os.unlink(rec["path"])
        return same

    # ---- cases --------------------------------------------------------------

    def case_cone(self):
        print("== cone / cone", flush=True)
        self.setup_lab("--nat", "cone", nat=("endpoint-independent",) * 2)
        self.message(self.alice, self.bob, "cone/cone")
        self.message(self.bob, self.alice, "cone/cone")
        self.check_path("cone/cone", ("udp",))
        self.file("cone/cone", self.bytes, 180, tracker_limit=MIB)
        self.check_path("cone/cone after the file", ("udp",))

    def case_degraded(self):
        print("== cone / cone, 50 ms delay and 2% loss on both NAT links", flush=True)
        self.setup_lab("--nat", "cone", degrade="delay 50ms loss 2%")
        self.message(self.alice, self.bob, "degraded cone/cone", timeout=90)
        self.check_path("degraded cone/cone", ("udp",))
        self.file("degraded cone/cone", self.degraded_bytes, 240)

    def case_symmetric(self):
        print("== symmetric / symmetric, the tracker's relay disabled", flush=True)
        self.setup_lab("--nat", "symmetric", nat=("endpoint-dependent",) * 2, relay=False)
        before = self.lab.counters("tracker")
        # A large message: were it relayed, the tracker's counters would show it.
        text = self.text("must not be relayed") + " " + "x" * 60000
        t0 = time.monotonic()
        r = self.alice.cli("msg", "bob", text)
        if r.returncode != 0:
            return self.bad(f"symmetric: confab msg exited {r.returncode}: {r.stderr.strip()}")

        def gave_up():
            c = self.alice.contact("bob") or {}
            # "none" / "not tried yet" comes first; wait for what was tried.
            return c if c.get("path") == "none" and c.get("path_reason") != "not tried yet" \
                else None
        c = wait_until(gave_up, self.giveup_s, 0.5)
        dt = time.monotonic() - t0
        if c is None:
            path, addr, reason = self.path_of(self.alice, "bob")
            self.bad(f"symmetric: bob's path on alice is {path!r} ({reason!r}) after "
                     f"{dt:.0f} s, want 'none' with 'no direct path'")
        else:
            self.check("no direct path" in (c.get("path_reason") or ""),
                       f"symmetric: alice gave up on a direct path to bob after {dt:.1f} s: "
                       f"path 'none', reason {c.get('path_reason')!r}")
        state = self.alice.message_state("bob", text)
        got = self.bob.message_state("alice", text)
        self.check(state == "queued" and got is None,
                   f"symmetric: the message stays queued on alice ({state!r}), bob has "
                   f"{'it' if got else 'nothing'}")
        grew = self.lab.counters("tracker") - before
        self.check(grew < len(text),
                   f"symmetric: the tracker's interfaces moved {grew / 1024:.1f} KiB in "
                   f"{time.monotonic() - t0:.0f} s, less than the {len(text) / 1024:.0f} KiB "
                   "message (not relayed)")
        # Still queued a little later (nothing retried through the tracker).
        time.sleep(3)
        state = self.alice.message_state("bob", text)
        self.check(state == "queued", f"symmetric: still {state!r} 3 s later")

    def case_relayed(self):
        print("== symmetric / symmetric through the tracker's relay", flush=True)
        self.setup_lab("--nat", "symmetric", nat=("endpoint-dependent",) * 2)
        # No direct path: the relay starts once both direct lanes failed, or
        # relay_after_ms (2 s) after the route was known.
        self.message(self.alice, self.bob, "relayed", timeout=90)
        self.message(self.bob, self.alice, "relayed", timeout=90)
        self.check_path("relayed", ("relay",))
        before = self.lab.counters("tracker")
        size = 16 * MIB
        self.file("relayed", size, 240)
        grew = self.lab.counters("tracker") - before
        # Each byte crosses the tracker's interface twice (in, then out).
        self.check(grew >= 2 * size,
                   f"relayed: the tracker's interfaces moved {grew / MIB:.1f} MiB over the "
                   f"{size / MIB:.0f} MiB file (want at least {2 * size / MIB:.0f} MiB)")
        self.check_path("relayed after the file", ("relay",))
        st = self.alice.status() or {}
        self.check(st.get("relayed_sessions", 0) >= 1,
                   f"relayed: alice's status counts {st.get('relayed_sessions')!r} relayed "
                   "sessions")

    def case_public(self):
        print("== cone at a, no NAT at b", flush=True)
        self.setup_lab("--nat-a", "cone", "--nat-b", "none", nat=("endpoint-independent", "none"))
        self.message(self.alice, self.bob, "cone/none")
        self.message(self.bob, self.alice, "cone/none")
        path = self.check_path("cone/none", ("tcp", "udp"))
        self.file(f"cone/none ({path})", 4 * MIB, 90)

    def case_plain(self):
        print("== no NAT at either side (TCP scaffolding check)", flush=True)
        self.setup_lab("--nat", "none", nat=("none", "none"))
        self.message(self.alice, self.bob, "none/none")
        self.message(self.bob, self.alice, "none/none")
        self.file("none/none", 4 * MIB, 90, tracker_limit=MIB)

    def main(self, cases):
        t0 = time.monotonic()
        try:
            for case in cases:
                try:
                    getattr(self, f"case_{case}")()
                except Exception as e:  # a broken case must not hide the others
                    self.bad(f"{case}: {type(e).__name__}: {e}")
                    traceback.print_exc()
        finally:
            self.stop_nodes()
            self.lab.down()
        print(f"{self.passed} passed, {self.failed} failed in {time.monotonic() - t0:.0f} s")
        if self.failed:
            self.dump_logs()
            print(f"logs kept in {self.dir}")
            return 1
        import shutil
        shutil.rmtree(self.dir, ignore_errors=True)
        return 0


def main(argv):
    if len(argv) != 3:
        print("usage: node_lab_test.py CONFAB_TRACKER CONFAB", file=sys.stderr)
        return 2
    tracker_exe, confab_exe = (os.path.realpath(a) for a in argv[1:3])
    for exe in (tracker_exe, confab_exe):
        if not os.access(exe, os.X_OK):
            print(f"node_lab_test: no executable at {exe} (build it first)")
            return 1
    try:
        nodelab.check_host(Lab("cfbnodes").netlab)
    except Skip as e:
        print(f"SKIP: node_lab_test: {e}")
        return 77
    cases = [c for c in os.environ.get("NODE_LAB_CASES", CASES_DEFAULT).split(",") if c]
    for c in cases:
        if not hasattr(Run, f"case_{c}"):
            print(f"node_lab_test: unknown case {c!r}")
            return 2
    # ctest's timeout sends SIGTERM: stop the nodes and take the lab down.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return Run(tracker_exe, confab_exe).main(cases)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
