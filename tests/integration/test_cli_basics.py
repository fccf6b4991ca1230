"""The two binaries answer --help and --version, and refuse nonsense clearly."""
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
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("no-such-option", r.stderr + r.stdout)

    def test_the_tracker_asks_for_a_subcommand(self):
        r = run([binary("CONFAB_TRACKER")])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("subcommand", r.stderr + r.stdout)


if __name__ == "__main__":
    unittest.main()
