"""Groups under stress, with the real tracker and `confab up` processes on
127.0.0.1 (issue 12, "Done when"):

- a removed member's node gets nothing written after the removal, and what
  it writes afterwards (not knowing, since nothing after the removal is
  sent to it) is refused by every other member's node;
- kill -9 of the receiving node, and of the sending node, while a backlog of
  2,000 entries replicates: after the restart everything arrives, once, in
  order, and confab.db passes SQLite's integrity check;
- two admins apart change the group (expected failure, reported);
- a member added after creation learns the group, its history and writes in it.

test_group_delivery.py has the ordinary paths."""
import json
import os
import sqlite3
import subprocess
import time
import unittest

from harness import OrgTest, binary, confab_env, wait_until

BACKLOG = 2000


def db_path(node):
    return os.path.join(node.home, "confab.db")


def stored_texts(node):
    """How many text entries the node's confab.db holds, read directly (a
    reader does not block the node's WAL writer). 0 until the file exists."""
    if not os.path.exists(db_path(node)):
        return 0
    con = sqlite3.connect(f"file:{db_path(node)}?mode=ro", uri=True, timeout=5)
    try:
        # kind 1 is ENTRY_TEXT (proto/conversation.proto).
        return con.execute("SELECT count(*) FROM entries WHERE kind = 1").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # the schema is not there yet
    finally:
        con.close()


def integrity(node):
    con = sqlite3.connect(f"file:{db_path(node)}?mode=ro", uri=True)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


