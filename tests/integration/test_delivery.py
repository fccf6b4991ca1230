"""Delivery robustness with real processes (issue 4, item 6): kill -9 of the
sender or the receiver while a burst of hundreds of messages is being
committed, and a contact's identity key that changes under the same name.

The kill tests read the dead receiver's confab.db directly (sqlite3, which
needs no key for ids and seqs; bodies stay sealed) to see exactly what was
committed at the moment of the crash."""
import os
import sqlite3
import subprocess
import time
import unittest

from harness import NodeProcess, OrgTest, binary, confab_env, confab_join, wait_until

# Over kMaxReceiveBatch (1024), so a burst takes at least two commits at the
# receiver and a kill after the first lands mid-stream.
BURST = 1800


def committed_from(home, sender):
    """(id hex, seq) of the messages from `sender` committed in `home`'s
    confab.db, in the order written. Works while the node runs (WAL readers
    do not block its writer) and after it died."""
    db = sqlite3.connect(f"file:{os.path.join(home, 'confab.db')}?mode=ro", uri=True,
                         timeout=10)
    try:
        return [(bytes(i).hex(), s) for i, s in db.execute(
            "SELECT e.id, e.seq FROM entries e JOIN conv c ON c.row = e.conv "
            "WHERE c.peer = ? AND e.direction = 0 ORDER BY e.row", (sender,))]
    except sqlite3.OperationalError:
        return []  # not created yet
    finally:
        db.close()


