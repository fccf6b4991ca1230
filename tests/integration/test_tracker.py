"""The tracker end to end: the real confab-tracker, `confab join` and
tracker_probe (a member's TrackerLink) on 127.0.0.1, port 0 everywhere."""
import base64
import hashlib
import os
import select
import socket
import sqlite3
import stat
import subprocess
import time
import unittest

from harness import (Probe, TempDirTest, TrackerProcess, binary, confab_env, confab_join,
                     proto_fields, wait_until)

# Small limits so the hostile-input checks run in seconds. The flood comes
# from 127.0.0.2 and the other hostile peers from 127.0.0.3, so the members
# (127.0.0.1) keep their own handshake budget.
HOSTILE_TOML = """[limits]
handshake_timeout = '2s'
handshakes_per_second_per_address = 5
handshake_burst_per_address = 10
"""


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def forge_invite(code, field_tag=b"\x22"):
    """The same invite with one 32-byte field replaced (default: field 4, the
    secret; b"\x1a" is field 3, the tracker's key) and a valid checksum."""
    text = code[len("confab1-"):]
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    body = raw[:-4]
    at = body.index(field_tag + b"\x20")
    body = body[:at + 2] + os.urandom(32) + body[at + 34:]
    ctx = b"confab invite checksum v1"
    checksum = hashlib.blake2b(bytes([len(ctx)]) + ctx + body, digest_size=32).digest()[:4]
    return "confab1-" + base64.urlsafe_b64encode(body + checksum).decode().rstrip("=")


def parse_observed(reply):
    """TrackerDatagram{observed{nonce, address, port}} -> a dict (asserts the shape)."""
    assert reply[0] == 0x12, reply  # field 2, length-delimited
    fields = proto_fields(proto_fields(reply)[2])
    return {"nonce": fields.get(1, 0), "address": fields.get(2, b"").decode(),
            "port": fields.get(3, 0)}


