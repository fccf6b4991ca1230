"""Invalid UTF-8 in `confab msg` text or on `msg --stdin` is refused by the
CLI before anything is sent, with the line number for stdin (issue 18:
it used to print a raw libprotobuf error, then "the node closed the
connection without an answer"). Real tracker and node on 127.0.0.1."""
import os
import subprocess
import unittest

from harness import OrgTest, binary, confab_env

EXIT_FAILED = 1
EXIT_USAGE = 2


class Utf8Test(OrgTest):
    def setUp(self):
        super().setUp()
        self.alice = self.member("alice")
        self.member("bob")  # enrolled, node not started: what alice sends waits in her outbox
        self.alice.start()

    def msg_stdin(self, data):
        return subprocess.run([binary("CONFAB"), "msg", "bob", "--stdin"],
                              env=confab_env(self.alice.home), input=data, capture_output=True,
                              timeout=30)

    def test_stdin_with_a_bad_line_sends_nothing_and_names_the_line(self):
        r = self.msg_stdin(b"fine\n\ncaf\xc3\xa9\nbad \xff\xfe here\nnever sent\n")
        self.assertEqual(r.returncode, EXIT_FAILED, r.stdout + r.stderr)
        err = r.stderr.decode()
        self.assertIn("line 4 of stdin is not valid UTF-8", err)
        self.assertIn("nothing was sent", err)
        self.assertNotIn("libprotobuf", err)
        self.assertNotIn("without an answer", err)
        self.assertEqual(r.stdout, b"")
        self.assertEqual(self.alice.cli_json("outbox"), [])
        # overlongs, surrogates and a truncated sequence at the very end too
        for bad, line in ((b"a\n\xc0\xaf\n", 2), (b"\xed\xa0\x80\n", 1), (b"ok\nend \xe2\x82", 2)):
            r = self.msg_stdin(bad)
            self.assertEqual(r.returncode, EXIT_FAILED, bad)
            self.assertIn(f"line {line} of stdin is not valid UTF-8", r.stderr.decode(), bad)
        self.assertEqual(self.alice.cli_json("outbox"), [])
        # the same lines, fixed, go through
        r = self.msg_stdin("fine\n\ncaf\u00e9\n".encode())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([m["text"] for m in self.alice.cli_json("outbox")], ["fine", "caf\u00e9"])

    def test_a_text_argument_that_is_not_utf8_is_a_usage_error(self):
        r = subprocess.run([binary("CONFAB").encode(), b"msg", b"bob", b"caf\xe9"],
                           env=confab_env(self.alice.home), capture_output=True, timeout=30)
        self.assertEqual(r.returncode, EXIT_USAGE, r.stdout + r.stderr)
        self.assertIn("TEXT is not valid UTF-8", r.stderr.decode())
        self.assertEqual(self.alice.cli_json("outbox"), [])
        r = subprocess.run([binary("CONFAB").encode(), b"status", b"away", b"\xff"],
                           env=confab_env(self.alice.home), capture_output=True, timeout=30)
        self.assertEqual(r.returncode, EXIT_USAGE, r.stdout + r.stderr)
        self.assertIn("not valid UTF-8", r.stderr.decode())
        self.assertEqual(self.alice.cli_json("status")["status"], "online")


if __name__ == "__main__":
    unittest.main()
