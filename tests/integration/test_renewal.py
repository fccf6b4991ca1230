"""Certificate renewal (issue 18): a member's certificate is renewed over
their tracker session once less than a third of certificate.lifetime is
left, or at once by `confab-tracker renew NAME` (pushed now if they are
online, else at their next session). The node checks it, keeps it in
certificate.pb and presents it from then on; `confab status` and
`confab-tracker users` show the new expiry. Real tracker and nodes on
127.0.0.1."""
import os
import re
import time
import unittest

from harness import OrgTest, wait_until

EXIT_FAILED = 1
DAY_MS = 86_400_000


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


class RenewalTest(OrgTest):
    def set_lifetime(self, lifetime):
        with open(self.tracker.toml_path) as f:
            text = f.read()
        text = re.sub(r"(?m)^lifetime = .*$", f"lifetime = '{lifetime}'", text)
        with open(self.tracker.toml_path, "w") as f:
            f.write(text)

    def restart_tracker(self):
        port = self.tracker.port
        self.tracker.stop()
        self.tracker.set_listen(f"127.0.0.1:{port}")
        self.tracker.start()

    def expiry(self, node):
        return node.cli_json("status")["certificate_expires_unix_ms"]

    def connected(self, node):
        wait_until(lambda: node.cli_json("status")["tracker"] == "connected", 30,
                   what=f"{node.name} connected")

    def test_a_certificate_inside_the_renewal_window_is_renewed_over_the_session(self):
        self.tracker.stop()
        self.set_lifetime("30d")
        self.tracker.start()
        alice = self.member("alice")
        bob = self.member("bob")
        alice.start()
        bob.start()
        self.connected(alice)
        first = self.expiry(alice)
        self.assertAlmostEqual(first, time.time() * 1000 + 30 * DAY_MS, delta=120_000)
        before = read_bytes(os.path.join(alice.home, "certificate.pb"))
        time.sleep(1.1)  # the renewal's expiry is a later second
        # 90 days: a third is 30, more than the 30 left, so every session renews
        self.set_lifetime("90d")
        self.restart_tracker()
        renewed = wait_until(lambda: (lambda e: e if e > first else None)(self.expiry(alice)),
                             30, what="alice's certificate renewed")
        self.assertAlmostEqual(renewed, time.time() * 1000 + 90 * DAY_MS, delta=120_000)
        self.assertNotEqual(read_bytes(os.path.join(alice.home, "certificate.pb")), before)
        self.assertIn("certificate renewed by the tracker", alice.log())
        self.assertRegex(self.tracker.log(), r"renewed alice's certificate \(auto\): serial \d+")
        users = self.tracker.users()
        self.assertEqual(users["alice"]["certificate_expires_unix_ms"] // 1000, renewed // 1000)
        # Peers take the renewed certificate; it survives a restart of the node.
        wait_until(lambda: self.expiry(bob) > first, 30, what="bob renewed too")
        r = alice.cli("msg", "bob", "after renewal")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_until(lambda: any(m["text"] == "after renewal" for m in bob.history("alice")), 20,
                   what="bob receives a message from renewed alice")
        alice.stop()
        alice.start()
        self.assertEqual(self.expiry(alice), renewed)
        self.connected(alice)
        time.sleep(1)  # a session with the renewed certificate is not renewed again
        self.assertEqual(self.expiry(alice), renewed)

    def test_ops_renew_pushes_to_an_online_member_and_waits_for_an_offline_one(self):
        alice = self.member("alice")
        carol = self.member("carol")
        alice.start()
        self.connected(alice)
        first = self.expiry(alice)
        time.sleep(1.1)
        r = self.tracker.cmd("renew", "alice")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Renewed alice's certificate", r.stdout)
        wait_until(lambda: self.expiry(alice) > first, 15, what="alice takes the renewal")
        self.assertRegex(self.tracker.log(), r"renewed alice's certificate \(ops\)")

        # carol is offline and the tracker stopped: the directory is changed directly
        port = self.tracker.port
        self.tracker.stop()
        r = self.tracker.cmd("renew", "carol")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.tracker.set_listen(f"127.0.0.1:{port}")  # where carol's enrolment points
        self.tracker.start()
        before = read_bytes(os.path.join(carol.home, "certificate.pb"))
        carol.start()
        wait_until(lambda: read_bytes(os.path.join(carol.home, "certificate.pb")) != before, 30,
                   what="carol gets the certificate renewed while she was away")
        self.assertEqual(self.expiry(carol) // 1000,
                         self.tracker.users()["carol"]["certificate_expires_unix_ms"] // 1000)

        # refusals: an unknown name, a revoked member
        r = self.tracker.cmd("renew", "nosuch")
        self.assertEqual(r.returncode, EXIT_FAILED, r.stdout + r.stderr)
        self.assertIn("nosuch", r.stderr)
        self.assertEqual(self.tracker.cmd("revoke", "carol").returncode, 0)
        r = self.tracker.cmd("renew", "carol")
        self.assertEqual(r.returncode, EXIT_FAILED, r.stdout + r.stderr)
        self.assertIn("revoked", r.stderr)

    def test_the_expiry_is_shown_to_people(self):
        alice = self.member("alice")
        alice.start()
        r = alice.cli("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"certificate expires \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
        r = self.tracker.cmd("users")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("CERTIFICATE EXPIRES", r.stdout)
        self.assertRegex(r.stdout, r"alice .* \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


if __name__ == "__main__":
    unittest.main()
