"""history.retain_days in $CONFAB_HOME/config.toml: a node purges received
and delivered messages older than that at start-up (and daily), keeps
younger ones, and refuses a config.toml with an unknown key."""
import os
import sqlite3
import unittest

from harness import OrgTest, wait_until

DAY_MS = 24 * 3600 * 1000


class RetentionTest(OrgTest):
    def setUp(self):
        super().setUp()
        self.alice = self.member("alice")
        self.bob = self.member("bob")

    def texts(self, node, contact):
        return [m["text"] for m in node.history(contact)]

    def test_old_history_is_purged_at_start_up(self):
        self.alice.start()
        self.bob.start()
        for text in ("old one", "new one"):
            self.assertEqual(self.alice.cli("msg", "bob", text).returncode, 0)
        wait_until(lambda: self.texts(self.bob, "alice") == ["old one", "new one"], 15,
                   what="both messages at bob")
        wait_until(lambda: [m["state"] for m in self.alice.history("bob")] == ["delivered"] * 2,
                   15, what="both delivered at alice")
        self.assertEqual(self.bob.stop(), 0)
        self.assertEqual(self.alice.stop(), 0)

        # Age the first message by three days on both sides (the store's own
        # clock column; bodies stay encrypted).
        for node in (self.alice, self.bob):
            db = sqlite3.connect(os.path.join(node.home, "confab.db"))
            with db:
                db.execute("UPDATE entries SET received_ms = received_ms - ? "
                           "WHERE seq = 1 AND author = 'alice' AND kind = 1",
                           (3 * DAY_MS,))
            db.close()
            with open(os.path.join(node.home, "config.toml"), "w") as f:
                f.write("[history]\nretain_days = 2\n")

        self.bob.start()
        self.alice.start()
        self.assertEqual(self.texts(self.bob, "alice"), ["new one"])
        self.assertEqual(self.texts(self.alice, "bob"), ["new one"])
        self.assertIn("purged 1 message(s) older than 2 days", self.bob.log())
        # The signed entry keeps its place (so both nodes still agree on what
        # they hold) without its body.
        db = sqlite3.connect(f"file:{os.path.join(self.bob.home, 'confab.db')}?mode=ro", uri=True)
        rows = db.execute("SELECT seq, purged, length(sealed) FROM entries "
                          "WHERE author = 'alice' AND kind = 1 ORDER BY seq").fetchall()
        db.close()
        self.assertEqual([(s, p) for s, p, _ in rows], [(1, 1), (2, 0)])
        self.assertEqual(rows[0][2], 0)
        # Nothing is sent again: alice's next message lands as seq 3.
        self.assertEqual(self.alice.cli("msg", "bob", "third").returncode, 0)
        wait_until(lambda: self.texts(self.bob, "alice") == ["new one", "third"], 15,
                   what="the next message after the purge")

    def test_unknown_key_in_config_toml_is_refused(self):
        with open(os.path.join(self.alice.home, "config.toml"), "w") as f:
            f.write("[history]\nretain_dayz = 2\n")
        r = self.alice.cli("up", "--listen", "127.0.0.1:0")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("unknown key 'history.retain_dayz'", r.stderr)
        self.assertIn("did you mean 'history.retain_days'", r.stderr)


if __name__ == "__main__":
    unittest.main()
