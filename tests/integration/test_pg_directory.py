"""Trackers on a shared PostgreSQL directory (issue 16): `init --database`,
two members joining and messaging through a PG-backed tracker, and a second
tracker process on the same database serving a lookup of a member who joined
through the first. Real binaries, a real PostgreSQL server."""
import os
import shutil
import unittest

from harness import (NodeProcess, Probe, TempDirTest, TrackerProcess, binary, confab_join, run,
                     wait_until)
from pg import PgServer


class PgTracker(TrackerProcess):
    def init_on(self, url):
        r = run([self.exe, "init", "--org", self.org, "--state", self.state, "--listen",
                 self.listen, "--database", url])
        if r.returncode != 0:
            raise AssertionError(f"init --database failed: {r.stderr}")
        return r


class PgDirectoryTest(TempDirTest):
    def setUp(self):
        super().setUp()
        self.pg = PgServer()
        self.addCleanup(self.pg.close)
        self.pg.create_database("cluster")
        self.url = self.pg.url("cluster")
        self.procs = []

    def tearDown(self):
        for p in reversed(self.procs):
            p.stop(timeout=10)
        super().tearDown()

    def tracker(self, name):
        t = PgTracker(os.path.join(self.tmp, name))
        self.procs.append(t)
        return t

    def node(self, tracker, name):
        home = os.path.join(self.tmp, "home-" + name)
        r = confab_join(home, tracker.invite(name))
        self.assertEqual(r.returncode, 0, r.stderr)
        n = NodeProcess(home, name)
        self.procs.append(n)
        return n

    def delivered(self, node, contact, text, timeout=20):
        def match():
            return [m for m in node.history(contact)
                    if m["text"] == text and m["state"] == "delivered"]
        return wait_until(match, timeout, what=f"{text!r} delivered")

    def test_members_of_a_pg_tracker_talk_and_a_second_tracker_serves_their_lookups(self):
        a = self.tracker("a")
        r = a.init_on(self.url)
        self.assertIn("PostgreSQL", r.stdout)
        self.assertFalse(os.path.exists(os.path.join(a.state, "directory.db")))
        with open(a.toml_path) as f:
            self.assertIn(self.url, f.read())
        a.start()

        alice, bob = self.node(a, "alice"), self.node(a, "bob")
        self.assertEqual(self.pg.sql("SELECT string_agg(name, ',' ORDER BY name) FROM members",
                                     "cluster"), "alice,bob")
        alice.start()
        bob.start()
        self.assertEqual(alice.cli("msg", "bob", "over postgres").returncode, 0)
        self.delivered(alice, "bob", "over postgres")
        self.assertEqual(bob.cli("msg", "alice", "and back").returncode, 0)
        self.delivered(bob, "alice", "and back")

        # A second tracker on the same database, on another port, prepared
        # by join-cluster from copies of the first one's keys.
        keys = os.path.join(self.tmp, "carried-keys")
        os.mkdir(keys, 0o700)
        for f in ("org.key", "tracker.key"):
            shutil.copy2(os.path.join(a.state, f), os.path.join(keys, f))
        b = self.tracker("b")
        r = run([b.exe, "join-cluster", "--database", self.url, "--keys", keys, "--state",
                 b.state, "--listen", "127.0.0.1:0"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("cluster of 'Demo'", r.stdout)
        b_port = b.start()
        self.assertNotEqual(b_port, a.port)

        # carol joins through b and looks up alice, who joined through a.
        carol_home = os.path.join(self.tmp, "home-carol")
        code = b.invite("carol")
        r = confab_join(carol_home, code)
        self.assertEqual(r.returncode, 0, r.stderr)
        probe = Probe(carol_home)
        self.addCleanup(probe.kill)
        probe.wait_for(event="connected")
        probe.send("lookup alice")
        _, e = probe.wait_for(event="lookup")
        self.assertTrue(e["found"], e)
        self.assertTrue(e["certificate_ok"], e)
        self.assertEqual(e["name"], "alice")
        self.assertEqual(e["fingerprint"], a.users()["alice"]["fingerprint"])

        # Both trackers list every member; the audit in the database has
        # the lookup b served and the joins a served.
        on_b, on_a = b.users(), a.users()
        self.assertEqual(sorted(on_b), ["alice", "bob", "carol"])
        self.assertEqual(sorted(on_a), ["alice", "bob", "carol"])
        # carol's session is on b, alice's on a: users on either tracker
        # shows both online (presence shared through the database).
        self.assertTrue(on_b["carol"]["online"], on_b)
        self.assertTrue(wait_until(lambda: a.users()["carol"]["online"], 10,
                                   what="carol online in a's users"))
        self.assertTrue(on_a["alice"]["online"], on_a)
        self.assertTrue(on_b["alice"]["online"], on_b)
        wait_until(lambda: self.pg.sql(
            "SELECT count(*) FROM audit WHERE action = 'lookup' AND actor = 'carol' "
            "AND subject = 'alice'", "cluster") == "1", 15, what="carol's lookup audited")
        self.assertEqual(self.pg.sql("SELECT count(*) FROM audit WHERE action = 'join'",
                                     "cluster"), "3")

    def test_init_with_a_bad_url_an_unreachable_server_or_a_newer_schema_fails_clearly(self):
        exe = binary("CONFAB_TRACKER")
        cases = [
            ("not-a-url", "neither a postgresql:// URL"),
            ("postgresql://[::1", "not valid"),
            (f"postgresql:///nope?host={self.tmp}/no-such-dir&connect_timeout=2",
             "cannot connect"),
        ]
        for url, words in cases:
            with self.subTest(url=url):
                state = os.path.join(self.tmp, "bad")
                r = run([exe, "init", "--org", "Demo", "--state", state, "--listen",
                         "127.0.0.1:0", "--database", url])
                self.assertNotEqual(r.returncode, 0)
                self.assertIn(words, r.stderr)
                self.assertIn("--database", r.stderr)
                self.assertFalse(os.path.exists(os.path.join(state, "org.key")), r.stderr)

        # A database that a newer confab has migrated.
        a = self.tracker("a")
        a.init_on(self.url)
        self.pg.sql("UPDATE confab_schema_version SET version = 99", "cluster")
        state = os.path.join(self.tmp, "newer")
        r = run([exe, "init", "--org", "Demo", "--state", state, "--listen", "127.0.0.1:0",
                 "--database", self.url])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("upgrade confab-tracker", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(state, "org.key")))
        # ... and `serve` on it refuses to start, saying why.
        r = run([exe, "serve", "--state", a.state], timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("upgrade confab-tracker", r.stderr)

    def test_init_twice_and_join_cluster_with_the_wrong_keys_are_refused(self):
        a = self.tracker("a")
        a.init_on(self.url)
        exe = binary("CONFAB_TRACKER")
        again = os.path.join(self.tmp, "again")
        r = run([exe, "init", "--org", "Demo", "--state", again, "--database", self.url])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("already holds the cluster of org 'Demo'", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(again, "org.key")))

        other = TrackerProcess(os.path.join(self.tmp, "other"), org="Other")
        other.init()
        b = os.path.join(self.tmp, "b")
        r = run([exe, "join-cluster", "--database", self.url, "--keys", other.state, "--state",
                 b, "--listen", "127.0.0.1:0"])
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("is not the org key of the cluster of org 'Demo'", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(b, "org.key")))
        r = run([exe, "join-cluster", "--keys", a.state, "--state", b])
        self.assertEqual(r.returncode, 2, r.stderr)  # --database is required

    def test_serve_refuses_to_start_while_the_database_is_unreachable(self):
        a = self.tracker("a")
        a.init_on(self.url)
        self.pg.stop()
        r = run([binary("CONFAB_TRACKER"), "serve", "--state", a.state], timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("[database] url", r.stderr)
        self.assertIn("postgresql: cannot connect", r.stderr)
        self.pg.start()
        a.start()  # and starts once it is back
        self.assertEqual(a.users(), {})


if __name__ == "__main__":
    unittest.main()
