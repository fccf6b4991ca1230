"""Groups across nodes on chat protocol 2 (issue 12), with the real tracker
and `confab up` processes on 127.0.0.1: every member's node replicates the
group, members see the same messages in the same order, and any member
passes on what another wrote, so a message reaches someone who comes online
after its author has gone."""
import unittest

from harness import OrgTest, wait_until


class GroupDeliveryTest(OrgTest):
    def start(self, *names):
        nodes = {n: self.member(n) for n in names}
        for n in nodes.values():
            n.start()
        return nodes

    def texts(self, node, group="#team"):
        r = node.cli("history", group, "--json")
        if r.returncode != 0:
            return None  # the group has not reached this node yet
        return [(m["from"], m["text"]) for m in node.cli_json("history", group)]

    def knows_group(self, node):
        return [g["name"] for g in node.cli_json("groups")] == ["team"]

    def test_a_group_of_four_sees_every_message_in_the_same_order(self):
        names = ["alice", "bob", "carol", "dave"]
        nodes = self.start(*names)
        r = nodes["alice"].cli("group", "create", "team", "bob", "carol", "dave")
        self.assertEqual(r.returncode, 0, r.stderr)
        for n in names[1:]:
            wait_until(lambda n=n: self.knows_group(nodes[n]), timeout=60,
                       what=f"{n} learns #team\n{self.logs()}")
        for n in names:
            r = nodes[n].cli("msg", "#team", f"hello from {n}")
            self.assertEqual(r.returncode, 0, r.stderr)
        expected = {(n, f"hello from {n}") for n in names}

        def converged():
            seen = [self.texts(nodes[n]) for n in names]
            return all(s is not None and set(s) == expected for s in seen) and \
                all(s == seen[0] for s in seen)

        wait_until(converged, timeout=90, what=f"every node holds all four, alike\n{self.logs()}")
        # Each author's message ends delivered to the other three.
        for n in names:
            def delivered(n=n):
                mine = [m for m in nodes[n].cli_json("history", "#team") if m["from"] == n]
                return mine and mine[0]["state"] == "delivered" and \
                    mine[0]["delivered_to"] == sorted(set(names) - {n})
            wait_until(delivered, timeout=60, what=f"{n}'s message delivered to all\n{self.logs()}")
        shown = nodes["carol"].cli_json("group", "show", "#team")
        self.assertEqual(shown["members"], names)
        self.assertEqual(shown["role"], "member")

    def test_a_message_reaches_a_member_from_another_while_its_author_is_offline(self):
        nodes = self.start("alice", "bob", "carol")
        alice, bob, carol = nodes["alice"], nodes["bob"], nodes["carol"]
        r = alice.cli("group", "create", "team", "bob", "carol")
        self.assertEqual(r.returncode, 0, r.stderr)
        for n in (bob, carol):
            wait_until(lambda n=n: self.knows_group(n), timeout=60,
                       what=f"{n.name} learns #team\n{self.logs()}")
        bob.stop()
        r = alice.cli("msg", "#team", "written while bob was out")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_until(lambda: ("alice", "written while bob was out") in (self.texts(carol) or []),
                   timeout=60, what=f"carol holds alice's message\n{self.logs()}")
        alice.stop()
        bob.start()
        wait_until(lambda: ("alice", "written while bob was out") in (self.texts(bob) or []),
                   timeout=90, what=f"bob gets alice's message from carol\n{self.logs()}")
        got = [m for m in bob.cli_json("history", "#team") if m["from"] == "alice"]
        self.assertEqual(len(got), 1, "shown once")
        self.assertEqual(got[0]["state"], "received")

    def test_a_direct_message_goes_as_a_signed_entry_and_is_delivered(self):
        nodes = self.start("alice", "bob")
        r = nodes["alice"].cli("msg", "bob", "hi bob")
        self.assertEqual(r.returncode, 0, r.stderr)
        msg_id = r.stdout.strip()
        self.assertRegex(msg_id, r"^[0-9a-f]{64}$")

        def delivered():
            h = nodes["alice"].history("bob")
            return h and h[-1]["id"] == msg_id and h[-1]["state"] == "delivered"

        wait_until(delivered, timeout=60, what=f"alice's message delivered\n{self.logs()}")
        self.assertEqual(nodes["alice"].history("bob")[-1]["delivered_to"], ["bob"])
        got = nodes["bob"].history("alice")
        self.assertEqual([(m["id"], m["from"], m["text"], m["state"]) for m in got],
                         [(msg_id, "alice", "hi bob", "received")])


if __name__ == "__main__":
    unittest.main()