class TrackerTest(TempDirTest):
    def setUp(self):
        super().setUp()
        self.probes = []
        self.tracker = TrackerProcess(os.path.join(self.tmp, "state"))
        self.tracker.init(HOSTILE_TOML)
        self.tracker.start()

    def tearDown(self):
        for p in self.probes:
            p.kill()
        self.tracker.stop(timeout=10)
        super().tearDown()

    # -- helpers ---------------------------------------------------------------

    def home(self, name):
        return os.path.join(self.tmp, "home-" + name)

    def join(self, name):
        r = confab_join(self.home(name), self.tracker.invite(name))
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def probe(self, name, *extra):
        p = Probe(self.home(name), *extra)
        self.probes.append(p)
        p.wait_for(event="connected")
        return p

    def online_pair(self):
        """alice and bob joined, online, each subscribed to the other."""
        self.join("alice")
        self.join("bob")
        alice, bob = self.probe("alice"), self.probe("bob")
        alice.send("subscribe bob")
        bob.send("subscribe alice")
        alice.wait_for(event="presence", name="bob", status="online")
        bob.wait_for(event="presence", name="alice", status="online")
        return alice, bob

    def assert_serving(self):
        """A fresh member can still join, come online and look someone up."""
        name = "carol%d" % len(self.probes)
        self.join(name)
        p = self.probe(name)
        p.send("lookup " + name)
        _, e = p.wait_for(event="lookup")
        self.assertTrue(e["found"], e)

    # -- tests -----------------------------------------------------------------

    def test_init_creates_private_files(self):
        self.assertEqual(mode(self.tracker.state), 0o700)
        for f in ("org.key", "tracker.key", "tracker.toml", "directory.db"):
            self.assertEqual(mode(os.path.join(self.tracker.state, f)), 0o600, f)

    def test_join_enrolls_and_stores_everything(self):
        r = self.join("alice")
        home = self.home("alice")
        self.assertRegex(r.stdout, r"[0-9A-Z]{4}(-[0-9A-Z]{4}){5}")
        self.assertIn("unencrypted", r.stderr.lower())
        self.assertEqual(mode(home), 0o700)
        for f in ("identity.key", "certificate.pb", "org.pub", "enrollment.toml"):
            self.assertEqual(mode(os.path.join(home, f)), 0o600, f)
        users = self.tracker.users()
        self.assertIn("alice", users)
        self.assertFalse(users["alice"]["online"])
        self.assertIn(users["alice"]["fingerprint"], r.stdout)
        # A second join into the same home is refused and changes nothing.
        before = read_bytes(os.path.join(home, "certificate.pb"))
        again = confab_join(home, self.tracker.invite("alice2"))
        self.assertEqual(again.returncode, 1)
        self.assertIn("already enrolled", again.stderr)
        self.assertEqual(read_bytes(os.path.join(home, "certificate.pb")), before)

    def test_join_with_a_passphrase_file(self):
        secret = os.path.join(self.tmp, "pass")
        with open(secret, "w") as f:
            f.write("correct horse\n")
        r = confab_join(self.home("dora"), self.tracker.invite("dora"),
                        "--passphrase-file", secret)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("unencrypted", r.stderr.lower())
        p = self.probe("dora", "--passphrase-file", secret)
        p.stop()
        # Without the passphrase the key does not load.
        q = Probe(self.home("dora"))
        self.probes.append(q)
        _, e = q.wait_for(event="fatal")
        self.assertIn("passphrase", e["message"])

    def test_join_on_a_terminal_asks_for_a_passphrase(self):
        code = self.tracker.invite("hugo")
        master, slave = os.openpty()
        proc = subprocess.Popen([binary("CONFAB"), "join", code], env=confab_env(self.home("hugo")),
                                stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.close(slave)
        try:
            err = b""

            def prompted(word):
                nonlocal err
                while word not in err:
                    ready, _, _ = select.select([proc.stderr], [], [], 10)
                    if not ready:
                        raise AssertionError(f"no {word!r} prompt: {err!r}")
                    chunk = os.read(proc.stderr.fileno(), 4096)
                    if not chunk:
                        raise AssertionError(f"no {word!r} prompt: {err!r}")
                    err += chunk
            prompted(b"Passphrase")
            os.write(master, b"tty secret\n")
            prompted(b"Repeat")
            os.write(master, b"tty secret\n")
            out, rest = proc.communicate(timeout=60)
        finally:
            os.close(master)
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        self.assertEqual(proc.returncode, 0, err + rest)
        self.assertNotIn(b"unencrypted", (err + rest).lower())
        self.assertNotIn(b"tty secret", err + rest + out)
        q = Probe(self.home("hugo"))
        self.probes.append(q)
        _, e = q.wait_for(event="fatal")
        self.assertIn("passphrase", e["message"])

    def test_presence_status_lookup_and_users(self):
        alice, bob = self.online_pair()
        bob.send("announce 10.1.2.3:7651")
        bob.send("status away lunch")
        alice.wait_for(event="presence", name="bob", status="away", text="lunch")
        users = wait_until(lambda: (lambda u: u if u["bob"]["status"] == "away" else None)(
            self.tracker.users()), what="users shows bob away")
        self.assertTrue(users["bob"]["online"])
        self.assertEqual(users["bob"]["text"], "lunch")
        self.assertTrue(users["alice"]["online"])
        self.assertEqual(users["alice"]["status"], "online")

        alice.send("lookup bob")
        _, e = alice.wait_for(event="lookup")
        self.assertTrue(e["found"], e)
        self.assertTrue(e["certificate_ok"], e)
        self.assertEqual(e["name"], "bob")
        self.assertEqual(e["fingerprint"], users["bob"]["fingerprint"])
        self.assertIn({"address": "10.1.2.3", "port": 7651, "kind": "lan", "udp": False},
                      e["endpoints"])
        alice.send("punch bob")
        _, e = bob.wait_for(event="punch", name="alice")
        _, e = alice.wait_for(event="punch", name="bob")
        self.assertIn({"address": "10.1.2.3", "port": 7651, "kind": "lan", "udp": False},
                      e["endpoints"])
        alice.send("lookup nobody")
        _, sent = alice.wait_for(event="lookup_sent", name="nobody")
        _, e = alice.wait_for(event="lookup", request_id=sent["request_id"])
        self.assertFalse(e["found"])

        def audited():
            db = sqlite3.connect(f"file:{self.tracker.state}/directory.db?mode=ro", uri=True)
            try:
                return db.execute("SELECT actor FROM audit WHERE action = 'lookup' AND "
                                  "subject = 'bob'").fetchall()
            finally:
                db.close()
        self.assertEqual(wait_until(audited, what="lookup in the audit"), [("alice",)])

        self.assertEqual(bob.stop(), 0)
        alice.wait_for(event="presence", name="bob", status="offline")
        wait_until(lambda: not self.tracker.users()["bob"]["online"], what="bob offline")

    def test_revoke_closes_the_session_and_refuses_rejoin(self):
        alice, bob = self.online_pair()
        r = self.tracker.cmd("revoke", "bob")
        self.assertEqual(r.returncode, 0, r.stderr)
        started = time.monotonic()
        bob.wait_for(event="disconnected", was_connected=True, timeout=5)
        _, e = bob.wait_for(event="refused", timeout=5)
        self.assertIn("revoked", e["reason"])
        self.assertLess(time.monotonic() - started, 5)
        alice.wait_for(event="revoked", name="bob")
        alice.wait_for(event="presence", name="bob", status="offline")
        alice.send("lookup bob")
        _, e = alice.wait_for(event="lookup")
        self.assertFalse(e["found"])
        # No more attempts after the refusal.
        time.sleep(1.0)
        self.assertEqual(bob.count(event="connected"), 1)
        self.assertEqual(bob.count(event="refused"), 1)
        # A new invite for the same name does not bring bob back.
        inv = self.tracker.cmd("invite", "bob")
        if inv.returncode == 0:
            code = inv.stdout.strip().splitlines()[-1]
            rj = confab_join(self.home("bob2"), code)
            self.assertEqual(rj.returncode, 1, rj.stdout)
            self.assertIn("revoked", (rj.stderr).lower())
        else:
            self.assertIn("revoked", inv.stderr.lower())
        users = self.tracker.users()
        self.assertTrue(users["bob"]["revoked"])
        self.assertFalse(users["bob"]["online"])
        self.assertTrue(users["alice"]["online"])

    def test_restart_brings_members_back(self):
        alice, bob = self.online_pair()
        bob.send("status busy meeting")
        alice.wait_for(event="presence", name="bob", status="busy")
        port = self.tracker.port
        a_mark = len(alice.snapshot())
        b_mark = len(bob.snapshot())
        self.assertEqual(self.tracker.stop(), 0)
        alice.wait_for(event="disconnected", was_connected=True, after=a_mark)
        bob.wait_for(event="disconnected", was_connected=True, after=b_mark)
        self.tracker.set_listen(f"127.0.0.1:{port}")
        self.assertEqual(self.tracker.start(), port)
        alice.wait_for(event="connected", after=a_mark, timeout=15)
        bob.wait_for(event="connected", after=b_mark, timeout=15)
        # Re-announced soft state: bob's status and the subscriptions.
        alice.wait_for(event="presence", name="bob", status="busy", text="meeting",
                       after=a_mark, timeout=10)
        users = wait_until(lambda: (lambda u: u if u["alice"]["online"] and u["bob"]["online"]
                                    else None)(self.tracker.users()), what="both online")
        self.assertEqual(users["bob"]["status"], "busy")
        # Durable state survived: enrolment and certificates.
        alice.send("lookup bob")
        _, e = alice.wait_for(event="lookup", after=a_mark)
        self.assertTrue(e["found"] and e["certificate_ok"], e)

    def test_bad_codes_are_refused_and_change_nothing(self):
        self.join("alice")
        before = self.tracker.users()
        good = self.tracker.invite("erin")
        cases = [
            ("forged", forge_invite(good), "unknown"),
            ("damaged", good[:-6] + ("AAAAAA" if not good.endswith("AAAAAA") else "BBBBBB"),
             "damaged"),
            ("garbage", "hello-world", "not a confab invite"),
            ("another tracker's key", forge_invite(good, b"\x1a"), "without an answer"),
        ]
        for label, code, message in cases:
            with self.subTest(label):
                home = self.home("erin-" + label)
                r = confab_join(home, code)
                self.assertEqual(r.returncode, 1, r.stdout)
                self.assertIn(message, r.stderr.lower())
                self.assertFalse(os.path.exists(os.path.join(home, "enrollment.toml")))
        self.assertEqual(self.tracker.users().keys(), before.keys())
        # The genuine code still works once, then is refused as used.
        self.assertEqual(confab_join(self.home("erin"), good).returncode, 0)
        r = confab_join(self.home("erin-again"), good)
        self.assertEqual(r.returncode, 1)
        self.assertIn("used", r.stderr.lower())
        self.assertFalse(os.path.exists(os.path.join(self.home("erin-again"), "enrollment.toml")))
        # An expired code.
        expiring = self.tracker.invite("frank", "--ttl", "1s")
        time.sleep(2.1)
        r = confab_join(self.home("frank"), expiring)
        self.assertEqual(r.returncode, 1)
        self.assertIn("expired", r.stderr.lower())
        self.assertEqual(set(self.tracker.users()), set(before) | {"erin"})  # no frank
        # And an unreachable tracker is named as such.
        code = self.tracker.invite("gina")
        self.tracker.stop()
        r = confab_join(self.home("gina"), code)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot reach", r.stderr.lower())

    def test_hostile_input_leaves_the_tracker_serving(self):
        alice = None
        self.join("alice")
        alice = self.probe("alice")
        port = self.tracker.port

        def connect(source="127.0.0.3"):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(5)
            s.bind((source, 0))
            s.connect(("127.0.0.1", port))
            return s

        def closed_by_tracker(s, within):
            """Reads until EOF/reset; returns the bytes read, or None on timeout."""
            s.settimeout(within)
            got = b""
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        return got
                    got += chunk
            except ConnectionResetError:
                return got
            except socket.timeout:
                return None
            finally:
                s.close()

        with self.subTest("garbage bytes"):
            s = connect()
            s.sendall(b"\x00\x10" + os.urandom(16) + b"GET / HTTP/1.0\r\n\r\n" * 4)
            self.assertEqual(closed_by_tracker(s, 5), b"")
        with self.subTest("oversize frame header"):
            s = connect()
            s.sendall(b"\xff\xff" + b"A" * 1000)
            self.assertEqual(closed_by_tracker(s, 5), b"")
        with self.subTest("silent connection"):
            s = connect()
            t0 = time.monotonic()
            self.assertEqual(closed_by_tracker(s, 8), b"")
            self.assertGreater(time.monotonic() - t0, 1.8)
        with self.subTest("connection flood from one address"):
            # Past the burst, connections are closed at accept; the ones let
            # in wait for the 2 s handshake timeout.
            socks = [connect("127.0.0.2") for _ in range(40)]
            t0 = time.monotonic()
            open_socks, dropped = list(socks), 0
            while open_socks and time.monotonic() - t0 < 1.5:
                ready, _, _ = select.select(open_socks, [], [], 0.1)
                for s in ready:
                    try:
                        data = s.recv(4096)
                    except ConnectionResetError:
                        data = b""
                    self.assertEqual(data, b"")
                    dropped += 1
                    open_socks.remove(s)
            for s in socks:
                s.close()
            self.assertGreaterEqual(dropped, 20)
            self.assertLessEqual(dropped, 35)  # the burst got in
        with self.subTest("UDP with the session's token is answered"):
            _, connected = alice.wait_for(event="connected")
            token = bytes.fromhex(connected["udp_token"])
            self.assertEqual(len(token), 16)
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.settimeout(5.0)
            try:
                # TrackerDatagram{probe{token, nonce=7}}
                u.sendto(b"\x0a\x14\x0a\x10" + token + b"\x10\x07", ("127.0.0.1", port))
                reply, _ = u.recvfrom(2048)
                self.assertIn(b"127.0.0.1", reply)  # UdpObserved: the address it saw
            finally:
                u.close()
        with self.subTest("UDP without a valid token"):
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.settimeout(1.0)
            try:
                # A UdpProbe with a made-up 16-byte token, then plain garbage.
                u.sendto(b"\x0a\x14\x0a\x10" + os.urandom(16) + b"\x10\x01", ("127.0.0.1", port))
                u.sendto(os.urandom(64), ("127.0.0.1", port))
                with self.assertRaises(socket.timeout):
                    u.recvfrom(2048)
            finally:
                u.close()
        # Still serving: the member online before is still connected and
        # answered, and a new member can join.
        alice.send("lookup alice")
        _, e = alice.wait_for(event="lookup")
        self.assertTrue(e["found"])
        self.assertEqual(alice.count(event="connected"), 1)
        self.assertEqual(self.tracker.proc.poll(), None)
        self.assert_serving()


    def test_udp_probes_are_answered_on_both_probe_ports(self):
        self.join("alice")
        alice = self.probe("alice")
        _, connected = alice.wait_for(event="connected")
        token = bytes.fromhex(connected["udp_token"])
        main_port, second_port = self.tracker.port, connected["second_probe_port"]
        self.assertGreater(second_port, 0)
        self.assertNotEqual(second_port, main_port)

        def ask(u, port, token, nonce):
            """TrackerDatagram{probe{token, nonce}}; the UdpObserved or None."""
            body = b"\x0a" + bytes([len(token)]) + token + b"\x10" + bytes([nonce])
            u.sendto(b"\x0a" + bytes([len(body)]) + body, ("127.0.0.1", port))
            try:
                reply, sender = u.recvfrom(2048)
            except socket.timeout:
                return None
            self.assertEqual(sender, ("127.0.0.1", port))  # from the socket asked
            return parse_observed(reply)

        with self.subTest("both ports see the same source address"):
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.settimeout(5.0)
            try:
                u.bind(("127.0.0.1", 0))
                first = ask(u, main_port, token, 7)
                second = ask(u, second_port, token, 8)
                self.assertEqual(first, {"nonce": 7, "address": "127.0.0.1",
                                         "port": u.getsockname()[1]})
                self.assertEqual(second, dict(first, nonce=8))
            finally:
                u.close()
        with self.subTest("the second port ignores probes without a valid token"):
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.settimeout(1.0)
            try:
                self.assertIsNone(ask(u, second_port, b"", 1))
                self.assertIsNone(ask(u, second_port, os.urandom(16), 2))
                u.sendto(os.urandom(64), ("127.0.0.1", second_port))
                with self.assertRaises(socket.timeout):
                    u.recvfrom(2048)
            finally:
                u.close()
        with self.subTest("lookups publish what the main port saw"):
            main, other = (socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2))
            try:
                for u in (main, other):
                    u.settimeout(5.0)
                    u.bind(("127.0.0.1", 0))
                self.assertIsNotNone(ask(main, main_port, token, 3))
                self.assertIsNotNone(ask(other, second_port, token, 4))
                alice.send("lookup alice")
                _, e = alice.wait_for(event="lookup")
                udp = [(x["address"], x["port"]) for x in e["endpoints"] if x["udp"]]
                self.assertEqual(udp, [("127.0.0.1", main.getsockname()[1])])
            finally:
                main.close()
                other.close()
        with self.subTest("NatDiscovery finds no NAT on loopback"):
            alice.send("nat")
            _, e = alice.wait_for(event="nat", timeout=15)
            self.assertEqual(e["answered"], 2, e)
            self.assertEqual(e["mapping"], "none", e)
            self.assertEqual(e["public_address"], e["local_address"])
        self.assertIn("second UDP probe port %d" % second_port, self.tracker.log())


