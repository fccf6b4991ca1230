"""File transfers on the control socket's event stream (issue 11, item 5):
a subscriber at each end of a real transfer between two `confab up` nodes
sees the offer, progress (at most four a second), and completion; a file
the scan command refuses ends in a quarantined event with the reason."""
import os
import socket
import threading
import unittest

from harness import MIB, PairTest, make_file, proto_fields, wait_until
from test_events import Subscriber

# Event's transfer bodies (proto/control.proto), each a TransferEntry.
KINDS = {10: "offered", 11: "progress", 12: "completed", 13: "quarantined", 14: "failed",
         15: "stopped"}
ENTRY = {1: "id", 2: "peer", 3: "direction", 4: "name", 5: "size", 6: "state",
         7: "bytes_done", 8: "path", 9: "error", 10: "rate_bytes_per_s", 11: "digest",
         12: "type"}


def transfer_event(body):
    """{"kind", "time", and the TransferEntry's fields}, or None for other events."""
    f = proto_fields(body)
    kind = next((k for k in KINDS if k in f), None)
    if kind is None:
        return None
    event = {"kind": KINDS[kind], "time": f.get(1, 0)}
    for number, value in proto_fields(f[kind]).items():
        name = ENTRY.get(number)
        if name:
            event[name] = value.decode() if isinstance(value, bytes) else value
    return event


class Events:
    """A subscriber's transfer events, read on a thread."""

    def __init__(self, home):
        self.sub = Subscriber(home)
        self.events = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        while True:
            try:
                body = self.sub.next_frame()
            except OSError:
                return
            if body is None:
                return
            event = transfer_event(body)
            if event:
                with self.lock:
                    self.events.append(event)

    def of(self, tid, kind=None):
        with self.lock:
            return [e for e in self.events
                    if e.get("id") == tid and (kind is None or e["kind"] == kind)]

    def wait(self, tid, kind, timeout=30):
        return wait_until(lambda: (self.of(tid, kind) or [None])[0], timeout,
                          what=f"a {kind} event for {tid} (have {self.of(tid)})")

    def close(self):
        try:
            self.sub.sock.shutdown(socket.SHUT_RDWR)  # wakes the reader
        except OSError:
            pass
        self.thread.join(10)
        self.sub.sock.close()


class TransferEventsTest(PairTest):
    def send(self, path):
        r = self.alice.cli("send", "bob", path, "--detach")
        self.assertEqual(r.returncode, 0, r.stderr + self.logs())
        return r.stdout.splitlines()[0]

    def subscribe(self):
        self.alice.start()
        self.bob.start()
        at_alice, at_bob = Events(self.alice.home), Events(self.bob.home)
        self.addCleanup(at_alice.close)
        self.addCleanup(at_bob.close)
        return at_alice, at_bob

    def test_offer_progress_and_completion_reach_both_subscribers(self):
        # About 2.5 s at the sender's cap: long enough for several progress ticks.
        self.configure(self.alice, f"max_send_rate = {4 * MIB}\n")
        at_alice, at_bob = self.subscribe()
        size = 10 * MIB
        tid = self.send(make_file(os.path.join(self.tmp, "report.bin"), size))

        offer = at_bob.wait(tid, "offered")
        self.assertEqual((offer["peer"], offer["direction"], offer["name"], offer["size"],
                          offer["state"]), ("alice", "in", "report.bin", size, "offered"))
        ours = at_alice.wait(tid, "offered")
        self.assertEqual((ours["peer"], ours["direction"]), ("bob", "out"))

        r = self.bob.cli("accept", tid, "--to", self.downloads)
        self.assertEqual(r.returncode, 0, r.stderr)
        done = at_bob.wait(tid, "completed", timeout=60)
        self.assertEqual(done["path"], os.path.join(self.downloads, "report.bin"))
        self.assertEqual(done["bytes_done"], size)
        at_alice.wait(tid, "completed")

        for events, side in ((at_bob, "bob"), (at_alice, "alice")):
            progress = events.of(tid, "progress")
            self.assertGreaterEqual(len(progress), 3, f"{side}: {events.of(tid)}")
            done_bytes = [p["bytes_done"] for p in progress]
            self.assertEqual(done_bytes, sorted(done_bytes), side)
            self.assertTrue(all(0 < b <= size for b in done_bytes), side)
            self.assertTrue(any(p.get("rate_bytes_per_s", 0) > 0 for p in progress), side)
            # At most four a second: the node's clock between two of them.
            times = [p["time"] for p in progress]
            gaps = [b - a for a, b in zip(times, times[1:])]
            self.assertTrue(all(g >= 150 for g in gaps), f"{side}: gaps {gaps} ms")
            kinds = [e["kind"] for e in events.of(tid)]
            self.assertEqual(kinds[0], "offered", side)
            self.assertEqual(kinds[-1], "completed", side)
            self.assertEqual(kinds.count("completed"), 1, side)

    def test_a_file_the_scanner_refuses_ends_quarantined_with_the_reason(self):
        scanner = os.path.join(self.tmp, "broken-scanner.sh")
        with open(scanner, "w") as f:
            f.write("#!/bin/sh\nexit 2\n")
        os.chmod(scanner, 0o755)
        self.configure(self.bob, f'scan_command = "{scanner} {{}}"\n')
        at_alice, at_bob = self.subscribe()
        tid = self.send(make_file(os.path.join(self.tmp, "doc.txt"), 5000))
        at_bob.wait(tid, "offered")
        r = self.bob.cli("accept", tid, "--to", self.downloads)
        self.assertEqual(r.returncode, 0, r.stderr)
        bad = at_bob.wait(tid, "quarantined")
        self.assertIn("scan failed (exit 2)", bad["error"])
        self.assertEqual(bad["state"], "quarantined")
        self.assertIn("scan failed", at_alice.wait(tid, "quarantined")["error"])
        self.assertEqual(at_bob.of(tid, "completed"), [])


if __name__ == "__main__":
    unittest.main()
