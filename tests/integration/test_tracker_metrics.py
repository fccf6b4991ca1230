"""The tracker's Prometheus endpoint, scraped from the real daemon."""
import os
import re
import select
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

from harness import Probe, TempDirTest, TrackerProcess, confab_join, wait_until


def scrape(port, path="/metrics"):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read().decode()


def sample(text, name, labels=None):
    """The value of one series, or None."""
    key = name + ("{" + labels + "}" if labels else "")
    for line in text.splitlines():
        if line.startswith(key + " "):
            return float(line.split()[-1])
    return None


LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{" + LABEL + "(?:," + LABEL + r")*\})? (\S+)$")


def check_exposition(text):
    """Text format 0.0.4, strictly: every sample's family has one HELP and one
    TYPE line before it, families are not split, values parse as floats.
    Returns {name: [(labels, value)]}; raises AssertionError on a bad line."""
    assert text.endswith("\n"), "exposition must end with a newline"
    families, typed, helped, done, current = {}, {}, set(), set(), None
    for line in text.splitlines():
        m = re.match(r"^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$", line)
        if m:
            kind, name, rest = m.groups()
            if name != current:
                assert name not in done, f"family {name} split: {line!r}"
                if current:
                    done.add(current)
                current = name
            if kind == "TYPE":
                assert name not in typed, f"second TYPE for {name}"
                assert rest in ("counter", "gauge", "histogram", "summary", "untyped"), line
                typed[name] = rest
            else:
                assert name not in helped, f"second HELP for {name}"
                helped.add(name)
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m.groups()
        assert name == current and name in typed and name in helped, f"{name} not announced"
        float(value)  # raises on a bad value
        families.setdefault(name, []).append((labels or "", float(value)))
    return families


class TrackerMetricsTest(TempDirTest):
    def setUp(self):
        super().setUp()
        self.probe = None
        self.tracker = TrackerProcess(os.path.join(self.tmp, "state"))
        self.tracker.init("[metrics]\nlisten = '127.0.0.1:0'\n")
        self.started_at = time.time()
        self.tracker.start()
        self.port = int(wait_until(
            lambda: (re.search(r"metrics on port (\d+)", self.tracker.log()) or [None, None])[1],
            what="metrics port in the log"))

    def tearDown(self):
        if self.probe:
            self.probe.kill()
        self.tracker.stop(timeout=10)
        super().tearDown()

    def test_metrics_count_members_handshakes_and_refusals(self):
        status, content_type, text = scrape(self.port)
        self.assertEqual(status, 200)
        self.assertIn("text/plain", content_type)
        self.assertEqual(sample(text, "confab_tracker_online_members"), 0)
        self.assertIn("# TYPE confab_tracker_handshakes_total counter", text)
        self.assertGreater(sample(text, "confab_tracker_resident_bytes"), 1 << 20)

        home = os.path.join(self.tmp, "home-alice")
        r = confab_join(home, self.tracker.invite("alice"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.probe = Probe(home)
        self.probe.wait_for(event="connected")
        # A reused code is refused, and counted by reason.
        code = self.tracker.invite("eve")
        r = confab_join(os.path.join(self.tmp, "home-eve"), code)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = confab_join(os.path.join(self.tmp, "home-eve2"), code)
        self.assertNotEqual(r.returncode, 0)

        _, _, text = scrape(self.port)
        self.assertEqual(sample(text, "confab_tracker_online_members"), 1)
        self.assertEqual(sample(text, "confab_tracker_joins_total"), 2)
        self.assertGreaterEqual(sample(text, "confab_tracker_handshakes_total"), 3)
        refused = [l for l in text.splitlines() if l.startswith("confab_tracker_refusals_total{")]
        self.assertTrue(refused, text)

        self.probe.send("lookup alice")
        self.probe.wait_for(event="lookup")
        _, _, text = scrape(self.port)
        self.assertEqual(sample(text, "confab_tracker_lookups_total"), 1)

    def test_process_family_and_build_info_are_exposed_and_well_formed(self):
        _, _, text = scrape(self.port)
        families = check_exposition(text)
        pid = self.tracker.proc.pid
        with open(f"/proc/{pid}/status") as f:
            rss_kb = int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1))
        rss = sample(text, "process_resident_memory_bytes")
        self.assertLess(abs(rss - rss_kb * 1024), 64 << 20, text)
        open_fds = len(os.listdir(f"/proc/{pid}/fd"))
        self.assertLess(abs(sample(text, "process_open_fds") - open_fds), 4, text)
        with open(f"/proc/{pid}/limits") as f:
            max_fds = int(re.search(r"Max open files\s+(\d+)", f.read()).group(1))
        self.assertEqual(sample(text, "process_max_fds"), max_fds)
        start = sample(text, "process_start_time_seconds")
        self.assertLess(abs(start - self.started_at), 30, text)
        self.assertGreaterEqual(sample(text, "process_cpu_seconds_total"), 0)
        self.assertGreater(sample(text, "process_virtual_memory_bytes"), rss)
        for name in ("process_cpu_seconds_total", "process_resident_memory_bytes",
                     "process_open_fds", "process_max_fds", "process_start_time_seconds"):
            self.assertIn(name, families)
        version = subprocess.run([os.environ["CONFAB_TRACKER"], "--version"], capture_output=True,
                                 text=True, check=True).stdout.split()[-1]
        self.assertEqual(families["confab_build_info"], [(f'{{version="{version}"}}', 1.0)])

    def test_promtool_accepts_the_exposition(self):
        promtool = shutil.which("promtool")
        if not promtool:
            self.skipTest("CONFAB_SKIP: promtool not installed (Debian package prometheus)")
        _, _, text = scrape(self.port)
        r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # and it can fail: a second TYPE line for one family is refused
        bad = text + "# TYPE confab_build_info gauge\n"
        r = subprocess.run([promtool, "check", "metrics"], input=bad, capture_output=True,
                           text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0, "promtool accepted a second TYPE line")

    def test_the_format_check_rejects_bad_expositions(self):
        good = "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n"
        check_exposition(good)
        for bad in ("a_total 1\n", good + "# HELP a_total A.\n", good.rstrip("\n"),
                    good + "a_total{x=\"1} 2\n", good + "a_total one\n"):
            with self.assertRaises((AssertionError, ValueError), msg=bad):
                check_exposition(bad)

    def test_only_the_metrics_path_is_served(self):
        with self.assertRaises(urllib.error.HTTPError) as e:
            scrape(self.port, "/admin")
        self.assertEqual(e.exception.code, 404)

    def test_silent_scrapers_are_cut_off_and_do_not_block_others(self):
        # More silent connections than the tracker serves at once: the excess
        # is closed at once, the rest after the request deadline (5 s), and a
        # real scrape afterwards is answered.
        silent = [socket.create_connection(("127.0.0.1", self.port), timeout=10)
                  for _ in range(24)]
        def closed_now():
            readable, _, _ = select.select(silent, [], [], 0)
            return [s for s in readable if s.recv(1) == b""]
        time.sleep(2)
        self.assertGreaterEqual(len(closed_now()), len(silent) - 16)  # the excess, at once
        wait_until(lambda: len(closed_now()) == len(silent), timeout=9,
                   what="every silent connection closed by the request deadline")
        for s in silent:
            s.close()
        status, _, _ = scrape(self.port)
        self.assertEqual(status, 200)