class TrackerDefaultProbePortTest(TempDirTest):
    """Without second_probe_port, the second probe port is listen's port + 1."""

    def setUp(self):
        super().setUp()
        self.tracker = TrackerProcess(os.path.join(self.tmp, "state"))
        self.tracker.init()
        self.blockers = []

    def tearDown(self):
        self.tracker.stop(timeout=10)
        for b in self.blockers:
            b.close()
        super().tearDown()

    def free_pair(self):
        """A port P with TCP+UDP P and UDP P+1 free (as far as we can tell)."""
        for _ in range(50):
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind(("127.0.0.1", 0))
            p = u.getsockname()[1] - 1
            u.close()
            try:
                for kind, port in ((socket.SOCK_STREAM, p), (socket.SOCK_DGRAM, p),
                                   (socket.SOCK_DGRAM, p + 1)):
                    with socket.socket(socket.AF_INET, kind) as s:
                        s.bind(("127.0.0.1", port))
                return p
            except OSError:
                continue
        self.fail("no free port pair on loopback")

    def serving_line(self):
        return wait_until(
            lambda: next((l for l in self.tracker.log().splitlines()
                          if "second UDP probe port" in l), None),
            what="the serving line")

    def test_listen_plus_one_when_free(self):
        p = self.free_pair()
        self.tracker.set_listen("127.0.0.1:%d" % p)
        self.tracker.start()
        self.assertIn("second UDP probe port %d" % (p + 1), self.serving_line())
        self.assertNotIn("unavailable", self.tracker.log())

    def test_busy_default_falls_back_with_a_warning(self):
        p = self.free_pair()
        blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        blocker.bind(("127.0.0.1", p + 1))
        self.blockers.append(blocker)
        self.tracker.set_listen("127.0.0.1:%d" % p)
        self.tracker.start()
        line = self.serving_line()
        self.assertNotIn("second UDP probe port %d" % (p + 1), line)
        self.assertIn("unavailable", self.tracker.log())
        self.assertIn("second_probe_port", self.tracker.log())


