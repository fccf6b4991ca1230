"""sd_notify(3) from both daemons, as systemd's Type=notify sees it: the test
owns the datagram socket NOTIFY_SOCKET names and reads what arrives, with the
sender's pid from SCM_CREDENTIALS."""
import os
import socket
import struct

from harness import NodeProcess, OrgTest, TrackerProcess, confab_join


class Notifications:
    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)

    def next(self, timeout=15):
        """(sender pid, {key: value}) of the next datagram; None on timeout."""
        self.sock.settimeout(timeout)
        try:
            data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
        except socket.timeout:
            return None
        pid = None
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("3i", payload[:12])[0]
        fields = dict(line.split("=", 1) for line in data.decode().splitlines() if line)
        return pid, fields

    def close(self):
        self.sock.close()


class SdNotifyTest(OrgTest):
    def setUp(self):
        if os.environ.get("CONFAB_SYSTEMD") not in ("1", "TRUE", "ON"):
            self.skipTest("CONFAB_SKIP: built without libsystemd (libsystemd-dev)")
        super().setUp()
        self.notify = Notifications(os.path.join(self.tmp, "notify.sock"))
        self.others = []

    def tearDown(self):
        for t in self.others:
            t.stop(timeout=10)
        self.notify.close()
        super().tearDown()

    def with_notify(self, start):
        os.environ["NOTIFY_SOCKET"] = self.notify.path
        try:
            return start()
        finally:
            del os.environ["NOTIFY_SOCKET"]

    def test_the_tracker_says_ready_once_serving_and_stopping_on_sigterm(self):
        tracker = TrackerProcess(os.path.join(self.tmp, "notified"))
        self.others.append(tracker)
        tracker.init()
        port = self.with_notify(tracker.start)
        pid, fields = self.notify.next()
        self.assertEqual(pid, tracker.proc.pid)
        self.assertEqual(fields.get("READY"), "1", fields)
        self.assertIn(f"port {port}", fields.get("STATUS", ""))
        socket.create_connection(("127.0.0.1", port), timeout=5).close()  # serving
        self.assertEqual(tracker.stop(), 0)
        pid, fields = self.notify.next()
        self.assertEqual(fields, {"STOPPING": "1"})
        self.assertIsNone(self.notify.next(timeout=0.5))

    def test_a_tracker_that_cannot_start_never_says_ready(self):
        tracker = TrackerProcess(os.path.join(self.tmp, "clash"),
                                 listen=f"127.0.0.1:{self.tracker.port}")  # taken
        tracker.init()
        os.environ["NOTIFY_SOCKET"] = self.notify.path
        try:
            r = tracker.cmd("serve", timeout=30)
        finally:
            del os.environ["NOTIFY_SOCKET"]
        self.assertNotEqual(r.returncode, 0)
        self.assertIsNone(self.notify.next(timeout=1))

    def test_the_node_says_ready_once_up_and_stopping_on_sigterm(self):
        home = os.path.join(self.tmp, "alice")
        r = confab_join(home, self.tracker.invite("alice"))
        self.assertEqual(r.returncode, 0, r.stderr)
        node = NodeProcess(home, "alice")
        self.nodes.append(node)
        port = self.with_notify(node.start)
        pid, fields = self.notify.next()
        self.assertEqual(pid, node.proc.pid)
        self.assertEqual(fields.get("READY"), "1", fields)
        self.assertEqual(fields.get("STATUS"), "node up as alice")
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        self.assertEqual(node.cli("status").returncode, 0, node.log())
        self.assertEqual(node.stop(), 0)
        pid, fields = self.notify.next()
        self.assertEqual(fields, {"STOPPING": "1"})
