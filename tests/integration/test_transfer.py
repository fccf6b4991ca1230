"""Direct file transfers (issue 5) between two real `confab up` nodes on
127.0.0.1: offer, accept, data on its own connection, digest, quarantine,
scan, release; resume after kill -9 of either side; the receiving policy."""
import hashlib
import json
import os
import subprocess
import time
import unittest

from harness import OrgTest, shared_dir, wait_until

MIB = 1 << 20


def make_file(path, size, seed=b"confab"):
    """A file of `size` pseudo-random bytes (fast: a 1 MiB block repeated
    with a counter, so no two MiB are equal)."""
    block = hashlib.shake_256(seed).digest(MIB)
    with open(path, "wb") as f:
        done = 0
        i = 0
        while done < size:
            chunk = i.to_bytes(8, "little") + block[8:]
            n = min(MIB, size - done)
            f.write(chunk[:n])
            done += n
            i += 1
    return path


def blake2b_file(path):
    h = hashlib.blake2b(digest_size=32)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(4 * MIB), b""):
            h.update(chunk)
    return h.hexdigest()


class TransferTest(OrgTest):
    def setUp(self):
        super().setUp()
        self.alice = self.member("alice")
        self.bob = self.member("bob")
        self.downloads = os.path.join(self.tmp, "bob-downloads")

    def configure(self, node, text):
        with open(os.path.join(node.home, "config.toml"), "w") as f:
            f.write("[transfers]\n" + text)

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
        self.assertEqual(blake2b_file(done["path"]), blake2b_file(src))
        self.assertEqual(done["digest"], blake2b_file(src))
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
        self.assertEqual(blake2b_file(done["path"]), blake2b_file(src))
        # Never overwrite: the same name again gets a new one.
        r = self.alice.cli("send", "bob", src, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        tid2 = r.stdout.splitlines()[0]
        done2 = self.wait_state(self.bob, tid2, "completed")
        self.assertEqual(done2["path"], os.path.join(self.downloads, "small (1).txt"))


if __name__ == "__main__":
    unittest.main()
