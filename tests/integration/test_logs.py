"""Log formats and what the tracker logs (issue 18). With stderr a file or a
pipe, every line starts with a UTC ISO-8601 time ending in Z; with stderr
the journal (JOURNAL_STREAM names its device and inode, as systemd sets
it), lines carry a `<N>` syslog priority and no timestamp. The tracker logs
joins, refused joins and sessions, sessions opened and closed, and
revocations at info. Real tracker and node on 127.0.0.1."""
import os
import re
import signal
import subprocess
import unittest

from harness import (NodeProcess, TempDirTest, TrackerProcess, binary, confab_env,
                     confab_join, wait_until)

UTC_LINE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z (trace|debug|info |warn |"
                      r"error|critical) \S+: ")
JOURNAL_LINE = re.compile(r"^<[2-7]>[a-z_-]+: ")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def journal_stream(path):
    st = os.stat(path)
    return f"{st.st_dev}:{st.st_ino}"


def read(path):
    with open(path) as f:
        return f.read()


class LogsTest(TempDirTest):
    def setUp(self):
        super().setUp()
        self.tracker = TrackerProcess(os.path.join(self.tmp, "state"))
        self.tracker.init()
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
        self.tracker.stop(timeout=10)
        super().tearDown()

    def start_with_journal(self, args, env, log_path, ready):
        """Runs `args` with stderr a file that JOURNAL_STREAM names."""
        log = open(log_path, "w")
        env = dict(env, JOURNAL_STREAM=journal_stream(log_path))
        p = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=log)
        log.close()
        self.procs.append(p)
        wait_until(lambda: ready(read(log_path)), 15, what=f"{args[1]} ready: {read(log_path)}")
        return p

    def test_the_tracker_logs_joins_sessions_and_revocations_in_utc(self):
        self.tracker.start()
        code = self.tracker.invite("alice")
        home = os.path.join(self.tmp, "alice")
        self.assertEqual(confab_join(home, code).returncode, 0)
        # the same code again: a refused join
        r = confab_join(os.path.join(self.tmp, "again"), code)
        self.assertNotEqual(r.returncode, 0)
        node = NodeProcess(home, "alice")
        node.start()
        wait_until(lambda: re.search(r"session \d+ opened: alice from 127\.0\.0\.1",
                                     self.tracker.log()),
                   15, what=f"session opened in {self.tracker.log()}")
        node.stop()
        wait_until(lambda: re.search(r"session \d+ closed: alice", self.tracker.log()), 15,
                   what=f"session closed in {self.tracker.log()}")
        self.assertEqual(self.tracker.cmd("revoke", "alice", "--reason", "left").returncode, 0)
        p = subprocess.Popen([binary("CONFAB"), "up", "--listen", "127.0.0.1:0"],
                             env=confab_env(home), stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        wait_until(lambda: "session refused for alice" in self.tracker.log(), 15,
                   what=f"the refused session in {self.tracker.log()}")
        log = self.tracker.log()
        self.assertRegex(log, r"joined: alice from 127\.0\.0\.1 \(certificate serial \d+\)")
        self.assertRegex(log, r"join refused from 127\.0\.0\.1: invite code already used \(join_used_or_expired\)")
        self.assertIn("revoked alice: left", log)
        self.assertRegex(log, r"session refused for alice from 127\.0\.0\.1: membership "
                              r"revoked \(session_revoked\)")
        lines = [line for line in log.splitlines() if line]
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, UTC_LINE)
        # The node's own log is in UTC too.
        node_lines = [line for line in node.log().splitlines() if UTC_LINE.match(line)]
        self.assertTrue(node_lines, node.log())

    def test_with_stderr_the_journal_lines_carry_a_priority_and_no_timestamp(self):
        tracker_log = os.path.join(self.tmp, "tracker-journal.log")
        self.start_with_journal([binary("CONFAB_TRACKER"), "serve", "--state", self.tracker.state],
                                dict(os.environ), tracker_log, lambda t: "serving on" in t)
        addr = wait_until(lambda: read(os.path.join(self.tracker.state, "tracker.addr")).strip(),
                          10, what="tracker.addr")
        self.assertTrue(addr)
        home = os.path.join(self.tmp, "bob")
        code = self.tracker.invite("bob")
        self.assertEqual(confab_join(home, code).returncode, 0)
        node_log = os.path.join(self.tmp, "node-journal.log")
        node = self.start_with_journal([binary("CONFAB"), "up", "--listen", "127.0.0.1:0"],
                                       confab_env(home), node_log, lambda t: "node up as bob" in t)
        wait_until(lambda: "joined: bob" in read(tracker_log), 10, what="the join logged")
        for path in (tracker_log, node_log):
            lines = [line for line in read(path).splitlines() if line]
            self.assertTrue(lines, path)
            for line in lines:
                self.assertRegex(line, JOURNAL_LINE, path)
                self.assertNotRegex(line, TIMESTAMP, path)
                self.assertNotIn("\x1b[", line, path)  # no colour codes in the journal
        # `confab up`'s own lines go through the logger too, at info.
        self.assertRegex(read(node_log), r"(?m)^<6>confab: node up as bob; peers on ")
        node.send_signal(signal.SIGTERM)
        self.assertEqual(node.wait(15), 0)
        self.assertRegex(read(node_log), r"(?m)^<6>confab: node stopped$")
        self.assertRegex(read(tracker_log), r"(?m)^<6>confab-tracker: org 'Demo' serving on")
        self.assertRegex(read(tracker_log), r"(?m)^<6>confab-tracker: joined: bob")

    def test_confab_up_failing_under_the_journal_logs_at_error_priority(self):
        home = os.path.join(self.tmp, "nobody")
        os.makedirs(home)
        log_path = os.path.join(self.tmp, "up-fail.log")
        with open(log_path, "w") as log:
            r = subprocess.run([binary("CONFAB"), "up", "--listen", "127.0.0.1:0"],
                               env=dict(confab_env(home), JOURNAL_STREAM=journal_stream(log_path)),
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                               timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(read(log_path), r"(?m)^<3>confab: .* is not enrolled; run `confab join CODE` first$")

    def test_journal_stream_naming_another_file_keeps_the_utc_format(self):
        other = os.path.join(self.tmp, "other")
        open(other, "w").close()
        tracker_log = os.path.join(self.tmp, "tracker-not-journal.log")
        log = open(tracker_log, "w")
        p = subprocess.Popen([binary("CONFAB_TRACKER"), "serve", "--state", self.tracker.state],
                             env=dict(os.environ, JOURNAL_STREAM=journal_stream(other)),
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
        log.close()
        self.procs.append(p)
        wait_until(lambda: "serving on" in read(tracker_log), 15, what="the tracker up")
        first = read(tracker_log).splitlines()[0]
        self.assertRegex(first, UTC_LINE)


if __name__ == "__main__":
    unittest.main()
