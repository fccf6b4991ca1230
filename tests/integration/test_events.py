"""The control socket's event stream (SubscribeEvents) spoken from Python
with hand-made frames: a reading subscriber sees every message event; one
that never reads is dropped by the node once it falls 1 MiB behind, while
the node goes on serving."""
import os
import socket
import struct
import threading
import time
import unittest

from harness import OrgTest, wait_until

SUBSCRIBE = b"\x42\x00"  # Request{subscribe_events (8): {}}
OK = b"\x08\x01"          # Response{ok: true}


def frame(body):
    return struct.pack(">I", len(body)) + body


class Subscriber:
    def __init__(self, home):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(os.path.join(home, "node.sock"))
        self.sock.sendall(frame(SUBSCRIBE))
        self.buf = b""
        self.closed = False
        self.sock.settimeout(10)
        assert self.next_frame() == OK

    def fill(self, timeout):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1 << 20)
        except socket.timeout:
            return
        except ConnectionResetError:
            data = b""
        if not data:
            self.closed = True
        self.buf += data

    def next_frame(self):
        while True:
            if len(self.buf) >= 4:
                (n,) = struct.unpack(">I", self.buf[:4])
                if len(self.buf) >= 4 + n:
                    body, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    return body
            if self.closed:
                return None
            self.fill(10)


class EventStreamTest(OrgTest):
    def setUp(self):
        super().setUp()
        self.alice = self.member("alice")
        self.bob = self.member("bob")

    def test_a_subscriber_that_stops_reading_is_dropped_and_the_node_goes_on(self):
        self.alice.start()
        self.bob.start()
        reader = Subscriber(self.alice.home)
        stalled = Subscriber(self.alice.home)  # never reads from here on
        seen = []

        def read_all():
            while True:
                body = reader.next_frame()
                if body is None:
                    return
                if b"xxxxxxxxxx" in body:
                    seen.append(body)

        thread = threading.Thread(target=read_all, daemon=True)
        thread.start()

        text = "x" * 60000
        count = 40  # about 2.4 MB of events: past the 1 MiB bound and the kernel's buffers
        for i in range(count):
            r = self.bob.cli("msg", "alice", f"{i} {text}")
            self.assertEqual(r.returncode, 0, r.stderr)
        last = f"{count - 1} {text}"
        wait_until(lambda: [m for m in self.alice.cli_json("history", "bob", "--limit", "1")
                            if m["text"] == last], 60, what="the last message at alice")

        wait_until(lambda: len(seen) >= count, 30, what=f"{count} events at the reader")
        self.assertFalse(reader.closed)
        wait_until(lambda: "fell" in self.alice.log() and "behind" in self.alice.log(), 15,
                   what="the stalled subscriber dropped")
        while not stalled.closed:  # what was queued, then the end
            stalled.fill(10)
        self.assertEqual(self.alice.cli("who").returncode, 0)  # still serving
        reader.sock.close()
        stalled.sock.close()
        thread.join(10)


if __name__ == "__main__":
    unittest.main()
