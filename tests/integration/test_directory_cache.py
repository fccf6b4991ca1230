"""The node's directory cache in confab.db: a restarted node reaches a known
contact from the last lookup answer while the tracker is down, and keeps
the revocations it was told about across restarts."""
import os
import sqlite3
import unittest

from harness import OrgTest, wait_until


class DirectoryCacheTest(OrgTest):
    def setUp(self):
        super().setUp()
        self.alice = self.member("alice")
        self.bob = self.member("bob")

    def delivered(self, node, contact, text, timeout=15):
        def match():
            return [m for m in node.history(contact)
                    if m["text"] == text and m["state"] == "delivered"]
        try:
            return wait_until(match, timeout, what=f"{text!r} delivered")
        except AssertionError:
            raise AssertionError(f"{node.history(contact)}\n{self.logs()}\n"
                                 f"tracker:\n{self.tracker.log()}")

    def test_a_restarted_node_reaches_a_known_contact_with_the_tracker_down(self):
        self.alice.start()
        self.bob.start()
        self.assertEqual(self.alice.cli("msg", "bob", "before").returncode, 0)
        self.delivered(self.alice, "bob", "before")

        self.assertEqual(self.tracker.stop(), 0)
        self.assertEqual(self.alice.stop(), 0)
        self.alice.start()  # a new run: no session, no tracker to ask
        self.assertEqual(self.alice.cli("msg", "bob", "tracker is down").returncode, 0)
        self.delivered(self.alice, "bob", "tracker is down", timeout=20)
        self.assertIn("last known endpoints", self.alice.log())
        texts = [m["text"] for m in self.bob.history("alice")]
        self.assertEqual(texts, ["before", "tracker is down"])

    def test_revocations_are_kept_across_restarts(self):
        carol = self.member("carol")
        self.alice.start()
        carol.start()
        self.assertEqual(carol.cli("msg", "alice", "hi from carol").returncode, 0)
        self.delivered(carol, "alice", "hi from carol")

        self.tracker.cmd("revoke", "carol")
        wait_until(lambda: "carol was revoked" in self.alice.log(), 15,
                   what="alice told of the revocation")
        self.assertEqual(self.alice.stop(), 0)
        db = sqlite3.connect(os.path.join(self.alice.home, "confab.db"))
        rows = db.execute("SELECT name, length(identity_key) FROM revoked_keys").fetchall()
        db.close()
        self.assertEqual(rows, [("carol", 32)])

        self.alice.start()
        wait_until(lambda: "1 revoked key(s) on record are refused" in self.alice.log(), 10,
                   what="the revocation loaded at start-up")


if __name__ == "__main__":
    unittest.main()
