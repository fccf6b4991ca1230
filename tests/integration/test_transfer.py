"""Direct file transfers (issue 5) between two real `confab up` nodes on
127.0.0.1: offer, accept, data on its own connection, digest, quarantine,
scan, release; resume after kill -9 of either side; the receiving policy."""
import json
import os
import shutil
import subprocess
import time
import unittest

from harness import MIB, PairTest, make_file, sha256_file, shared_dir, wait_until

def blake3_file(path):
    """The file's BLAKE3 from b3sum (install-deps.sh test), or None without it."""
    if not shutil.which("b3sum"):
        return None
    r = subprocess.run(["b3sum", "--no-names", path], capture_output=True, text=True,
                       check=True)
    return r.stdout.strip()


def check_digest(test, record, src):
    """The released file is the source byte for byte, and the digest both
    sides agreed on is the source's BLAKE3 (when b3sum is there to say)."""
    test.assertEqual(sha256_file(record["path"]), sha256_file(src))
    test.assertEqual(len(record["digest"]), 64)
    expected = blake3_file(src)
    if expected is not None:
        test.assertEqual(record["digest"], expected)


class TransferTest(PairTest):
    def start_both(self):
        self.alice.start()
        self.bob.start()

    def send(self, path, *extra):
        r = self.alice.cli("send", "bob", path, "--detach", "--json", *extra)
        self.assertEqual(r.returncode, 0, r.stderr + self.logs())
        return json.loads(r.stdout.splitlines()[0])["id"]

    def transfer(self, node, tid):
        for t in node.cli_json("transfers"):
            if t["id"] == tid:
                return t
        return None

    def wait_state(self, node, tid, states, timeout=30):
        if isinstance(states, str):
            states = (states,)

        def match():
            t = self.transfer(node, tid)
            return t if t and t["state"] in states else None
        try:
            return wait_until(match, timeout, interval=0.2,
                              what=f"{node.name}: transfer {tid} {states}")
        except AssertionError:
            raise AssertionError(f"{node.name}: {self.transfer(node, tid)}\n{self.logs()}")

    def accept(self, tid, *extra):
        self.wait_state(self.bob, tid, "offered")
        r = self.bob.cli("accept", tid, "--to", self.downloads, *extra)
        self.assertEqual(r.returncode, 0, r.stderr)

    def quarantine(self):
        return sorted(os.listdir(os.path.join(self.bob.home, "quarantine")))

    def test_a_file_sent_to_a_group_is_offered_to_each_other_member(self):
        self.start_both()
        r = self.alice.cli("group", "create", "team", "bob")
        self.assertEqual(r.returncode, 0, r.stderr)
        src = make_file(os.path.join(self.tmp, "minutes.bin"), 3 * MIB)
        r = self.alice.cli("send", "#team", src, "--detach", "--json")
        self.assertEqual(r.returncode, 0, r.stderr + self.logs())
        offers = json.loads(r.stdout)
        self.assertEqual([o["to"] for o in offers], ["bob"])  # not to alice herself
        tid = offers[0]["id"]
        self.assertEqual(self.wait_state(self.bob, tid, "offered")["peer"], "alice")
        self.accept(tid)
        check_digest(self, self.wait_state(self.bob, tid, "completed"), src)
        # A group that does not exist: refused plainly, nothing offered.
        before = len(self.alice.cli_json("transfers"))
        r = self.alice.cli("send", "#nosuch", src, "--detach")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("nosuch", r.stderr)
        self.assertEqual(len(self.alice.cli_json("transfers")), before)

    def test_a_256_mib_file_arrives_with_its_digest_while_chat_flows(self):
        self.start_both()
        src = make_file(os.path.join(self.tmp, "big.bin"), 256 * MIB)
        tid = self.send(src)
        offer = self.wait_state(self.bob, tid, "offered")
        self.assertEqual((offer["name"], offer["size"], offer["peer"]),
                         ("big.bin", 256 * MIB, "alice"))
        self.accept(tid)
        # Chat during the transfer.
        self.wait_state(self.bob, tid, ("active", "completed"))
        start = time.monotonic()
        for i in range(5):
            r = self.alice.cli("msg", "bob", f"during {i}")
            self.assertEqual(r.returncode, 0, r.stderr)
        wait_until(lambda: len([m for m in self.bob.history("alice")
                                if m["text"].startswith("during")]) == 5,
                   30, what="chat during the transfer")
        chat_s = time.monotonic() - start
        done = self.wait_state(self.bob, tid, "completed", timeout=120)
        self.assertEqual(self.wait_state(self.alice, tid, "completed")["state"], "completed")
        self.assertEqual(done["path"], os.path.join(self.downloads, "big.bin"))
        check_digest(self, done, src)
        self.assertEqual(self.wait_state(self.alice, tid, "completed")["digest"], done["digest"])
        self.assertEqual(self.quarantine(), [])
        print(f"chat round during the transfer: {chat_s:.2f} s", flush=True)

    def test_send_without_detach_returns_when_completed(self):
        self.configure(self.bob, 'auto_accept_from = ["alice"]\n'
                                 f'auto_accept_max_size = {8 * MIB}\n'
                                 f'download_dir = "{self.downloads}"\n')
        self.start_both()
        src = make_file(os.path.join(self.tmp, "small.txt"), 3 * MIB + 17)
        r = self.alice.cli("send", "bob", src, "--json", timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr + self.logs())
        lines = [json.loads(l) for l in r.stdout.splitlines()]
        tid = lines[0]["id"]
        self.assertEqual(lines[-1]["state"], "completed")
        done = self.wait_state(self.bob, tid, "completed")
        check_digest(self, done, src)
        # Never overwrite: the same name again gets a new one.
        r = self.alice.cli("send", "bob", src, "--detach", timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        tid2 = r.stdout.splitlines()[0]
        done2 = self.wait_state(self.bob, tid2, "completed")
        # The receiver can follow an accepted transfer too (JSON lines).
        big = make_file(os.path.join(self.tmp, "followed.bin"), 12 * MIB)
        tid3 = self.send(big)
        self.wait_state(self.bob, tid3, "offered")
        r = self.bob.cli("accept", tid3, "--to", self.downloads, "--follow", "--json", timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = [json.loads(l) for l in r.stdout.splitlines()]
        self.assertEqual(lines[-1]["state"], "completed")
        self.assertEqual(lines[-1]["bytes_done"], 12 * MIB)
        self.assertEqual(done2["path"], os.path.join(self.downloads, "small (1).txt"))

    # ---- refusals -----------------------------------------------------------

    def test_reject_and_cancel(self):
        self.start_both()
        src = make_file(os.path.join(self.tmp, "report.pdf"), 2 * MIB)
        tid = self.send(src)
        self.wait_state(self.bob, tid, "offered")
        r = self.bob.cli("reject", tid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("rejected", self.wait_state(self.alice, tid, "rejected")["error"])
        self.assertEqual(self.wait_state(self.bob, tid, "rejected")["state"], "rejected")

        # The sender cancels mid-transfer: both sides say so, nothing is kept.
        self.alice.stop()
        self.configure(self.alice, f"max_send_rate = {16 * MIB}\n")
        self.alice.start()
        big = make_file(os.path.join(self.tmp, "slow.bin"), 64 * MIB)
        tid = self.send(big)
        self.accept(tid)
        wait_until(lambda: (self.transfer(self.bob, tid) or {}).get("bytes_done", 0) > 4 * MIB,
                   30, interval=0.1, what="some data")
        r = self.alice.cli("cancel", tid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_state(self.alice, tid, "cancelled")
        self.assertIn("cancelled by alice", self.wait_state(self.bob, tid, "cancelled")["error"])
        self.assertEqual(self.quarantine(), [])
        self.assertFalse(os.path.exists(os.path.join(self.downloads, "slow.bin")))
        # And the receiver cancels one.
        tid = self.send(big)
        self.accept(tid)
        wait_until(lambda: (self.transfer(self.bob, tid) or {}).get("bytes_done", 0) > 4 * MIB,
                   30, interval=0.1, what="some data")
        self.assertEqual(self.bob.cli("cancel", tid).returncode, 0)
        self.assertIn("cancelled by bob", self.wait_state(self.alice, tid, "cancelled")["error"])
        self.assertEqual(self.quarantine(), [])
        r = self.bob.cli("cancel", tid)
        self.assertNotEqual(r.returncode, 0)

    def test_oversize_and_blocked_extensions_are_refused(self):
        self.configure(self.bob, f"max_size = {1 * MIB}\n")
        self.start_both()
        tid = self.send(make_file(os.path.join(self.tmp, "big.bin"), 2 * MIB))
        self.assertIn("too large", self.wait_state(self.alice, tid, "rejected")["error"])
        self.assertEqual(self.wait_state(self.bob, tid, "rejected")["state"], "rejected")
        tid = self.send(make_file(os.path.join(self.tmp, "setup.EXE"), 1000))
        self.assertIn("blocked extension", self.wait_state(self.alice, tid, "rejected")["error"])
        self.assertEqual(self.quarantine(), [])

    def test_hostile_names_land_safely(self):
        self.start_both()
        src = make_file(os.path.join(self.tmp, "innocent.txt"), 1000)
        for name, expected in (("../../etc/passwd", "passwd"),
                               ("..\\..\\windows\\evil.txt", "evil.txt"),
                               ("bell\x07and\x1bescape.txt", "bellandescape.txt"),
                               ("..", "file")):
            tid = self.send(src, "--name", name)
            offer = self.wait_state(self.bob, tid, "offered")
            self.assertEqual(offer["name"], expected)
            self.accept(tid)
            done = self.wait_state(self.bob, tid, "completed")
            self.assertEqual(os.path.dirname(done["path"]), self.downloads)
            self.assertEqual(os.path.basename(done["path"]), expected)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "etc", "passwd")))

    # ---- scanning -------------------------------------------------------------

    def eicar_files(self):
        files = os.path.join(self.tmp, "eicar")
        subprocess.run([os.path.join(shared_dir(), "lab", "eicar-db", "make-test-files.sh"),
                        files], check=True, capture_output=True)
        return files

    @unittest.skipUnless(shutil.which("clamscan"), "clamscan not installed (install-deps.sh test)")
    def test_eicar_is_caught_by_clamscan_and_stays_quarantined(self):
        db = os.path.join(shared_dir(), "lab", "eicar-db")
        self.configure(self.bob, f'scan_command = "clamscan --no-summary -d {db} {{}}"\n'
                                 'auto_accept_from = ["alice"]\n'
                                 f'auto_accept_max_size = {MIB}\n'
                                 f'download_dir = "{self.downloads}"\n')
        self.start_both()
        files = self.eicar_files()
        tid = self.send(os.path.join(files, "eicar-newline.txt"))
        bad = self.wait_state(self.bob, tid, "quarantined", timeout=60)
        self.assertIn("infected", bad["error"])
        told = self.wait_state(self.alice, tid, "quarantined")
        self.assertIn("infected", told["error"])
        self.assertEqual(self.quarantine(), [tid + ".part"])
        self.assertFalse(os.path.exists(os.path.join(self.downloads, "eicar-newline.txt")))
        # A clean file passes the same scanner.
        tid = self.send(os.path.join(files, "clean.txt"))
        done = self.wait_state(self.bob, tid, "completed", timeout=60)
        self.assertEqual(done["path"], os.path.join(self.downloads, "clean.txt"))

    def test_a_failing_scanner_keeps_the_file_quarantined(self):
        scanner = os.path.join(self.tmp, "broken-scanner.sh")
        with open(scanner, "w") as f:
            f.write("#!/bin/sh\nexit 2\n")
        os.chmod(scanner, 0o755)
        self.configure(self.bob, f'scan_command = "{scanner} {{}}"\n')
        self.start_both()
        tid = self.send(make_file(os.path.join(self.tmp, "doc.txt"), 5000))
        self.accept(tid)
        bad = self.wait_state(self.bob, tid, "quarantined")
        self.assertIn("scan failed (exit 2)", bad["error"])
        self.assertIn("scan failed", self.wait_state(self.alice, tid, "quarantined")["error"])
        self.assertEqual(self.quarantine(), [tid + ".part"])
        self.assertEqual(os.listdir(self.downloads) if os.path.exists(self.downloads) else [], [])

    # ---- resume ---------------------------------------------------------------

    def resume_after_kill(self, victim):
        self.configure(self.alice, f"max_send_rate = {48 * MIB}\n")
        self.start_both()
        src = make_file(os.path.join(self.tmp, "resume.bin"), 160 * MIB)
        tid = self.send(src)
        self.accept(tid)
        wait_until(lambda: (self.transfer(self.bob, tid) or {}).get("bytes_done", 0) > 72 * MIB,
                   60, interval=0.1, what="past the first durable offset")
        node = self.alice if victim == "alice" else self.bob
        node.kill()
        time.sleep(0.5)
        node.start()
        # `confab resume` asks the sender to dial now (it would anyway).
        r = self.alice.cli("resume", tid)
        self.assertEqual(r.returncode, 0, r.stderr)
        done = self.wait_state(self.bob, tid, "completed", timeout=90)
        self.wait_state(self.alice, tid, "completed")
        self.assertNotEqual(self.alice.cli("resume", tid).returncode, 0)  # it has ended
        check_digest(self, done, src)
        offsets = [int(line.rsplit(" ", 1)[1]) for line in self.bob.log().splitlines()
                   if f"transfer {tid} from alice: receiving from offset" in line]
        self.assertEqual(len(offsets), 2, self.bob.log())
        self.assertEqual(offsets[0], 0)
        self.assertGreaterEqual(offsets[1], 64 * MIB)

    def test_resume_after_the_sender_is_killed(self):
        self.resume_after_kill("alice")

    def test_resume_after_the_receiver_is_killed(self):
        self.resume_after_kill("bob")


if __name__ == "__main__":
    unittest.main()
