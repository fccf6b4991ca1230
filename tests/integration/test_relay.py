"""The relay through the tracker (issue 15), node side: two real `confab up`
nodes and a real tracker on 127.0.0.1, both nodes with config.toml's
network.path = "relay", so neither TCP nor UDP is dialled and every chat and
file must go through the tracker's relay (a RelayStream leg each, the usual
Noise channel and its checks inside). `who --verbose` says relay and why,
`status --verbose` counts the relayed sessions, the tracker's metrics count
the pair and the bytes; with the tracker's [relay] enabled = false there is
no path and the message stays queued, with the reason shown."""
import json
import os
import re
import unittest
import urllib.request

from harness import MIB, PairTest, make_file, sha256_file, wait_until

METRICS = "[metrics]\nlisten = '127.0.0.1:0'\n"


def metric(port, name):
    """The sum of every series of `name` on the tracker's /metrics (0 if none)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.split()[-1])
    return total



def gave_up_on(path):
    """The who entry when it says none after trying ("not tried yet" comes first)."""
    return path if path and path["path"] == "none" and path["path_reason"] != "not tried yet" \
        else None

class RelayBase(PairTest):
    def relay_only(self, auto_accept=False):
        self.path_only("relay", auto_accept)

    def metrics_port(self):
        return int(wait_until(
            lambda: (re.search(r"metrics on port (\d+)", self.tracker.log()) or [None, None])[1],
            what="the tracker's metrics port in its log"))


class RelayTest(RelayBase):
    tracker_toml = METRICS

    def test_chat_both_ways_and_a_file_go_through_the_relay(self):
        self.relay_only(auto_accept=True)
        port = self.metrics_port()
        self.assertEqual(metric(port, "confab_tracker_relay_pairs_opened_total"), 0)
        self.alice.start()
        self.bob.start()
        for i in range(3):
            self.assertEqual(self.alice.cli("msg", "bob", f"relayed {i}").returncode, 0)
        self.assertEqual(self.bob.cli("msg", "alice", "and back").returncode, 0)
        wait_until(self.delivered(self.alice, "bob", 3), 30, interval=0.2,
                   what="alice's messages delivered through the relay")
        wait_until(self.delivered(self.bob, "alice", 1), 30, interval=0.2,
                   what="bob's message delivered through the relay")
        texts = [m["text"] for m in self.bob.history("alice") if m["from"] == "alice"]
        self.assertEqual(texts, [f"relayed {i}" for i in range(3)])
        self.assertEqual([m["text"] for m in self.alice.history("bob") if m["from"] == "bob"],
                         ["and back"])

        path = self.who(self.alice, "bob")
        self.assertEqual(path["path"], "relay", path)
        self.assertEqual(path["path_address"], "tracker")
        self.assertIn("relay (through the tracker)", path["path_reason"])
        self.assertIn("network.path = relay", path["path_reason"])
        self.assertEqual(self.who(self.bob, "alice")["path"], "relay")
        r = self.alice.cli("who", "--verbose")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("path: relay (through the tracker)", r.stdout)
        # Nothing direct was dialled.
        self.assertNotIn("chat session to bob over tcp", self.alice.log())
        self.assertNotIn("reaching bob over UDP", self.alice.log())

        status = self.alice.cli_json("status", "--verbose")
        self.assertEqual(status["path_policy"], "relay")
        self.assertGreaterEqual(status["relayed_sessions"], 1)
        self.assertEqual(status["udp_sessions"], 0)
        r = self.alice.cli("status", "--verbose")
        self.assertRegex(r.stdout, r"relayed sessions: [1-9]")

        self.assertGreaterEqual(metric(port, "confab_tracker_relay_pairs_opened_total"), 1)
        before = metric(port, "confab_tracker_relay_bytes_total")
        self.assertGreater(before, 0)

        # A file, on a relayed connection of its own, intact.
        size = 8 * MIB + 123
        src = make_file(os.path.join(self.tmp, "relayed.bin"), size)
        r = self.alice.cli("send", "bob", src, "--json", timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr + self.logs())
        record = json.loads(r.stdout.splitlines()[-1])
        self.assertEqual(record["state"], "completed", record)
        received = os.path.join(self.downloads, "relayed.bin")
        wait_until(lambda: os.path.exists(received), 10, what="the released file")
        self.assertEqual(sha256_file(received), sha256_file(src))
        self.assertIn("reached bob for PURPOSE_FILE through the tracker's relay", self.alice.log())
        # The tracker copied at least the file (sealed twice: a little more).
        self.assertGreaterEqual(metric(port, "confab_tracker_relay_bytes_total") - before, size)
        self.assertGreaterEqual(metric(port, "confab_tracker_relay_pairs_opened_total"), 2)


class RelayUpgradeTest(RelayBase):
    tracker_toml = METRICS

    def test_a_relayed_chat_moves_to_a_direct_path_without_losing_or_repeating_a_message(self):
        # bob dials only the relay; alice (auto) took his session inbound, so
        # she is reached only through the relay and her direct retry (every
        # second) finds his TCP port open.
        self.write_config(self.bob, '[network]\npath = "relay"\n')
        self.write_config(self.alice, '[network]\ndirect_retry_s = 1\n')
        self.alice.start()
        self.bob.start()
        self.assertEqual(self.bob.cli("msg", "alice", "first, relayed").returncode, 0)
        wait_until(self.delivered(self.bob, "alice", 1), 30, interval=0.2,
                   what="bob's first message through the relay")
        self.assertIn("chat session to alice over relay", self.bob.log())
        path = wait_until(lambda: (lambda p: p if p and p["path"] == "tcp" else None)(
            self.who(self.alice, "bob")), 30, interval=0.2, what="alice moves to direct TCP")
        self.assertIn("direct TCP", path["path_reason"])
        wait_until(lambda: self.alice.cli_json("status")["relayed_sessions"] == 0 and
                   self.bob.cli_json("status")["relayed_sessions"] == 0, 20, interval=0.2,
                   what="the relayed sessions closed on both sides")
        self.assertIn("moves off the relay to a direct path", self.alice.log())
        self.assertEqual(self.who(self.bob, "alice")["path"], "tcp")
        for i in range(5):
            self.assertEqual(self.bob.cli("msg", "alice", f"after {i}").returncode, 0)
            self.assertEqual(self.alice.cli("msg", "bob", f"back {i}").returncode, 0)
        wait_until(self.delivered(self.bob, "alice", 6), 30, interval=0.2, what="bob's messages")
        wait_until(self.delivered(self.alice, "bob", 5), 30, interval=0.2, what="alice's messages")
        got = [m["text"] for m in self.alice.history("bob") if m["from"] == "bob"]
        self.assertEqual(got, ["first, relayed"] + [f"after {i}" for i in range(5)])
        got = [m["text"] for m in self.bob.history("alice") if m["from"] == "alice"]
        self.assertEqual(got, [f"back {i}" for i in range(5)])
        self.assertEqual(self.alice.cli_json("status")["relayed_sessions"], 0)


class RelayRefusedTest(RelayBase):
    tracker_toml = METRICS + "[relay]\nmax_pairs = 0\n"

    def test_the_trackers_refusal_is_shown_and_the_message_stays_queued(self):
        # The tracker offers the relay but refuses the request (RelayOffer
        # accepted = false): alice shows its reason.
        self.relay_only()
        port = self.metrics_port()
        self.alice.start()
        self.bob.start()
        self.assertEqual(self.alice.cli("msg", "bob", "for later").returncode, 0)
        path = wait_until(lambda: gave_up_on(
            self.who(self.alice, "bob")), 30, interval=0.3, what="the relay refused")
        self.assertIn("no direct path", path["path_reason"])
        self.assertIn("too many relayed pairs", path["path_reason"])
        self.assertEqual([m["state"] for m in self.alice.history("bob")], ["queued"])
        self.assertEqual(self.bob.history("alice"), [])
        self.assertGreaterEqual(metric(port, "confab_tracker_relay_refusals_total"), 1)
        self.assertEqual(metric(port, "confab_tracker_relay_pairs_opened_total"), 0)


class RelayDisabledTest(RelayBase):
    tracker_toml = METRICS + "[relay]\nenabled = false\n"

    def test_with_the_relay_disabled_there_is_no_path_and_the_message_stays_queued(self):
        self.relay_only()
        port = self.metrics_port()
        self.alice.start()
        self.bob.start()
        self.assertEqual(self.alice.cli("msg", "bob", "stays queued").returncode, 0)
        path = wait_until(lambda: gave_up_on(
            self.who(self.alice, "bob")), 30, interval=0.3, what="no path")
        self.assertIn("no direct path", path["path_reason"])
        self.assertIn("disabled on the tracker", path["path_reason"])
        r = self.alice.cli("who", "--verbose")
        self.assertIn("disabled on the tracker", r.stdout)
        self.assertEqual([m["state"] for m in self.alice.history("bob")], ["queued"])
        self.assertEqual(self.bob.history("alice"), [])
        self.assertEqual(metric(port, "confab_tracker_relay_pairs_opened_total"), 0)
        self.assertEqual(metric(port, "confab_tracker_relay_bytes_total"), 0)
        self.assertEqual(self.alice.cli_json("status")["relayed_sessions"], 0)


if __name__ == "__main__":
    unittest.main()
