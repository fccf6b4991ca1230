"""noise-vectors on the shared cacophony file and on files made here."""
import json
import os
import re
import unittest

from harness import TempDirTest, binary, run, shared_dir

SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$")


def summary(stdout):
    last = stdout.strip().splitlines()[-1] if stdout.strip() else ""
    m = SUMMARY.match(last)
    if not m:
        raise AssertionError(f"no summary line at the end of: {stdout[-500:]!r}")
    return tuple(int(x) for x in m.groups())


def load_shared_vectors():
    path = os.path.join(shared_dir(), "vectors", "noise", "cacophony.txt")
    if not os.path.exists(path):
        raise unittest.SkipTest(f"shared vectors not found at {path}")
    with open(path) as f:
        return path, json.load(f)["vectors"]


def supported(v):
    return v["dh"] == "25519" and v["hash"] in ("SHA256", "SHA512", "BLAKE2b") and \
        v["cipher"] in ("ChaChaPoly", "AESGCM")


class NoiseVectorsTest(TempDirTest):
    def setUp(self):
        super().setUp()
        self.exe = binary("NOISE_VECTORS")
        self.path, self.vectors = load_shared_vectors()

    def write(self, name, vectors):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            json.dump({"vectors": vectors}, f)
        return path

    def test_every_supported_shared_vector_passes(self):
        r = run([self.exe, self.path], timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr)
        passed, failed, skipped = summary(r.stdout)
        expected = sum(1 for v in self.vectors if supported(v))
        aesgcm = sum(1 for v in self.vectors if supported(v) and v["cipher"] == "AESGCM")
        self.assertEqual(failed, 0)
        # AESGCM vectors count as passed only where the CPU has AES-NI.
        self.assertIn(passed, (expected, expected - aesgcm))
        self.assertEqual(passed + skipped, len(self.vectors))

    def test_a_corrupted_ciphertext_is_reported_as_a_failure(self):
        chosen = [v for v in self.vectors if supported(v) and v["cipher"] == "ChaChaPoly"][:3]
        broken = json.loads(json.dumps(chosen[1]))
        ct = bytearray.fromhex(broken["messages"][2]["ciphertext"])
        ct[0] ^= 0x01
        broken["messages"][2]["ciphertext"] = ct.hex()
        r = run([self.exe, self.write("one-bad.json", [chosen[0], broken, chosen[2]])])
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(summary(r.stdout), (2, 1, 0))
        self.assertIn(broken["name"], r.stdout + r.stderr)

    def test_a_file_with_only_unsupported_vectors_fails_because_nothing_passed(self):
        unsupported = [v for v in self.vectors if v["dh"] == "448"][:2]
        r = run([self.exe, self.write("unsupported.json", unsupported)])
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(summary(r.stdout), (0, 0, 2))

    def test_counts_add_up_across_several_files(self):
        chosen = [v for v in self.vectors if supported(v) and v["cipher"] == "ChaChaPoly"]
        a = self.write("a.json", chosen[:4])
        b = self.write("b.json", chosen[4:6] + [v for v in self.vectors if v["dh"] == "448"][:1])
        r = run([self.exe, a, b])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(summary(r.stdout), (6, 0, 1))

    def test_garbage_and_missing_files_are_clear_errors(self):
        garbage = os.path.join(self.tmp, "garbage.json")
        with open(garbage, "w") as f:
            f.write("{ this is not json")
        r = run([self.exe, garbage])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("garbage.json", r.stderr + r.stdout)
        r = run([self.exe, os.path.join(self.tmp, "missing.json")])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("missing.json", r.stderr + r.stdout)
        r = run([self.exe])
        self.assertNotEqual(r.returncode, 0)


if __name__ == "__main__":
    unittest.main()
