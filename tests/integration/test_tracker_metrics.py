"""The tracker's Prometheus endpoint, scraped from the real daemon."""
import os
import re
import select
import socket
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


class TrackerMetricsTest(TempDirTest):
    def setUp(self):
        super().setUp()
        self.probe = None
        self.tracker = TrackerProcess(os.path.join(self.tmp, "state"))
        self.tracker.init("[metrics]\nlisten = '127.0.0.1:0'\n")
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
