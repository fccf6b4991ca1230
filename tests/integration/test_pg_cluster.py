"""Presence across two trackers on one PostgreSQL database (issue 16): a
member on tracker A sees a member on tracker B come online, change status
and go offline, and the other way round; a lookup on A returns what B's
member announced; kill -9 of B takes its members offline for A's
subscribers within cluster.dead_after; a member revoked through A loses
their session on B at once, everyone on either tracker is told, and B
refuses them and answers lookups for them as revoked; a punch request from
a member on A to one on B reaches both, as on one tracker; a node whose
enrollment names both trackers moves to B when A is killed with -9, and
its messages still go through. Real binaries, a real PostgreSQL."""
import json
import os
import shutil
import signal
import time
import unittest

import re

from harness import NodeProcess, Probe, TempDirTest, TrackerProcess, confab_join, run, wait_until
from pg import PgServer

DEAD_AFTER_TOML = '[cluster]\ndead_after = "3s"\n'


class PgClusterTest(TempDirTest):
    def setUp(self):
        super().setUp()
        self.pg = PgServer()
        self.addCleanup(self.pg.close)
        self.pg.create_database("cluster")
        self.url = self.pg.url("cluster")
        self.trackers, self.probes = [], []

        # Each tracker's state in its own folder, so each has its own log
        # (TrackerProcess writes it beside the state directory).
        for d in ("a", "b"):
            os.mkdir(os.path.join(self.tmp, d))
        self.a = TrackerProcess(os.path.join(self.tmp, "a", "state"))
        r = run([self.a.exe, "init", "--org", "Demo", "--state", self.a.state, "--listen",
                 "127.0.0.1:0", "--database", self.url])
        self.assertEqual(r.returncode, 0, r.stderr)
        keys = os.path.join(self.tmp, "keys")
        os.mkdir(keys, 0o700)
        for f in ("org.key", "tracker.key"):
            shutil.copy2(os.path.join(self.a.state, f), os.path.join(keys, f))
        self.b = TrackerProcess(os.path.join(self.tmp, "b", "state"))
        r = run([self.b.exe, "join-cluster", "--database", self.url, "--keys", keys, "--state",
                 self.b.state, "--listen", "127.0.0.1:0"])
        self.assertEqual(r.returncode, 0, r.stderr)
        for t in (self.a, self.b):
            with open(t.toml_path, "a") as f:
                f.write("\n" + DEAD_AFTER_TOML)
            self.trackers.append(t)
            t.start()

    def tearDown(self):
        for p in self.probes:
            p.kill()
        for t in self.trackers:
            t.stop(timeout=10)
        super().tearDown()

    def member(self, tracker, name):
        home = os.path.join(self.tmp, "home-" + name)
        r = confab_join(home, tracker.invite(name))
        self.assertEqual(r.returncode, 0, r.stderr)
        p = Probe(home)
        self.probes.append(p)
        p.wait_for(event="connected")
        return p

    def test_presence_crosses_trackers_both_ways_and_a_dead_tracker_takes_its_members_offline(self):
        alice = self.member(self.a, "alice")  # on a
        bob = self.member(self.b, "bob")      # on b
        alice.send("subscribe bob")
        bob.send("subscribe alice")
        alice.wait_for(event="presence", name="bob", status="online")
        bob.wait_for(event="presence", name="alice", status="online")

        with self.subTest("a status change on b reaches a subscriber on a"):
            mark = len(alice.snapshot())
            bob.send("status away lunch")
            _, e = alice.wait_for(event="presence", name="bob", status="away", after=mark)
            self.assertEqual(e["text"], "lunch")
        with self.subTest("and one on a reaches b"):
            mark = len(bob.snapshot())
            alice.send("status busy meeting")
            bob.wait_for(event="presence", name="alice", status="busy", text="meeting",
                         after=mark)

        with self.subTest("a lookup on a returns the endpoints bob announced on b"):
            bob.send("announce 10.1.2.3:7651")
            def announced():
                alice.send("lookup bob")
                _, e = alice.wait_for(event="lookup", after=len(alice.snapshot()) - 1)
                return e if any(ep["address"] == "10.1.2.3" for ep in e["endpoints"]) else None
            import harness
            e = harness.wait_until(announced, 10, what="bob's endpoints on a")
            self.assertTrue(e["found"])
            self.assertTrue(e["certificate_ok"])

        with self.subTest("bob leaving b is seen on a"):
            mark = len(alice.snapshot())
            bob.stop()
            alice.wait_for(event="presence", name="bob", status="offline", after=mark)

        with self.subTest("kill -9 of a tracker: its members go offline within dead_after"):
            carol = self.member(self.b, "carol")
            alice.send("subscribe bob carol")
            alice.wait_for(event="presence", name="carol", status="online")
            mark = len(alice.snapshot())
            self.b.stop(sig=signal.SIGKILL)
            self.trackers.remove(self.b)
            alice.wait_for(timeout=3 + 8, event="presence", name="carol", status="offline",
                           after=mark)
            self.assertIn("stopped heartbeating", self.a.log())
            del carol

    def test_a_revocation_through_one_tracker_closes_the_session_on_the_other(self):
        alice = self.member(self.a, "alice")  # on a
        bob = self.member(self.b, "bob")      # on b: revoked through a
        carol = self.member(self.b, "carol")  # on b
        marks = {p: len(p.snapshot()) for p in (alice, bob, carol)}
        started = time.monotonic()
        r = self.a.cmd("revoke", "bob", "--reason", "left")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Revoked bob", r.stdout)
        bob.wait_for(timeout=5, event="disconnected", after=marks[bob])
        took = time.monotonic() - started
        print(f"bob's session on b closed {took * 1000:.0f} ms after `revoke` on a started")
        carol.wait_for(timeout=5, event="revoked", name="bob", after=marks[carol])
        alice.wait_for(timeout=5, event="revoked", name="bob", after=marks[alice])
        self.assertIn("bob was revoked on another tracker of the cluster: left", self.b.log())
        self.assertNotIn("on another tracker", self.a.log())  # a's own, applied once

        with self.subTest("b refuses bob's next session"):
            bob.wait_for(timeout=15, event="refused", after=marks[bob])
            self.assertRegex(self.b.log(), r"session refused for bob .*membership revoked")

        with self.subTest("a lookup on b sees the revocation"):
            mark = len(carol.snapshot())
            carol.send("lookup bob")
            _, e = carol.wait_for(event="lookup", after=mark)
            self.assertFalse(e["found"])
            self.assertEqual(e["error"], "revoked")

        with self.subTest("the revocation was heard once on each tracker"):
            mark = len(alice.snapshot())
            carol.send("status away")
            alice.send("subscribe carol")
            alice.wait_for(event="presence", name="carol", after=mark)
            revoked = [e for e in alice.snapshot() if e.get("event") == "revoked"]
            self.assertEqual(len(revoked), 1, revoked)

    def test_a_punch_request_reaches_a_member_on_the_other_tracker(self):
        alice = self.member(self.a, "alice")  # on a
        bob = self.member(self.b, "bob")      # on b
        alice.send("announce 10.0.0.1:7001")
        bob.send("announce 10.0.0.2:7002")
        alice.send("subscribe bob")
        bob.send("subscribe alice")
        alice.wait_for(event="presence", name="bob", status="online")
        bob.wait_for(event="presence", name="alice", status="online")
        bob_ep = {"address": "10.0.0.2", "port": 7002, "kind": "lan", "udp": False}
        alice_ep = {"address": "10.0.0.1", "port": 7001, "kind": "lan", "udp": False}

        def bob_endpoints_on_a():
            alice.send("lookup bob")
            _, e = alice.wait_for(event="lookup", after=len(alice.snapshot()) - 1)
            return bob_ep in e.get("endpoints", [])
        import harness
        harness.wait_until(bob_endpoints_on_a, 10, what="bob's endpoints on a")

        for requester, target, ep_of_target, ep_of_requester, names in (
                (alice, bob, bob_ep, alice_ep, ("alice", "bob")),
                (bob, alice, alice_ep, bob_ep, ("bob", "alice"))):
            with self.subTest(f"{names[0]} punches {names[1]} across trackers"):
                marks = (len(requester.snapshot()), len(target.snapshot()))
                requester.send(f"punch {names[1]}")
                _, to_requester = requester.wait_for(event="punch", name=names[1],
                                                     after=marks[0])
                self.assertIn(ep_of_target, to_requester["endpoints"])
                _, to_target = target.wait_for(event="punch", name=names[0], after=marks[1])
                self.assertIn(ep_of_requester, to_target["endpoints"])
                self.assertEqual(to_target["request_id"], to_requester["request_id"])

        with self.subTest("a punch to a member offline everywhere is refused"):
            mark = len(alice.snapshot())
            bob.stop()
            alice.wait_for(event="presence", name="bob", status="offline", after=mark)
            alice.send("punch bob")
            _, e = alice.wait_for(event="error", after=mark)
            self.assertIn("bob is not online", e["message"])

    def node(self, tracker, name):
        home = os.path.join(self.tmp, "home-" + name)
        r = confab_join(home, tracker.invite(name))
        self.assertEqual(r.returncode, 0, r.stderr)
        node = NodeProcess(home, name)
        self.addCleanup(node.stop, timeout=10)
        return node

    def test_a_node_fails_over_to_another_tracker_when_its_own_is_killed(self):
        alice = self.node(self.a, "alice")
        bob = self.node(self.b, "bob")
        at_a, at_b = f"127.0.0.1:{self.a.port}", f"127.0.0.1:{self.b.port}"
        # Both trackers of the cluster, a's (where alice joined) first.
        enrollment = os.path.join(alice.home, "enrollment.toml")
        with open(enrollment) as f:
            text = f.read()
        text, n = re.subn(r'^address = .*$', f'address = "{at_a}, {at_b}"', text, flags=re.M)
        self.assertEqual(n, 1, text)
        with open(enrollment, "w") as f:
            f.write(text)
        alice.start()
        bob.start()

        def delivered(text):
            def done():
                found = [m for m in alice.history("bob") if m["text"] == text]
                return found and found[-1]["state"] == "delivered"
            wait_until(done, 20, what=f"{text!r} delivered\nalice:\n{alice.log()}")
            self.assertTrue(any(m["text"] == text for m in bob.history("alice")))

        status = alice.cli_json("status")
        self.assertEqual(status["tracker"], "connected")
        self.assertEqual(status["tracker_address"], at_a)
        self.assertEqual(alice.cli("msg", "bob", "before").returncode, 0)
        delivered("before")

        started = time.monotonic()
        self.a.stop(sig=signal.SIGKILL)
        self.trackers.remove(self.a)

        def on_b():
            s = alice.cli_json("status")
            return s if s["tracker"] == "connected" and s["tracker_address"] == at_b else None
        wait_until(on_b, 15, what=f"alice on tracker b\n{alice.log()}")
        print(f"alice was on tracker b {time.monotonic() - started:.1f} s after kill -9 of a")
        r = alice.cli("status", "--verbose")
        self.assertIn(f"tracker: {at_b}", r.stdout)
        # presence: b has alice's session now
        def alice_online():
            users = json.loads(run([self.b.exe, "users", "--json", "--state",
                                    self.b.state]).stdout)
            return any(u["name"] == "alice" and u["online"] for u in users)
        wait_until(alice_online, 15, what="alice online in b's users")
        self.assertEqual(alice.cli("msg", "bob", "after failover").returncode, 0)
        delivered("after failover")
        self.assertEqual(bob.cli("msg", "alice", "and back").returncode, 0)
        wait_until(lambda: any(m["text"] == "and back" for m in alice.history("bob")), 20,
                   what="bob's reply at alice")


if __name__ == "__main__":
    unittest.main()