class DeliveryTest(OrgTest):
    def setUp(self):
        super().setUp()
        self.alice = self.member("alice")
        self.bob = self.member("bob")

    def logs(self):
        return f"{super().logs()}\ntracker log:\n{self.tracker.log()}"

    def burst(self, node, to, prefix, n=BURST):
        """Queues n messages with one `confab msg --stdin`; returns their ids."""
        lines = "".join(f"{prefix}{i:04d} " + "x" * 40 + "\n" for i in range(n))
        r = subprocess.run([binary("CONFAB"), "msg", to, "--stdin"], input=lines,
                           env=confab_env(node.home), capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        ids = r.stdout.split()
        self.assertEqual(len(ids), n)
        return ids

    def history(self, node, contact):
        try:
            return node.cli_json("history", contact, "--limit", "100000")
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.logs()}")

    def kill_when_committing(self, victim, before):
        """Polls bob's confab.db until the burst's first commit lands, then
        kill -9s `victim` at once: the rest of the burst is still in flight."""
        wait_until(lambda: len(committed_from(self.bob.home, "alice")) > before, 20,
                   interval=0.002, what="the burst's first commit at bob")
        victim.kill()
        return len(committed_from(self.bob.home, "alice"))

    def delivered_ids(self):
        return {m["id"] for m in self.history(self.alice, "bob") if m["state"] == "delivered"}

    def check_all_arrived_once_in_order(self, queued):
        def done():
            h = self.history(self.alice, "bob")
            return (sorted(m["id"] for m in h) == sorted(queued)
                    and all(m["state"] == "delivered" for m in h))
        try:
            wait_until(done, 40, interval=0.25, what="every queued message delivered")
        except AssertionError:
            who = self.alice.cli("who", "--json").stdout
            raise AssertionError(f"alice's who: {who}\n{self.logs()}")
        got = [m for m in self.history(self.bob, "alice")]
        ids = [m["id"] for m in got]
        self.assertEqual(len(ids), len(set(ids)), "a message shown twice")
        self.assertEqual(sorted(ids), sorted(queued), "bob's history is not what alice queued")
        seqs = [m["seq"] for m in got]
        self.assertEqual(seqs, sorted(seqs), "not stored in seq order")
        self.assertEqual(seqs, list(range(1, len(queued) + 1)))
        # An answer over the control socket's 1 MiB is refused with a reason,
        # not dropped (which the CLI would report as no node running).
        r = self.bob.cli("history", "alice", "--limit", "100000", "--json")
        if r.returncode != 0:
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("--limit", r.stderr)

    def test_kill_9_of_receiver_and_of_sender_mid_burst(self):
        self.alice.start()
        self.bob.start()
        queued = self.burst(self.alice, "bob", "warm", 1)
        wait_until(lambda: self.delivered_ids() == set(queued), 15, what="the session")

        # The receiver dies while committing the burst.
        queued += self.burst(self.alice, "bob", "r", BURST)
        at_kill = self.kill_when_committing(self.bob, 1)
        self.assertLess(at_kill, 1 + BURST, "the burst was over before the kill: not mid-stream")
        print(f"\nreceiver killed with {at_kill - 1} of {BURST} committed", flush=True)
        time.sleep(0.3)  # acks already in alice's socket buffer are read
        acked = self.delivered_ids()
        on_disk = {i for i, _ in committed_from(self.bob.home, "alice")}
        self.assertLessEqual(acked, on_disk, "acknowledged but not in the receiver's store")
        self.bob.start()
        self.check_all_arrived_once_in_order(queued)

        # The sender dies while the receiver commits her burst: messages still
        # unacknowledged at the crash go out again from her durable outbox
        # after the restart.
        before = len(committed_from(self.bob.home, "alice"))
        queued += self.burst(self.alice, "bob", "s", BURST)
        at_kill = self.kill_when_committing(self.alice, before)
        db = sqlite3.connect(f"file:{os.path.join(self.alice.home, 'confab.db')}?mode=ro",
                             uri=True, timeout=10)
        unacked = db.execute("SELECT count(*) FROM entries WHERE state IN (1, 2)").fetchone()[0]
        db.close()
        self.assertGreater(unacked, 0, "the burst was over before the kill: not mid-stream")
        print(f"sender killed with {at_kill - before} of {BURST} committed at bob, "
              f"{unacked} unacknowledged", flush=True)
        self.alice.start()
        self.check_all_arrived_once_in_order(queued)

    def re_enrolled_alice(self):
        """alice loses her workstation: ops revoke her, free the name (what
        the directory's Reinstate does) and invite her again; she joins from
        a fresh home, so with a new identity key under the same name."""
        self.alice.start()
        self.bob.start()
        self.alice.cli("msg", "bob", "hello from the first key")
        wait_until(lambda: [m for m in self.history(self.bob, "alice")], 15, what="first message")
        self.assertEqual(self.tracker.cmd("revoke", "alice").returncode, 0)
        wait_until(lambda: "alice was revoked" in self.bob.log(), 10, what="bob hears of it")
        self.alice.kill()
        db = sqlite3.connect(os.path.join(self.tracker.state, "directory.db"), timeout=10)
        with db:
            db.execute("DELETE FROM members WHERE name = 'alice'")
        db.close()
        home2 = os.path.join(self.tmp, "alice2")
        r = confab_join(home2, self.tracker.invite("alice"))
        self.assertEqual(r.returncode, 0, r.stderr)
        alice2 = NodeProcess(home2, "alice")
        self.nodes.append(alice2)
        alice2.start()
        return alice2

    def test_a_changed_key_is_refused_until_accepted(self):
        alice2 = self.re_enrolled_alice()
        # Her messages are refused at bob's door and stay queued with her.
        self.assertEqual(alice2.cli("msg", "bob", "it is me, new laptop").returncode, 0)
        wait_until(lambda: [c for c in self.bob.cli_json("who")
                            if c["name"] == "alice" and c["key_change_pending"]],
                   20, what="the key change pending in bob's who")
        r = self.bob.cli("who")
        self.assertIn("KEY CHANGED", r.stdout)
        r = self.bob.cli("verify", "alice")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("CHANGED", r.stdout.upper())
        v = self.bob.cli_json("verify", "alice")
        self.assertTrue(v["key_change_pending"])
        self.assertNotEqual(v["new_safety_number"], "")
        self.assertNotEqual(v["new_safety_number"], v["safety_number"])
        # Bob cannot send to her either while the change is pending.
        r = self.bob.cli("msg", "alice", "who are you?")
        self.assertEqual(r.returncode, 1)
        self.assertIn("key has changed", r.stderr)
        self.assertEqual([m["text"] for m in self.history(self.bob, "alice")],
                         ["hello from the first key"])
        self.assertEqual([m["state"] for m in self.history(alice2, "bob")], ["queued"])

        # Bob compares the new safety number out of band and accepts it.
        r = self.bob.cli("verify", "alice", "--accept-new-key")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(self.bob.cli_json("verify", "alice")["key_change_pending"])

    # Known gap of chat protocol 2 (issue 12 note): entries are numbered per
    # author name, so the re-enrolled alice's seq 1 collides with her old
    # key's seq 1 at bob and is refused as an equivocation. Per-device
    # author streams (issue 13) are the fix; this test turns into a plain
    # one then (an unexpected success fails the run).
    @unittest.expectedFailure
    def test_messages_flow_again_after_an_accepted_key_change(self):
        alice2 = self.re_enrolled_alice()
        self.assertEqual(alice2.cli("msg", "bob", "it is me, new laptop").returncode, 0)
        wait_until(lambda: [c for c in self.bob.cli_json("who")
                            if c["name"] == "alice" and c["key_change_pending"]],
                   20, what="the key change pending in bob's who")
        r = self.bob.cli("verify", "alice", "--accept-new-key")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_until(lambda: [m for m in self.history(self.bob, "alice")
                            if m["text"] == "it is me, new laptop"], 20,
                   what="alice's queued message after the accept")
        self.assertEqual(self.bob.cli("msg", "alice", "welcome back").returncode, 0)
        wait_until(lambda: [m for m in self.history(alice2, "bob")
                            if m["text"] == "welcome back"], 20, what="bob's reply")


if __name__ == "__main__":
    unittest.main()