class TrackerStartFailureTest(TempDirTest):
    """`confab-tracker serve` refuses to start, clearly, on a bad setup."""

    def setUp(self):
        super().setUp()
        self.tracker = TrackerProcess(os.path.join(self.tmp, "state"))
        self.tracker.init()

    def serve(self):
        return self.tracker.cmd("serve", timeout=20)

    def test_busy_port(self):
        blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            blocker.bind(("127.0.0.1", 0))
            blocker.listen(1)
            self.tracker.set_listen("127.0.0.1:%d" % blocker.getsockname()[1])
            r = self.serve()
        finally:
            blocker.close()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("in use", r.stderr.lower())

    def test_busy_second_probe_port(self):
        blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            blocker.bind(("127.0.0.1", 0))
            with open(self.tracker.toml_path) as f:
                lines = f.read().splitlines()
            # A top-level key: before the first [table].
            at = next((i for i, l in enumerate(lines) if l.startswith("[")), len(lines))
            lines.insert(at, "second_probe_port = %d" % blocker.getsockname()[1])
            with open(self.tracker.toml_path, "w") as f:
                f.write("\n".join(lines) + "\n")
            r = self.serve()
        finally:
            blocker.close()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("second_probe_port", r.stderr)
        self.assertIn("in use", r.stderr.lower())

    def test_unknown_key_in_tracker_toml(self):
        with open(self.tracker.toml_path, "a") as f:
            f.write("\nlisten_addr = '127.0.0.1:0'\n")
        line = read_bytes(self.tracker.toml_path).decode().splitlines().index(
            "listen_addr = '127.0.0.1:0'") + 1
        r = self.serve()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("listen_addr", r.stderr)
        self.assertIn(f"tracker.toml:{line}:", r.stderr)

    def test_unreadable_org_key(self):
        os.chmod(os.path.join(self.tracker.state, "org.key"), 0o644)
        r = self.serve()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("chmod 600", r.stderr)


if __name__ == "__main__":
    unittest.main()
