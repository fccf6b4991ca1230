"""Presence across two trackers on one PostgreSQL database (issue 16): a
member on tracker A sees a member on tracker B come online, change status
and go offline, and the other way round; a lookup on A returns what B's
member announced; kill -9 of B takes its members offline for A's
subscribers within cluster.dead_after. Real binaries, a real PostgreSQL."""
import os
import shutil
import signal
import unittest

from harness import Probe, TempDirTest, TrackerProcess, confab_join, run
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

        self.a = TrackerProcess(os.path.join(self.tmp, "a"))
        r = run([self.a.exe, "init", "--org", "Demo", "--state", self.a.state, "--listen",
                 "127.0.0.1:0", "--database", self.url])
        self.assertEqual(r.returncode, 0, r.stderr)
        keys = os.path.join(self.tmp, "keys")
        os.mkdir(keys, 0o700)
        for f in ("org.key", "tracker.key"):
            shutil.copy2(os.path.join(self.a.state, f), os.path.join(keys, f))
        self.b = TrackerProcess(os.path.join(self.tmp, "b"))
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


if __name__ == "__main__":
    unittest.main()