class GroupReplicationTest(OrgTest):
    def start(self, *names):
        nodes = {n: self.member(n) for n in names}
        for n in nodes.values():
            n.start()
        return nodes

    def members(self, node, group="#team"):
        return node.cli_json("group", "show", group)["members"]

    def history(self, node, name="#team"):
        r = node.cli("history", name, "--json", "--limit", str(2 * BACKLOG))
        if r.returncode != 0:
            return None
        return json.loads(r.stdout)

    def texts(self, node, name="#team"):
        return [(m["from"], m["text"]) for m in self.history(node, name) or []]

    def learn(self, nodes, *names, timeout=60):
        for n in names:
            wait_until(lambda n=n: [g["name"] for g in nodes[n].cli_json("groups")] == ["team"],
                       timeout=timeout, what=f"{n} learns #team\n{self.logs()}")

    # ---- member removal ---------------------------------------------------

    def test_a_removed_member_gets_nothing_later_and_its_later_entries_are_refused(self):
        names = ["alice", "bob", "carol", "dave"]
        nodes = self.start(*names)
        alice, dave = nodes["alice"], nodes["dave"]
        r = alice.cli("group", "create", "team", "bob", "carol", "dave")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.learn(nodes, "bob", "carol", "dave")
        r = dave.cli("msg", "#team", "dave before removal")
        self.assertEqual(r.returncode, 0, r.stderr)
        for n in names:
            wait_until(lambda n=n: ("dave", "dave before removal") in self.texts(nodes[n]),
                       timeout=60, what=f"{n} holds dave's first message\n{self.logs()}")

        r = alice.cli("group", "remove", "team", "dave")
        self.assertEqual(r.returncode, 0, r.stderr)
        for n in ("alice", "bob", "carol"):
            wait_until(lambda n=n: self.members(nodes[n]) == ["alice", "bob", "carol"],
                       timeout=60, what=f"{n} folds dave's removal\n{self.logs()}")
        # Nothing after the removal goes to dave, the removal included, so
        # his node still believes he is a member and lets him write.
        self.assertEqual(self.members(dave), names)
        for n in ("alice", "bob"):
            r = nodes[n].cli("msg", "#team", f"{n} after removal")
            self.assertEqual(r.returncode, 0, r.stderr)
        r = dave.cli("msg", "#team", "dave after removal")
        self.assertEqual(r.returncode, 0, r.stderr)

        # Each other node refuses dave's new entry (logged, nothing stored).
        for n in ("alice", "bob", "carol"):
            wait_until(lambda n=n: "refused an entry from dave" in nodes[n].log(), timeout=60,
                       what=f"{n} refuses dave's entry\n{self.logs()}")
        # Direct messages both ways after the refusals: once they arrive,
        # the connections carrying the group have run their rounds.
        for n in ("alice", "bob", "carol"):
            r = nodes[n].cli("msg", "dave", f"direct from {n}")
            self.assertEqual(r.returncode, 0, r.stderr)
            r = dave.cli("msg", n, f"direct to {n}")
            self.assertEqual(r.returncode, 0, r.stderr)
        for n in ("alice", "bob", "carol"):
            wait_until(lambda n=n: ("dave", f"direct to {n}") in self.texts(nodes[n], "dave"),
                       timeout=60, what=f"{n} gets dave's direct message\n{self.logs()}")
            wait_until(lambda n=n: (n, f"direct from {n}") in self.texts(dave, n), timeout=60,
                       what=f"dave gets {n}'s direct message\n{self.logs()}")

        for n in ("alice", "bob", "carol"):
            wait_until(lambda n=n: set(self.texts(nodes[n])) >=
                       {("alice", "alice after removal"), ("bob", "bob after removal")},
                       timeout=60, what=f"{n} holds alice's and bob's later messages")
            got = self.texts(nodes[n])
            self.assertNotIn(("dave", "dave after removal"), got, f"{n} shows dave's refused entry")
            self.assertEqual(got.count(("dave", "dave before removal")), 1)
            self.assertEqual(self.members(nodes[n]), ["alice", "bob", "carol"])
        got = self.texts(dave)
        self.assertNotIn(("alice", "alice after removal"), got)
        self.assertNotIn(("bob", "bob after removal"), got)
        self.assertIn(("dave", "dave after removal"), got, "dave's own node keeps what he wrote")
        # dave's entry never reached another node: not even sent.
        mine = [m for m in self.history(dave) if m["text"] == "dave after removal"]
        self.assertEqual(mine[0]["state"], "queued")
        self.assertEqual(mine[0]["delivered_to"], [])
        for n in names:
            self.assertIsNotNone(nodes[n].proc, f"{n}'s node still runs")
            self.assertIsNone(nodes[n].proc.poll(), f"{n}'s node still runs")

    # ---- kill -9 during a backlog ----------------------------------------------

    def backlog_killed(self, victim_name):
        nodes = self.start("alice", "bob")
        alice, bob = nodes["alice"], nodes["bob"]
        r = alice.cli("group", "create", "team", "bob")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.learn(nodes, "bob")
        bob.stop()
        lines = [f"backlog {i:05d}" for i in range(BACKLOG)]
        r = subprocess.run([binary("CONFAB"), "msg", "#team", "--stdin"],
                           env=confab_env(alice.home), input="\n".join(lines) + "\n",
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(stored_texts(bob), 0)

        bob.start()
        victim = nodes[victim_name]
        # kill -9 as soon as bob has committed some of it, not all.
        wait_until(lambda: stored_texts(bob) or None, timeout=60, interval=0.005,
                   what=f"bob's first committed batch\n{self.logs()}")
        victim.kill()
        at_kill = stored_texts(bob)
        self.assertLess(at_kill, BACKLOG, "the kill came after the whole backlog arrived")
        time.sleep(0.5)
        if victim is bob:
            self.assertEqual(integrity(bob), "ok")
        victim.start()

        want = [("alice", t) for t in lines]

        def complete():
            return stored_texts(bob) >= BACKLOG

        wait_until(complete, timeout=120, what=f"bob holds the whole backlog\n{self.logs()}")
        got = self.history(bob)
        self.assertEqual([(m["from"], m["text"]) for m in got], want, "in order, no gaps")
        ids = [m["id"] for m in got]
        self.assertEqual(len(set(ids)), len(ids), "nothing twice")
        self.assertEqual(stored_texts(bob), BACKLOG, "stored once")

        def delivered():
            h = self.history(alice)
            return h and all(m["state"] == "delivered" and m["delivered_to"] == ["bob"]
                             for m in h if m["from"] == "alice")

        wait_until(delivered, timeout=60, what=f"alice sees all delivered\n{self.logs()}")
        alice.stop()
        bob.stop()
        self.assertEqual(integrity(alice), "ok")
        self.assertEqual(integrity(bob), "ok")
        print(f"\n{victim_name} killed with {at_kill} of {BACKLOG} at bob", flush=True)

    def test_the_receiving_node_killed_mid_backlog_catches_up_with_no_gap_or_duplicate(self):
        self.backlog_killed("bob")

    def test_the_sending_node_killed_mid_backlog_catches_up_with_no_gap_or_duplicate(self):
        self.backlog_killed("alice")

    # ---- concurrent changes by two admins ------------------------------------

    @unittest.expectedFailure
    def test_two_admins_apart_remove_each_other_and_every_member_folds_alike(self):
        # Known failure (reported): a node shares a group only with those it
        # folds as members now (Replicas::SharedWith, MissingFor). A node
        # that meets bob first folds his removal of alice and dave and from
        # then on exchanges the group with neither, so it never takes
        # alice's earlier removal of bob, the entry that would undo it.
        # Seen: alice and dave end with the rule's membership, carol (and
        # bob) with bob's, [bob, carol], for good.
        names = ["alice", "bob", "carol", "dave"]
        nodes = self.start(*names)
        alice, bob = nodes["alice"], nodes["bob"]
        r = alice.cli("group", "create", "team", "bob", "carol", "dave")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.learn(nodes, "bob", "carol", "dave")
        r = alice.cli("group", "promote", "team", "bob")
        self.assertEqual(r.returncode, 0, r.stderr)
        for n in names:
            wait_until(lambda n=n: nodes[n].cli_json("group", "show", "#team")["admins"] ==
                       ["alice", "bob"], timeout=60, what=f"{n} sees bob promoted\n{self.logs()}")
        for n in ("bob", "carol", "dave"):
            nodes[n].stop()
        # Apart: alice alone removes bob; then bob alone removes alice and dave.
        r = alice.cli("group", "remove", "team", "bob")
        self.assertEqual(r.returncode, 0, r.stderr)
        alice.stop()
        bob.start()
        r = bob.cli("group", "remove", "team", "alice", "dave")
        self.assertEqual(r.returncode, 0, r.stderr)
        for n in ("carol", "dave"):
            nodes[n].start()
        alice.start()
        # The rule (docs/design.md, "Membership"): both removals have the
        # same lamport, alice's sorts first (by author), so bob is no longer
        # an admin when his apply and they are ignored everywhere.
        want = {"members": ["alice", "carol", "dave"], "admins": ["alice"]}

        def folded():
            return all({k: nodes[n].cli_json("group", "show", "#team")[k] for k in want} == want
                       for n in ("alice", "carol", "dave"))

        wait_until(folded, timeout=30, what="every member folds the same membership")

    def test_a_member_added_after_creation_learns_the_group(self):
        # The creation entry does not name carol; the add entry that follows
        # it does (Replicas::Receive learns a group once the fold counts us).
        nodes = self.start("alice", "bob", "carol")
        alice = nodes["alice"]
        r = alice.cli("group", "create", "team", "bob")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.learn(nodes, "bob")
        r = alice.cli("msg", "#team", "before carol")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = alice.cli("group", "add", "team", "carol")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.learn(nodes, "carol", timeout=30)
        for n in ("alice", "bob", "carol"):
            wait_until(lambda n=n: self.members(nodes[n]) == ["alice", "bob", "carol"],
                       timeout=30, what=f"{n} folds carol's add\n{self.logs()}")
        wait_until(lambda: ("alice", "before carol") in self.texts(nodes["carol"]), timeout=30,
                   what=f"carol holds the history from before her add\n{self.logs()}")
        # carol writes as a member: both others take it.
        r = nodes["carol"].cli("msg", "#team", "carol is in")
        self.assertEqual(r.returncode, 0, r.stderr)
        for n in ("alice", "bob"):
            wait_until(lambda n=n: ("carol", "carol is in") in self.texts(nodes[n]), timeout=30,
                       what=f"{n} gets carol's message\n{self.logs()}")


if __name__ == "__main__":
    unittest.main()
