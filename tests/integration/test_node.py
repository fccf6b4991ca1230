"""Two real `confab up` nodes (alice and bob) and a tracker on 127.0.0.1,
port 0 everywhere: messages go directly between the nodes, end to end
encrypted, with durable history and offline delivery, driven by the CLI."""
import os
import socket
import stat
import time
import unittest

from harness import NodeProcess, OrgTest, confab_join, wait_until

EXIT_NO_NODE = 3


class NodeTest(OrgTest):
    def setUp(self):
        super().setUp()
        self.alice = self.member("alice")
        self.bob = self.member("bob")

    def msg(self, node, to, text):
        r = node.cli("msg", to, text, "--json")
        self.assertEqual(r.returncode, 0, r.stderr + node.log())
        return r

    def wait_state(self, node, contact, text, state, timeout=15):
        def match():
            found = [m for m in node.history(contact) if m["text"] == text]
            return found if found and found[-1]["state"] == state else None

        try:
            return wait_until(match, timeout, what=f"{node.name}: {text!r} {state}")
        except AssertionError:
            raise AssertionError(f"{node.name}'s history with {contact}: "
                                 f"{node.history(contact)}\nalice log:\n{self.alice.log()}\n"
                                 f"bob log:\n{self.bob.log()}")

    def test_messages_both_ways_are_delivered_once(self):
        self.alice.start()
        self.bob.start()
        sock = os.path.join(self.alice.home, "node.sock")
        self.assertEqual(stat.S_IMODE(os.stat(sock).st_mode), 0o600)

        self.msg(self.alice, "bob", "hi")
        received = self.wait_state(self.bob, "alice", "hi", "received")
        self.assertEqual(len(received), 1)
        self.assertEqual(received[0]["from"], "alice")
        self.assertEqual(received[0]["to"], "bob")
        self.wait_state(self.alice, "bob", "hi", "delivered")

        self.msg(self.bob, "alice", "hello alice")
        self.wait_state(self.alice, "bob", "hello alice", "received")
        self.wait_state(self.bob, "alice", "hello alice", "delivered")
        alice_history = self.alice.history("bob")
        self.assertEqual([m["text"] for m in alice_history], ["hi", "hello alice"])
        for m in alice_history:
            self.assertTrue({"id", "from", "to", "text", "state", "time"} <= set(m))
        self.assertEqual([m["text"] for m in self.bob.history("alice")], ["hi", "hello alice"])

        who = wait_until(lambda: [c for c in self.alice.cli_json("who")
                                  if c["name"] == "bob" and c["online"]],
                         10, what="bob online in alice's who")
        self.assertEqual(who[0]["status"], "online")
        self.assertEqual(self.bob.cli("status", "away", "lunch").returncode, 0)
        wait_until(lambda: [c for c in self.alice.cli_json("who")
                            if c["name"] == "bob" and c["status"] == "away"],
                   10, what="bob away in alice's who")

    def test_offline_receiver_gets_queued_messages_in_order_once(self):
        self.alice.start()
        self.bob.start()
        self.msg(self.alice, "bob", "first")
        self.wait_state(self.alice, "bob", "first", "delivered")
        self.assertEqual(self.bob.stop(), 0)

        for text in ("one", "two", "three"):
            self.msg(self.alice, "bob", text)
        for text in ("one", "two", "three"):
            self.assertEqual([m["state"] for m in self.alice.history("bob")
                              if m["text"] == text], ["queued"])

        self.bob.start()
        self.wait_state(self.alice, "bob", "three", "delivered", timeout=20)
        texts = [m["text"] for m in self.bob.history("alice")]
        self.assertEqual(texts, ["first", "one", "two", "three"])
        self.assertEqual([(m["text"], m["state"]) for m in self.alice.history("bob")],
                         [(t, "delivered") for t in ("first", "one", "two", "three")])

    def test_sender_restart_keeps_retrying_a_contact_never_reached(self):
        self.alice.start()
        self.msg(self.alice, "bob", "before bob ever ran")
        self.assertEqual(self.alice.stop(), 0)
        self.alice.start()
        self.bob.start()
        self.wait_state(self.alice, "bob", "before bob ever ran", "delivered", timeout=20)
        self.assertEqual([m["text"] for m in self.bob.history("alice")], ["before bob ever ran"])

    def test_chat_goes_on_over_open_sessions_while_the_tracker_is_down(self):
        self.alice.start()
        self.bob.start()
        self.msg(self.alice, "bob", "before")
        self.wait_state(self.alice, "bob", "before", "delivered")
        self.tracker.stop()
        self.msg(self.alice, "bob", "tracker is down")
        self.wait_state(self.bob, "alice", "tracker is down", "received")
        self.msg(self.bob, "alice", "still here")
        self.wait_state(self.bob, "alice", "still here", "delivered")

    def test_a_revoked_member_is_refused(self):
        self.alice.start()
        self.bob.start()
        self.msg(self.bob, "alice", "before")
        self.wait_state(self.bob, "alice", "before", "delivered")
        r = self.tracker.cmd("revoke", "bob")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_until(lambda: "bob was revoked" in self.alice.log(), 10, what="alice hears of it")
        self.msg(self.bob, "alice", "after revoke")
        time.sleep(2)
        self.assertEqual([m["text"] for m in self.alice.history("bob")], ["before"])
        # Stored once at bob and never delivered: queued, or "sent" if bob
        # wrote it before he read alice's close.
        after = [m["state"] for m in self.bob.history("alice") if m["text"] == "after revoke"]
        self.assertEqual(len(after), 1, after)
        self.assertIn(after[0], ("queued", "sent"))

    def test_receiver_killed_mid_stream_loses_nothing_and_shows_nothing_twice(self):
        self.alice.start()
        self.bob.start()
        texts = [f"m{i}" for i in range(30)]
        for i, text in enumerate(texts):
            self.msg(self.alice, "bob", text)
            if i == 10:
                self.bob.kill()
        self.bob.start()  # a stale node.sock from the kill is cleaned up
        self.wait_state(self.alice, "bob", texts[-1], "delivered", timeout=30)
        wait_until(lambda: [m["state"] for m in self.alice.history("bob")] == ["delivered"] * 30,
                   30, what="every message delivered")
        self.assertEqual([m["text"] for m in self.bob.history("alice")], texts)

    def test_encrypted_identity_key_needs_its_passphrase_file(self):
        carol_home = os.path.join(self.tmp, "carol")
        secret = os.path.join(self.tmp, "carol.pass")
        with open(secret, "w") as f:
            f.write("correct horse\n")
        r = confab_join(carol_home, self.tracker.invite("carol"), "--passphrase-file", secret)
        self.assertEqual(r.returncode, 0, r.stderr)
        carol = NodeProcess(carol_home, "carol")
        r = carol.cli("up", "--listen", "127.0.0.1:0", timeout=15)
        self.assertEqual(r.returncode, 1)
        self.assertIn("--passphrase-file", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(carol_home, "node.sock")))

        carol.extra_up_args = ["--passphrase-file", secret]
        self.nodes.append(carol)
        carol.start()
        self.bob.start()
        self.msg(carol, "bob", "from an encrypted key")
        self.wait_state(self.bob, "carol", "from an encrypted key", "received")
        wait_until(lambda: [c for c in self.bob.cli_json("who") if c["name"] == "carol"],
                   10, what="carol in bob's who after her first message")

    def test_a_second_node_on_the_same_home_is_refused(self):
        self.alice.start()
        r = self.alice.cli("up", "--listen", "127.0.0.1:0", timeout=15)
        self.assertEqual(r.returncode, 1)
        self.assertIn("already running", r.stderr)
        self.msg(self.alice, "bob", "first node still serves")

    def test_cli_without_a_node_says_how_to_start_one(self):
        r = self.alice.cli("msg", "bob", "hi")
        self.assertEqual(r.returncode, EXIT_NO_NODE, r.stderr)
        self.assertIn("no node is running", r.stderr)
        self.assertIn("confab up", r.stderr)
        self.assertEqual(self.alice.cli("history", "bob", "--json").returncode, EXIT_NO_NODE)

    def test_garbage_on_peer_port_and_control_socket_is_refused(self):
        self.alice.start()
        self.bob.start()
        with socket.create_connection(("127.0.0.1", self.bob.port), timeout=5) as s:
            s.sendall(b"\x00\x10" + os.urandom(16) + b"GET / HTTP/1.0\r\n\r\n")
            s.settimeout(5)
            self.assertEqual(s.recv(100), b"")  # closed without an answer
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(os.path.join(self.bob.home, "node.sock"))
            s.sendall(b"\x00\x00\x00\x05garbage")
            self.assertEqual(s.recv(100), b"")
        self.msg(self.alice, "bob", "still there?")
        self.wait_state(self.bob, "alice", "still there?", "received")
        self.wait_state(self.alice, "bob", "still there?", "delivered")


if __name__ == "__main__":
    unittest.main()
