"""`confab contacts`, `confab verify` and `confab export` against real nodes
(alice, bob, carol) and a tracker on 127.0.0.1: safety numbers, blocking,
the decrypted export, and clear refusals for unknown contacts."""
import json
import os
import time
import unittest

from harness import OrgTest, wait_until

EXIT_FAILED = 1


class ContactsTest(OrgTest):
    def setUp(self):
        super().setUp()
        self.alice = self.member("alice")
        self.bob = self.member("bob")
        self.alice.start()
        self.bob.start()

    def msg(self, node, to, text):
        r = node.cli("msg", to, text, "--json")
        self.assertEqual(r.returncode, 0, r.stderr + self.logs())

    def wait_received(self, node, contact, text, timeout=15):
        try:
            return wait_until(lambda: [m for m in node.history(contact) if m["text"] == text],
                              timeout, what=f"{node.name} receives {text!r}")
        except AssertionError:
            raise AssertionError(f"{node.name}'s history with {contact}: "
                                 f"{node.history(contact)}\n{self.logs()}")

    def contact(self, node, name):
        found = [c for c in node.cli_json("contacts") if c["name"] == name]
        return found[0] if found else None

    def test_safety_numbers_match_on_both_sides_and_differ_for_a_third(self):
        carol = self.member("carol")
        carol.start()
        self.msg(self.alice, "bob", "hi bob")
        self.wait_received(self.bob, "alice", "hi bob")
        self.msg(self.alice, "carol", "hi carol")
        self.wait_received(carol, "alice", "hi carol")

        ab = self.alice.cli_json("verify", "bob")
        ba = self.bob.cli_json("verify", "alice")
        ac = self.alice.cli_json("verify", "carol")
        self.assertRegex(ab["safety_number"], r"^\d{5}( \d{5}){11}$")
        self.assertEqual(ab["safety_number"], ba["safety_number"])
        self.assertNotEqual(ab["safety_number"], ac["safety_number"])
        self.assertFalse(ab["verified"])
        self.assertEqual(ab["new_safety_number"], "")

        text = self.alice.cli("verify", "bob")
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertIn(ab["safety_number"], text.stdout)

        self.assertTrue(self.alice.cli_json("verify", "bob", "--mark")["verified"])
        bob = self.contact(self.alice, "bob")
        self.assertEqual((bob["pinned"], bob["verified"], bob["blocked"]), (True, True, False))
        self.assertFalse(self.contact(self.alice, "carol")["verified"])
        # No key change is pending: nothing to accept.
        r = self.alice.cli("verify", "bob", "--accept-new-key")
        self.assertEqual(r.returncode, EXIT_FAILED, r.stdout)

    def test_block_refuses_at_once_and_unblock_lets_the_next_through(self):
        self.msg(self.alice, "bob", "before")
        self.wait_received(self.bob, "alice", "before")

        blocked = self.bob.cli_json("contacts", "block", "alice")
        self.assertTrue(blocked["blocked"])
        self.assertTrue(self.contact(self.bob, "alice")["blocked"])
        self.msg(self.alice, "bob", "while blocked")
        wait_until(lambda: "alice is blocked" in self.bob.log(), 10,
                   what="bob's node refusing alice")
        time.sleep(1)
        self.assertEqual([m["text"] for m in self.bob.history("alice")], ["before"])
        sent = [m["state"] for m in self.alice.history("bob") if m["text"] == "while blocked"]
        self.assertEqual(sent, ["queued"], self.logs())
        # Bob cannot send a file to someone he blocked either: refused up
        # front, with what to do, and nothing recorded.
        path = os.path.join(self.tmp, "note.txt")
        with open(path, "w") as f:
            f.write("hello")
        r = self.bob.cli("send", "alice", path, "--detach")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("alice is blocked", r.stderr)
        self.assertIn("unblock", r.stderr)
        self.assertEqual(self.bob.cli_json("transfers"), [])

        self.assertFalse(self.bob.cli_json("contacts", "unblock", "alice")["blocked"])
        self.msg(self.alice, "bob", "after unblock")
        self.wait_received(self.bob, "alice", "after unblock")

    def test_export_has_both_directions_decrypted(self):
        start = int(time.time()) - 1
        self.msg(self.alice, "bob", "from alice")
        self.wait_received(self.bob, "alice", "from alice")
        self.msg(self.bob, "alice", "from bob")
        self.wait_received(self.alice, "bob", "from bob")

        r = self.alice.cli("export", "--since", str(start), "--format", "jsonl")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = [json.loads(line) for line in r.stdout.splitlines()]
        for m in lines:
            self.assertTrue({"id", "from", "to", "text", "time", "state"} <= set(m))
        by_text = {m["text"]: m for m in lines}
        self.assertEqual((by_text["from alice"]["from"], by_text["from alice"]["to"]),
                         ("alice", "bob"))
        self.assertEqual((by_text["from bob"]["from"], by_text["from bob"]["to"]),
                         ("bob", "alice"))
        self.assertEqual(by_text["from bob"]["state"], "received")

        later = self.alice.cli("export", "--since", str(int(time.time()) + 3600), "--json")
        self.assertEqual(later.returncode, 0, later.stderr)
        self.assertEqual(later.stdout, "")

    def test_contacts_add_remove_and_unknown_contacts(self):
        self.member("dave")  # enrolled, never online: a member, so he can be added
        added = self.alice.cli_json("contacts", "add", "dave")
        self.assertEqual((added["name"], added["pinned"], added["blocked"]),
                         ("dave", False, False))
        self.assertIsNotNone(self.contact(self.alice, "dave"))
        r = self.alice.cli("verify", "dave")
        self.assertEqual(r.returncode, EXIT_FAILED)
        self.assertIn("no key is pinned", r.stderr)

        self.assertTrue(self.alice.cli_json("contacts", "remove", "dave")["removed"])
        self.assertIsNone(self.contact(self.alice, "dave"))

        for args in (("verify", "nobody"), ("verify", "nobody", "--mark"),
                     ("contacts", "remove", "nobody"), ("contacts", "unblock", "nobody")):
            r = self.alice.cli(*args)
            self.assertEqual(r.returncode, EXIT_FAILED, args)
            self.assertIn("nobody is not a contact", r.stderr, args)
            self.assertEqual(r.stdout, "", args)
        r = self.alice.cli("contacts", "add", "Not A Name")
        self.assertEqual(r.returncode, EXIT_FAILED, r.stderr)


if __name__ == "__main__":
    unittest.main()
