"""Groups on one node, with the real binaries (issue 12): `confab group
create|add|remove|leave|show`, `confab groups`, `confab msg '#NAME'` and
`confab history '#NAME' --json` with the state queued (no other member's
node runs here; test_group_delivery.py has the replication), across a
restart; and the
refusals (unknown group, bad names, a taken name, too many members, not a
member any more), each a clear error on stderr, exit 1 and nothing changed.
Real tracker and node on 127.0.0.1."""
import re
import unittest

from harness import OrgTest

EXIT_FAILED = 1


class GroupsTest(OrgTest):
    def setUp(self):
        super().setUp()
        self.alice = self.member("alice")
        self.member("bob")  # enrolled, not started: a direct message to him queues
        self.alice.start()

    def groups(self):
        return self.alice.cli_json("groups")

    def refused(self, *args, says):
        before = self.groups()
        r = self.alice.cli(*args)
        self.assertEqual(r.returncode, EXIT_FAILED, r.stdout + r.stderr)
        self.assertIn(says, r.stderr)
        self.assertEqual(self.groups(), before, "a refusal changed nothing")
        return r

    def test_a_group_is_created_shown_written_to_and_kept_over_a_restart(self):
        r = self.alice.cli("group", "create", "team", "bob", "carol")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("#team", r.stdout)
        shown = self.alice.cli_json("group", "show", "#team")
        self.assertEqual(shown["name"], "team")
        self.assertEqual(shown["members"], ["alice", "bob", "carol"])
        self.assertEqual(shown["admins"], ["alice"])
        self.assertEqual(shown["role"], "admin")
        self.assertRegex(shown["id"], r"^[0-9a-f]{32}$")
        self.assertEqual([g["name"] for g in self.groups()], ["team"])

        r = self.alice.cli("msg", "#team", "hello team")
        self.assertEqual(r.returncode, 0, r.stderr)
        msg_id = r.stdout.strip()
        self.assertRegex(msg_id, r"^[0-9a-f]{64}$")
        r = self.alice.cli("msg", "#team", "second")
        self.assertEqual(r.returncode, 0, r.stderr)

        history = self.alice.history("#team")
        self.assertEqual([m["text"] for m in history], ["hello team", "second"])
        first = history[0]
        self.assertEqual(first["id"], msg_id)
        self.assertEqual(first["from"], "alice")
        self.assertEqual(first["state"], "queued")
        self.assertEqual(first["delivered_to"], [])
        self.assertIsInstance(first["time_unix_ms"], int)

        # Membership changes are entries too; the group shows them.
        r = self.alice.cli("group", "add", "team", "dave")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.alice.cli("group", "remove", "team", "carol")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.alice.cli_json("group", "show", "team")["members"],
                         ["alice", "bob", "dave"])

        self.alice.stop()
        self.alice.start()
        self.assertEqual([m["text"] for m in self.alice.history("#team")],
                         ["hello team", "second"])
        self.assertEqual(self.groups()[0]["members"], ["alice", "bob", "dave"])
        # The direct contract is unchanged, with delivered_to beside it.
        r = self.alice.cli("msg", "bob", "direct still works")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout.strip(), r"^[0-9a-f]{64}$")
        direct = self.alice.history("bob")
        self.assertEqual(direct[-1]["text"], "direct still works")
        self.assertEqual(direct[-1]["state"], "queued")
        self.assertEqual(direct[-1]["delivered_to"], [])

    def test_refusals_are_clear_and_change_nothing(self):
        r = self.alice.cli("group", "create", "team", "bob")
        self.assertEqual(r.returncode, 0, r.stderr)

        r = self.refused("msg", "#taem", "hi", says="no group named #taem (did you mean #team?)")
        self.assertEqual(r.stdout, "")
        self.refused("history", "#nope", "--json", says="no group named #nope")
        self.refused("group", "show", "nope", says="no group named #nope")
        self.refused("group", "create", "team", "carol", says="already a group named #team")
        self.refused("group", "create", "bad name", "bob", says="a group name is 1 to 64")
        self.refused("group", "create", "x" * 65, "bob", says="a group name is 1 to 64")
        self.refused("group", "create", "solo", says="a group has 2 to 256 members")
        crowd = [f"m{i}" for i in range(256)]
        self.refused("group", "create", "crowd", *crowd, says="would have 257")
        self.refused("group", "create", "odd", "not a name", says="member name")
        self.refused("group", "add", "team", "bob", says="bob is already a member of #team")
        self.refused("group", "remove", "team", "carol", says="carol is not a member of #team")
        self.refused("group", "remove", "team", "alice", says="use group leave")
        self.assertEqual(self.alice.history("#team"), [])

        r = self.alice.cli("group", "leave", "team")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.alice.cli_json("group", "show", "team")["role"], "left")
        self.refused("msg", "#team", "still here?", says="you are not a member of #team")
        self.refused("group", "add", "team", "carol", says="you are not a member of #team")
        self.assertEqual(self.alice.history("#team"), [])


if __name__ == "__main__":
    unittest.main()
