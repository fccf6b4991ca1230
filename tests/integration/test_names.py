"""Names a person types are checked: `msg`, `send` and `contacts add` to a
name the organisation does not have exit 1 with "no such member" and a
did-you-mean, a revoked name is refused, and when the tracker cannot be
asked the message queues and the command says so. `confab outbox` lists
what waits and `confab outbox drop ID` deletes a message never sent.
`confab-tracker reinstate NAME` lets a revoked name be invited again.
Real tracker and nodes on 127.0.0.1."""
import os
import signal
import unittest

from harness import OrgTest, confab_join, make_file, wait_until

EXIT_FAILED = 1


class NamesTest(OrgTest):
    def setUp(self):
        super().setUp()
        self.alice = self.member("alice")
        self.bob = self.member("bob")
        self.alice.start()
        self.bob.start()
        # alice knows bob: a message delivered makes him a correspondent
        r = self.alice.cli("msg", "bob", "hello")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_until(lambda: any(m["text"] == "hello" for m in self.bob.history("alice")),
                   15, what="bob receives hello")

    def test_a_message_to_a_typo_is_refused_with_a_suggestion_and_nothing_queued(self):
        r = self.alice.cli("msg", "bbo", "hi")
        self.assertEqual(r.returncode, EXIT_FAILED, r.stdout + r.stderr)
        self.assertIn("no such member: bbo", r.stderr)
        self.assertIn("did you mean bob?", r.stderr)
        self.assertIn("nothing was queued", r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertEqual(self.alice.cli_json("outbox"), [])
        self.assertEqual(self.alice.cli_json("history", "bbo"), [])
        who = [c["name"] for c in self.alice.cli_json("who")]
        self.assertNotIn("bbo", who)

    def test_contacts_add_and_send_to_an_unknown_name_exit_1(self):
        r = self.alice.cli("contacts", "add", "nosuch")
        self.assertEqual(r.returncode, EXIT_FAILED, r.stdout + r.stderr)
        self.assertIn("no such member: nosuch", r.stderr)
        self.assertIn("nothing was added", r.stderr)
        self.assertNotIn("nosuch", [c["name"] for c in self.alice.cli_json("contacts")])
        path = os.path.join(self.tmp, "f.bin")
        make_file(path, 1000)
        r = self.alice.cli("send", "bbo", path)
        self.assertEqual(r.returncode, EXIT_FAILED, r.stdout + r.stderr)
        self.assertIn("no such member: bbo", r.stderr)
        self.assertIn("did you mean bob?", r.stderr)
        self.assertEqual(self.alice.cli_json("transfers"), [])

    def test_a_real_member_not_yet_a_contact_passes_the_check(self):
        carol = self.member("carol")
        carol.start()
        r = self.alice.cli("contacts", "add", "carol")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        r = self.alice.cli("msg", "carol", "welcome")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_until(lambda: any(m["text"] == "welcome" for m in carol.history("alice")),
                   15, what="carol receives welcome")

    def test_a_revoked_member_is_refused(self):
        carol = self.member("carol")
        r = self.tracker.cmd("revoke", "carol")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.alice.cli("msg", "carol", "still there?")
        self.assertEqual(r.returncode, EXIT_FAILED, r.stdout + r.stderr)
        self.assertIn("carol's membership was revoked", r.stderr)
        self.assertEqual(self.alice.cli_json("outbox"), [])

    def test_with_the_tracker_down_a_message_queues_and_says_so_then_can_be_dropped(self):
        self.tracker.stop()
        wait_until(lambda: self.alice.cli_json("status")["tracker"] == "disconnected", 15,
                   what="alice sees the tracker down")
        r = self.alice.cli("msg", "dave", "are you new?")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("could not check that dave is a member", r.stderr)
        self.assertIn("confab outbox drop", r.stderr)
        message_id = r.stdout.strip()
        outbox = self.alice.cli_json("outbox")
        self.assertEqual([(m["id"], m["to"], m["text"], m["state"]) for m in outbox],
                         [(message_id, "dave", "are you new?", "queued")])
        # a prefix too short, and one that matches nothing, are refused
        r = self.alice.cli("outbox", "drop", message_id[:3])
        self.assertEqual(r.returncode, EXIT_FAILED)
        self.assertIn("at least 4 hex digits", r.stderr)
        r = self.alice.cli("outbox", "drop", "ffff" if not message_id.startswith("ffff") else "0000")
        self.assertEqual(r.returncode, EXIT_FAILED)
        self.assertIn("no message in the outbox", r.stderr)
        r = self.alice.cli("outbox", "drop", message_id[:8])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Dropped " + message_id, r.stdout)
        self.assertEqual(self.alice.cli_json("outbox"), [])
        self.assertEqual(self.alice.cli_json("history", "dave"), [])

    def test_a_message_already_sent_cannot_be_dropped(self):
        r = self.alice.cli("outbox", "drop", "abcd")
        self.assertEqual(r.returncode, EXIT_FAILED)
        # bob's node stops: alice's next message stays in her outbox, but once
        # sent it may be on his node, so only a queued one can go
        self.bob.stop()
        r = self.alice.cli("msg", "bob", "later")
        self.assertEqual(r.returncode, 0, r.stderr)
        outbox = self.alice.cli_json("outbox")
        self.assertEqual([m["text"] for m in outbox], ["later"])
        self.assertIn(outbox[0]["state"], ("queued", "sent"))


class ReinstateTest(OrgTest):
    def test_a_revoked_name_can_be_reinstated_and_invited_again(self):
        carol = self.member("carol")
        self.assertEqual(self.tracker.cmd("revoke", "carol").returncode, 0)
        r = self.tracker.cmd("invite", "carol")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("reinstate", r.stderr)
        r = self.tracker.cmd("reinstate", "carol")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Reinstated carol", r.stdout)
        users = self.tracker.users()
        self.assertNotIn("carol", users)
        # a second reinstate, and one of a name never revoked, are refused
        r = self.tracker.cmd("reinstate", "carol")
        self.assertEqual(r.returncode, EXIT_FAILED, r.stdout + r.stderr)
        alice = self.member("alice")
        r = self.tracker.cmd("reinstate", "alice")
        self.assertEqual(r.returncode, EXIT_FAILED, r.stdout + r.stderr)
        self.assertIn("not revoked", r.stderr)
        # carol joins again with a new home and key
        home = os.path.join(self.tmp, "carol2")
        r = confab_join(home, self.tracker.invite("carol"))
        self.assertEqual(r.returncode, 0, r.stderr)
        users = self.tracker.users()
        self.assertFalse(users["carol"]["revoked"])
        del alice, carol

    def test_reinstate_works_with_no_tracker_running(self):
        self.member("carol")
        self.assertEqual(self.tracker.cmd("revoke", "carol").returncode, 0)
        self.tracker.stop()
        r = self.tracker.cmd("reinstate", "carol")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.tracker.start()
        r = confab_join(os.path.join(self.tmp, "carol2"), self.tracker.invite("carol"))
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main()
