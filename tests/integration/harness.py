"""Shared helpers for confab's integration tests.

The tests drive the real binaries, found through environment variables that
ctest sets (see tests/integration/CMakeLists.txt), and talk only to loopback.
"""
import os
import subprocess
import tempfile
import unittest


def binary(env_name):
    path = os.environ.get(env_name)
    if not path or not os.access(path, os.X_OK):
        raise unittest.SkipTest(f"{env_name} does not name an executable: {path!r}")
    return path


def shared_dir():
    return os.environ.get("CONFAB_SHARED") or os.path.join(
        os.path.dirname(__file__), "..", "..", "..", "shared")


def run(args, timeout=60, **kwargs):
    """Runs a command to completion; returns CompletedProcess with text output."""
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)


class TempDirTest(unittest.TestCase):
    """A test case with a fresh temporary directory in self.tmp."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="confab-it-")
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()
