"""The tracker's mailbox (issue 14) from members' side: the real
confab-tracker, `confab join` and tracker_probe (a member's TrackerLink,
sealing with crypto::Seal to the recipient's key from a lookup) on
127.0.0.1. The node's own use of the mailbox is not written yet; these
check what the tracker promises it."""
import json
import os
import signal
import uuid

from harness import Probe, TempDirTest, TrackerProcess, confab_join, wait_until


def files_containing(root, needle):
    """Paths under `root` whose bytes contain `needle`."""
    found = []
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            try:
                with open(path, "rb") as f:
                    if needle in f.read():
                        found.append(path)
            except OSError:
                pass
    return found


class TrackerMailboxTest(TempDirTest):
    def setUp(self):
        super().setUp()
        self.probes = []
        self.tracker = TrackerProcess(os.path.join(self.tmp, "state"))

    def tearDown(self):
        for p in self.probes:
            p.kill()
        self.tracker.stop(timeout=10)
        super().tearDown()

    def start(self, extra_toml=""):
        self.tracker.init(extra_toml)
        self.tracker.start()
        for name in ("alice", "bob"):
            r = confab_join(self.home(name), self.tracker.invite(name))
            self.assertEqual(r.returncode, 0, r.stderr)

    def home(self, name):
        return os.path.join(self.tmp, "home-" + name)

    def probe(self, name):
        p = Probe(self.home(name))
        self.probes.append(p)
        p.wait_for(event="connected")
        return p

    def held(self):
        r = self.tracker.cmd("mailbox", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_an_envelope_survives_kill_9_of_the_tracker_and_its_text_is_never_on_the_tracker(self):
        self.start()
        marker = "marker-" + uuid.uuid4().hex
        alice = self.probe("alice")
        alice.send("deposit bob " + marker)
        _, deposited = alice.wait_for(event="deposited")
        self.assertTrue(deposited["stored"], deposited)
        self.assertEqual(files_containing(self.tracker.state, marker.encode()), [])
        self.assertEqual(self.held()["envelopes"], 1)
        self.assertEqual(self.held()["top"][0]["name"], "bob")

        # Acknowledged as stored, so a kill -9 now loses nothing.
        port = self.tracker.port
        self.tracker.stop(sig=signal.SIGKILL)
        self.tracker.set_listen(f"127.0.0.1:{port}")
        self.assertEqual(self.tracker.start(), port)

        bob = self.probe("bob")
        bob.send("fetch")
        _, envelope = bob.wait_for(event="envelope")
        self.assertEqual(envelope["text"], marker)
        self.assertEqual(envelope["author"], "alice")
        _, page = bob.wait_for(event="envelopes")
        self.assertEqual((page["count"], page["more"]), (1, False))
        bob.send("ack %d" % envelope["id"])
        wait_until(lambda: self.held()["envelopes"] == 0, what="the envelope deleted")
        self.assertEqual(files_containing(self.tracker.state, marker.encode()), [])
        self.assertNotIn(marker, self.tracker.log())

    def test_an_online_recipient_is_told_at_once_and_a_forged_envelope_does_not_open(self):
        self.start()
        alice, bob = self.probe("alice"), self.probe("bob")
        # Longer than a seal's 48 bytes of overhead, so it fails on its MAC.
        alice.send("deposit-unsealed bob plain text that nobody sealed, long enough to pass "
                   "for a sealed box")
        _, deposited = alice.wait_for(event="deposited")
        self.assertTrue(deposited["stored"], deposited)
        _, notice = bob.wait_for(event="mailbox_notice")
        self.assertEqual((notice["id"], notice["author"]), (deposited["id"], "alice"))
        bob.send("fetch")
        _, envelope = bob.wait_for(event="envelope")
        self.assertNotIn("text", envelope)
        self.assertIn("does not open", envelope["open_error"])
        # Refusals come back with their reason.
        alice.send("deposit-unsealed nobody x")
        alice.send("deposit-unsealed alice x")
        reasons = wait_until(lambda: [e["refusal"] for e in alice.snapshot()
                                      if e.get("event") == "deposited" and not e["stored"]]
                             if len([e for e in alice.snapshot()
                                     if e.get("event") == "deposited"]) >= 3 else None,
                             what="two refusals")
        self.assertEqual(reasons, ["not a member", "mailbox to self"])

    def test_a_full_or_disabled_mailbox_is_refused_with_a_reason(self):
        self.start("[mailbox]\nmax_envelopes_per_recipient = 1\n")
        alice = self.probe("alice")
        alice.send("deposit bob one")
        alice.wait_for(event="deposited", stored=True)
        alice.send("deposit bob two")
        _, full = alice.wait_for(event="deposited", stored=False)
        self.assertEqual(full["refusal"], "mailbox full")
        self.tracker.stop()
        with open(self.tracker.toml_path, "a") as f:
            f.write("enabled = false\n")  # still inside [mailbox]
        self.tracker.set_listen(f"127.0.0.1:{self.tracker.port}")
        self.tracker.start()
        mark = len(alice.snapshot())
        alice.wait_for(event="connected", after=mark, timeout=15)
        alice.send("deposit bob three")
        _, refused = alice.wait_for(event="command_error", after=mark)
        self.assertIn("mailbox: disabled on the tracker", refused["message"])
        held = self.held()
        self.assertFalse(held["enabled"])
        self.assertEqual(held["envelopes"], 1)  # what was kept stays until it expires
