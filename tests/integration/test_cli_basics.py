"""The two binaries answer --help and --version, and refuse nonsense clearly."""
import os
import re
import tempfile
import unittest

from harness import binary, run


class CliBasicsTest(unittest.TestCase):
    def test_version_and_help(self):
        for env_name, name in (("CONFAB_TRACKER", "confab-tracker"), ("CONFAB", "confab")):
            exe = binary(env_name)
            r = run([exe, "--version"])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout.strip(), rf"^{name} \d+\.\d+\.\d+$")
            r = run([exe, "--help"])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("Usage:", r.stdout)

    def test_unknown_option_is_refused_with_a_message(self):
        for env_name, args in (("CONFAB_TRACKER", ["users", "--state", "x", "--no-such-option"]),
                               ("CONFAB", ["--no-such-option"])):
            r = run([binary(env_name)] + args)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("no-such-option", r.stderr + r.stdout)

    def test_the_tracker_asks_for_a_subcommand(self):
        r = run([binary("CONFAB_TRACKER")])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("subcommand", r.stderr + r.stdout)

    def test_a_mistyped_subcommand_exits_2_and_suggests_the_nearest(self):
        for env_name, name, typo, meant in (("CONFAB_TRACKER", "confab-tracker", "usres", "users"),
                                            ("CONFAB", "confab", "stauts", "status")):
            r = run([binary(env_name), typo, "--json"])
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(f"{name}: unknown command '{typo}'; did you mean '{meant}'?", r.stderr)
            self.assertNotIn("A subcommand is required", r.stderr)

    def test_a_word_far_from_every_subcommand_suggests_nothing(self):
        r = run([binary("CONFAB"), "xyzzyplugh"])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("unknown command 'xyzzyplugh'", r.stderr)
        self.assertNotIn("did you mean", r.stderr)

    def test_an_unknown_log_level_exits_2_with_the_valid_list(self):
        for env_name, args in (("CONFAB_TRACKER", ["serve", "--state", "x", "--log-level", "loud"]),
                               ("CONFAB", ["up", "--log-level", "loud"])):
            r = run([binary(env_name)] + args)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("loud", r.stderr)
            self.assertIn("trace,debug,info,warn,error,off", r.stderr)

    def test_failures_read_as_sentences_without_a_status_code_prefix(self):
        codes = ("Invalid argument|Corruption|Authentication failed|Not found|IO error|"
                 "Resource exhausted|Unavailable|Failed precondition|Closed|Permission denied|Unknown")
        with tempfile.TemporaryDirectory() as tmp:
            missing = os.path.join(tmp, "no-such-state")
            r = run([binary("CONFAB_TRACKER"), "users", "--state", missing])
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("confab-tracker: ", r.stderr)
            self.assertNotRegex(r.stderr, rf"confab-tracker: ({codes}):")
            r = run([binary("CONFAB_TRACKER"), "init", "--state", tmp + "/t", "--org", "acme",
                     "--listen", "127.0.0.1:0"])
            self.assertEqual(r.returncode, 0, r.stderr)
            r = run([binary("CONFAB_TRACKER"), "invite", "bob", "--state", tmp + "/t", "--ttl", "soon"])
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("--ttl", r.stderr)
            self.assertNotRegex(r.stderr, rf"confab-tracker: ({codes}):")


if __name__ == "__main__":
    unittest.main()
