"""The interactive console (`confab` with no arguments on a terminal), driven
through a pseudo-terminal against two real nodes and a tracker on
127.0.0.1: typed commands reach the node, incoming messages, state changes
and presence appear as they arrive, and a half-typed line survives them."""
import os
import pty
import re
import select
import signal
import stat
import subprocess
import threading
import time
import unittest

from harness import MIB, OrgTest, PairTest, binary, confab_env, make_file, wait_until

EXIT_NO_NODE = 3
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r")


class ConsolePty:
    """`confab` on its own pseudo-terminal (its controlling terminal)."""

    def __init__(self, home, **extra_env):
        env = confab_env(home)
        env.pop("NO_COLOR", None)
        env["TERM"] = "xterm"
        env.update(extra_env)
        env["INPUTRC"] = "/dev/null"  # no personal readline settings
        exe = binary("CONFAB")
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: exec at once
            try:
                os.execve(exe, [exe], env)
            finally:
                os._exit(127)
        self.raw = b""
        self.code = None
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        while True:
            try:
                ready, _, _ = select.select([self.fd], [], [], 0.2)
                if not ready:
                    if self.code is not None:
                        return
                    continue
                data = os.read(self.fd, 65536)
            except OSError:  # EIO once the child has gone
                return
            if not data:
                return
            with self._lock:
                self.raw += data

    def bytes(self):
        """What the terminal received, as it came."""
        with self._lock:
            return self.raw

    def text(self):
        """What the terminal received, escape sequences and CRs removed."""
        with self._lock:
            return ANSI.sub(b"", self.raw).decode("utf-8", "replace")

    def mark(self):
        return len(self.text())

    def type(self, keys):
        os.write(self.fd, keys.encode())

    def wait_for(self, needle, after=0, timeout=15):
        """Waits until `needle` appears at or after offset `after`; returns its offset."""
        def found():
            i = self.text().find(needle, after)
            return i + 1 if i >= 0 else None
        try:
            return wait_until(found, timeout, what=repr(needle)) - 1
        except AssertionError:
            raise AssertionError(f"{needle!r} not on the console after {after}; "
                                 f"it shows:\n{self.text()[after:]}")

    def wait_exit(self, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.code = os.waitstatus_to_exitcode(status)
                return self.code
            time.sleep(0.05)
        raise AssertionError(f"the console did not exit; it shows:\n{self.text()}")

    def close(self):
        if self.code is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                self.wait_exit(5)
            except (ProcessLookupError, ChildProcessError):
                pass
        self._reader.join(2)
        try:
            os.close(self.fd)
        except OSError:
            pass


class ConsoleTest(OrgTest):
    def setUp(self):
        super().setUp()
        self.alice = self.member("alice")
        self.bob = self.member("bob")
        self.consoles = []

    def tearDown(self):
        for c in self.consoles:
            c.close()
        super().tearDown()

    def console(self, node, **extra_env):
        c = ConsolePty(node.home, **extra_env)
        self.consoles.append(c)
        return c

    def test_colour_and_the_bell_on_a_terminal_and_off_as_configured(self):
        self.alice.start()
        self.bob.start()
        c = self.console(self.alice)
        c.wait_for("confab> ")
        at = len(c.bytes())
        self.assertEqual(self.bob.cli("msg", "alice", "ding").returncode, 0)
        c.wait_for("bob: ding")
        wait_until(lambda: b"\x07" in c.bytes()[at:], 10, what="the bell")
        raw = c.bytes()[at:]
        self.assertRegex(raw, rb"\x1b\[1;36m\d\d:\d\d bob: ding\x1b\[0m")
        c.type("/quit\r")
        self.assertEqual(c.wait_exit(), 0)

        # NO_COLOR, and [console] bell = false: the same message, plain and silent.
        with open(os.path.join(self.alice.home, "config.toml"), "w") as f:
            f.write("[console]\nbell = false\n")
        quiet = self.console(self.alice, NO_COLOR="1")
        quiet.wait_for("confab> ")
        at = len(quiet.bytes())
        self.assertEqual(self.bob.cli("msg", "alice", "hush").returncode, 0)
        quiet.wait_for("bob: hush")
        quiet.type("/who\r")  # something after it, so a bell would have come
        quiet.wait_for("bob is online")
        raw = quiet.bytes()[at:]
        self.assertNotIn(b"\x07", raw)
        self.assertNotRegex(raw, rb"\x1b\[[0-9;]*m")
        quiet.type("/quit\r")
        self.assertEqual(quiet.wait_exit(), 0)

        # A misspelt key is refused with the place, before anything starts.
        with open(os.path.join(self.alice.home, "config.toml"), "w") as f:
            f.write("[console]\nbel = false\n")
        bad = self.console(self.alice)
        self.assertEqual(bad.wait_exit(), 1, bad.text())
        self.assertIn("unknown key 'console.bel'", bad.text())

    def test_without_a_node_it_says_how_to_start_one(self):
        c = self.console(self.alice)
        self.assertEqual(c.wait_exit(), EXIT_NO_NODE, c.text())
        self.assertIn("no node is running", c.text())
        self.assertIn("confab up", c.text())
        # Not on a terminal: usage, as before.
        r = subprocess.run([binary("CONFAB")], env=confab_env(self.alice.home),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0)
        self.assertIn("Usage", r.stdout)

    def test_chat_from_the_console_with_a_half_typed_line_kept(self):
        self.alice.start()
        self.bob.start()
        c = self.console(self.alice)
        c.wait_for("/help lists commands")
        c.wait_for("confab> ")

        # /msg: queued, then sent and delivered, shown as they change.
        at = c.mark()
        c.type("/msg bob hi bob\r")
        c.wait_for("you -> bob: hi bob  [queued]", at)
        c.wait_for('bob: "hi bob" delivered', at)
        wait_until(lambda: [m for m in self.bob.history("alice")
                            if m["text"] == "hi bob" and m["state"] == "received"],
                   15, what="hi bob in bob's history")

        # /open: plain lines go to bob. A message arrives while a line is
        # half typed: it is printed above, and the partial line is redrawn.
        at = c.mark()
        c.type("/open bob\r")
        c.wait_for("talking to bob", at)
        c.wait_for("bob> ", at)
        c.type("half typed")
        c.wait_for("half typed", at)
        at = c.mark()
        r = self.bob.cli("msg", "alice", "yo alice")
        self.assertEqual(r.returncode, 0, r.stderr)
        shown = c.wait_for("bob: yo alice", at)
        c.wait_for("bob> half typed", shown)  # redrawn after the message
        at = c.mark()
        c.type(" more\r")
        c.wait_for("you -> bob: half typed more  [queued]", at)
        wait_until(lambda: [m for m in self.bob.history("alice")
                            if m["text"] == "half typed more"],
                   15, what="the completed line in bob's history")

        # Presence changes appear as they happen.
        at = c.mark()
        self.assertEqual(self.bob.cli("status", "away", "lunch").returncode, 0)
        c.wait_for("* bob is away (lunch)", at)

        # Commands answered from the node.
        at = c.mark()
        c.type("/who\r")
        c.wait_for("bob is away (lunch)", at)
        at = c.mark()
        c.type("/history\r")  # the open conversation
        c.wait_for("alice: hi bob  [delivered]", at)
        c.wait_for("bob: yo alice", at)
        at = c.mark()
        c.type("/status busy meeting\r")
        c.wait_for("you are busy (meeting)", at)
        wait_until(lambda: [p for p in self.bob.cli_json("who")
                            if p["name"] == "alice" and p["status"] == "busy"],
                   15, what="alice busy in bob's who")
        at = c.mark()
        c.type("/ver\t")  # tab completes the command, then the name
        c.wait_for("/verify ", at)
        c.type("b\t")
        c.wait_for("/verify bob", at)
        c.type("\r")
        c.wait_for("safety number with bob:", at)
        at = c.mark()
        c.type("/frobnicate\r")
        c.wait_for("unknown command /frobnicate", at)

        c.type("/quit\r")
        self.assertEqual(c.wait_exit(), 0, c.text())

        # Line history: mode 0600, commands kept, message text never.
        path = os.path.join(self.alice.home, "console_history")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path) as f:
            saved = f.read()
        self.assertIn("/msg bob \n", saved)
        self.assertIn("/open bob\n", saved)
        self.assertNotIn("hi bob", saved)
        self.assertNotIn("half typed", saved)

        # A new console recalls the history (up arrow) and leaves on Ctrl-D.
        c2 = self.console(self.alice)
        c2.wait_for("confab> ")
        at = c2.mark()
        c2.type("\x1b[A")  # up: the last line kept, "/quit"
        c2.wait_for("/quit", at)
        c2.type("\x15\x04")  # Ctrl-U clears the line, Ctrl-D on an empty line leaves
        self.assertEqual(c2.wait_exit(), 0, c2.text())

    def test_help_forms_work_as_shown_and_days_are_dated(self):
        self.carol = self.member("carol")
        self.alice.start()
        self.bob.start()
        c = self.console(self.alice)
        c.wait_for("confab> ")
        today = "--- " + time.strftime("%a %Y-%m-%d") + " ---"

        # /history [NAME]: with nothing open it says what to type.
        at = c.mark()
        c.type("/history\r")
        c.wait_for("no conversation is open: /history NAME", at)

        # /contacts add|remove|block|unblock NAME reach the node.
        at = c.mark()
        c.type("/contacts add carol\r")
        c.wait_for("carol: added", at)
        c.type("/contacts\r")
        c.wait_for("  carol ", at)
        at = c.mark()
        c.type("/contacts block carol\r")
        c.wait_for("carol: blocked", at)
        c.type("/contacts\r")
        c.wait_for(", blocked", at)
        at = c.mark()
        c.type("/contacts unblock carol\r")
        c.wait_for("carol: unblocked", at)
        at = c.mark()
        c.type("/contacts remove carol\r")
        c.wait_for("carol: removed", at)
        at = c.mark()
        c.type("/contacts frob carol\r")
        c.wait_for("usage: /contacts [add|remove|block|unblock NAME]", at)

        # The first live message shown comes with its date; so does the
        # first entry of a /history listing.
        at = c.mark()
        self.assertEqual(self.bob.cli("msg", "alice", "morning").returncode, 0)
        dated = c.wait_for(today, at)
        c.wait_for("bob: morning", dated)
        at = c.mark()
        c.type("/history bob\r")
        dated = c.wait_for(today, at)
        c.wait_for("bob: morning", dated)

        c.type("/quit\r")
        self.assertEqual(c.wait_exit(), 0, c.text())

    def test_tracker_link_down_and_back_and_revocations_are_shown(self):
        self.alice.start()
        self.bob.start()
        a, b = self.console(self.alice), self.console(self.bob)
        a.wait_for("confab> ")
        b.wait_for("confab> ")
        self.assertNotIn("tracker link", a.text())  # the first session says nothing

        at = a.mark()
        port = self.tracker.port
        self.assertEqual(self.tracker.stop(), 0)
        down = a.wait_for("*** tracker link down (", at)
        a.wait_for("Contacts already met are still reached", down)
        self.tracker.set_listen(f"127.0.0.1:{port}")
        self.assertEqual(self.tracker.start(), port)
        back = a.wait_for("*** tracker link back", down, timeout=40)
        self.assertEqual(a.text()[at:].count("tracker link down"), 1, a.text()[at:])
        self.assertNotIn("tracker link down", a.text()[back:])

        at_a, at_b = a.mark(), b.mark()
        r = self.tracker.cmd("revoke", "bob")
        self.assertEqual(r.returncode, 0, r.stderr)
        a.wait_for("!!! bob was revoked", at_a)
        b.wait_for("!!! you were revoked", at_b)  # the tracker refuses bob's session
        self.assertNotIn("bob was revoked", b.text()[at_b:])

    def test_a_group_counts_its_unread_messages_and_enter_opens_it(self):
        self.alice.start()
        self.bob.start()
        r = self.bob.cli("group", "create", "team", "alice")
        self.assertEqual(r.returncode, 0, r.stderr)
        for text in ("team news", "more news"):
            self.assertEqual(self.bob.cli("msg", "#team", text).returncode, 0)
        wait_until(lambda: len(self.alice.history("#team")) == 2, 20, what="both at alice")
        self.assertEqual([g["unread"] for g in self.alice.cli_json("groups")], [2])
        self.assertEqual(self.bob.cli_json("groups")[0]["unread"], 0)  # ours are read

        c = self.console(self.alice)
        c.wait_for("#team (member): alice, bob  (2 unread)")
        c.wait_for("2 unread (arrived while no console was open): Enter (or /unread) opens "
                   "#team's")
        c.wait_for("confab> ")
        at = c.mark()
        c.type("\r")
        c.wait_for("talking to #team", at)
        c.wait_for("bob: more news", c.wait_for("bob: team news", at))
        c.wait_for("#team> ", at)
        wait_until(lambda: self.alice.cli_json("groups")[0]["unread"] == 0, 10,
                   what="read once shown")
        # A group message shown live is read too.
        self.assertEqual(self.bob.cli("msg", "#team", "live").returncode, 0)
        c.wait_for("bob: live", at)
        wait_until(lambda: len(self.alice.history("#team")) == 3, 10, what="live at alice")
        c.type("/quit\r")
        self.assertEqual(c.wait_exit(), 0)
        self.assertEqual(self.alice.cli_json("groups")[0]["unread"], 0)

    def test_unread_counts_on_opening_and_unread_one_command_away(self):
        self.alice.start()
        self.bob.start()
        for text in ("while you were out", "and another"):
            self.assertEqual(self.bob.cli("msg", "alice", text).returncode, 0)
        wait_until(lambda: len(self.alice.history("bob")) == 2, 15, what="both at alice")

        c = self.console(self.alice)
        c.wait_for("bob is online [2 unread]")
        c.wait_for("2 unread (arrived while no console was open): Enter (or /unread) opens "
                   "bob's")
        at = c.mark()
        c.type("/unread\r")
        c.wait_for("talking to bob", at)
        c.wait_for("bob: and another", c.wait_for("bob: while you were out", at))
        at = c.mark()
        c.type("/who\r")
        shown = c.wait_for("bob is online", at)
        self.assertNotIn("unread", c.text()[shown:shown + 40])
        at = c.mark()
        c.type("/unread\r")
        c.wait_for("nothing unread", at)

        # A message shown live is read too; one that comes with no console open is not.
        self.assertEqual(self.bob.cli("msg", "alice", "seen live").returncode, 0)
        c.wait_for("bob: seen live", at)
        c.type("/quit\r")
        self.assertEqual(c.wait_exit(), 0)
        self.assertEqual(self.bob.cli("msg", "alice", "later").returncode, 0)
        wait_until(lambda: len(self.alice.history("bob")) == 4, 15, what="later at alice")
        c2 = self.console(self.alice)
        c2.wait_for("bob is online [1 unread]")
        c2.wait_for("1 unread")
        c2.wait_for("confab> ")
        # Enter on the empty line opens it: the unread message one keystroke away.
        at = c2.mark()
        c2.type("\r")
        c2.wait_for("talking to bob", at)
        c2.wait_for("bob: later", at)
        c2.wait_for("bob> ", at)
        # With a conversation open, an empty Enter stays put (a live message
        # is read once shown, so nothing is unread here); with none open and
        # nothing unread, it says nothing.
        carol = self.member("carol")
        carol.start()
        self.assertEqual(carol.cli("msg", "alice", "from carol").returncode, 0)
        c2.wait_for("carol: from carol", at)
        wait_until(lambda: len(self.alice.history("carol")) == 1, 15, what="carol's at alice")
        at = c2.mark()
        c2.type("\r/who\r")
        c2.wait_for("carol is online", at)
        self.assertNotIn("talking to", c2.text()[at:])
        at = c2.mark()
        c2.type("/close\r\r/who\r")
        c2.wait_for("carol is online", at)
        self.assertNotIn("talking to", c2.text()[at:])
        self.assertNotIn("nothing unread", c2.text()[at:])

    def restart_tracker(self):
        port = self.tracker.port
        self.assertEqual(self.tracker.stop(), 0)
        self.tracker.set_listen(f"127.0.0.1:{port}")
        self.assertEqual(self.tracker.start(), port)

    def test_contacts_do_not_flap_offline_when_the_tracker_restarts(self):
        with open(os.path.join(self.alice.home, "config.toml"), "w") as f:
            f.write("[network]\npresence_grace_ms = 6000\n")
        self.alice.start()
        self.bob.start()
        c = self.console(self.alice)
        c.wait_for("confab> ")
        c.type("/msg bob hi\r")  # alice follows bob's presence from now on
        c.wait_for('bob: "hi" delivered')
        wait_until(lambda: [p for p in self.alice.cli_json("who")
                            if p["name"] == "bob" and p["status"] == "online"],
                   15, what="bob online in alice's who")

        # Bob's node is frozen while the tracker restarts, so alice is back
        # first and the new tracker pushes bob offline; bob is back within
        # the grace, and alice's console never shows him offline.
        at = c.mark()
        os.kill(self.bob.proc.pid, signal.SIGSTOP)
        try:
            self.restart_tracker()
            c.wait_for("*** tracker link back", at, timeout=40)
            time.sleep(0.5)  # the new tracker's first pushes
        finally:
            os.kill(self.bob.proc.pid, signal.SIGCONT)
        wait_until(lambda: "connected to the tracker" in self.bob.log().split(
            "tracker link down")[-1], 30, what="bob back on the tracker")
        time.sleep(7)  # past the grace
        self.assertNotIn("bob is offline", c.text()[at:])
        at2 = c.mark()
        c.type("/who\r")
        c.wait_for("bob is online", at2)

        # Bob really gone (frozen through the grace): shown offline once it
        # runs out, and online again when he is back.
        at = c.mark()
        os.kill(self.bob.proc.pid, signal.SIGSTOP)
        try:
            self.restart_tracker()
            back = c.wait_for("*** tracker link back", at, timeout=40)
            c.wait_for("* bob is offline", back, timeout=20)
        finally:
            os.kill(self.bob.proc.pid, signal.SIGCONT)
        c.wait_for("* bob is online", back, timeout=40)

    def test_the_console_waits_for_the_node_to_come_back(self):
        self.alice.start()
        self.bob.start()
        c = self.console(self.alice)
        c.wait_for("confab> ")
        at = c.mark()
        self.assertEqual(self.alice.stop(), 0)
        c.wait_for("the node has stopped; waiting for it to come back", at)
        at = c.mark()
        c.type("/who\r")  # answered plainly while it is away
        c.wait_for("confab: ", at)
        time.sleep(1.5)  # a few retries find nothing
        self.assertIsNone(c.code)
        self.assertEqual(os.waitpid(c.pid, os.WNOHANG), (0, 0))
        at = c.mark()
        self.alice.start()
        c.wait_for("confab: the node is back", at)
        # The new subscription carries events: bob's message shows.
        self.assertEqual(self.bob.cli("msg", "alice", "welcome back").returncode, 0)
        c.wait_for("bob: welcome back", at, timeout=30)
        # And it still waits a second time, then leaves when asked.
        at = c.mark()
        self.assertEqual(self.alice.stop(), 0)
        c.wait_for("waiting for it to come back", at)
        c.type("/quit\r")
        self.assertEqual(c.wait_exit(), 0, c.text())


    def test_groups_in_the_console_listed_opened_and_written_to(self):
        self.alice.start()
        r = self.alice.cli("group", "create", "team", "bob")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.alice.cli("msg", "#team", "from the cli").returncode, 0)
        f = os.path.join(self.tmp, "f.txt")
        with open(f, "w") as out:
            out.write("x")

        c = self.console(self.alice)
        c.wait_for("#team (admin): alice, bob")  # on opening, beside the contacts
        c.wait_for("confab> ")
        at = c.mark()
        c.type("/groups\r")
        c.wait_for("#team (admin): alice, bob", at)
        at = c.mark()
        c.type("/msg #team hello team\r")
        c.wait_for("you -> #team: hello team  [queued]", at)
        # Shown once: the node's event for our entry is the only line (a
        # command answered after it proves the event had its chance).
        c.type("/groups\r")
        c.wait_for("#team (admin)", c.wait_for("you -> #team: hello team", at))
        self.assertEqual(c.text()[at:].count("you -> #team: hello team"), 1, c.text()[at:])
        at = c.mark()
        c.type("/open #team\r")
        c.wait_for("talking to #team", at)
        c.wait_for("alice: from the cli  [queued]", at)  # each entry with its author
        c.wait_for("alice: hello team  [queued]", at)
        c.wait_for("#team> ", at)
        at = c.mark()
        c.type("plain line to the group\r")
        c.wait_for("you -> #team: plain line to the group  [queued]", at)
        at = c.mark()
        c.type(f"/send #team {f}\r")  # one offer per other member: bob
        c.wait_for("to bob (#team) as ", at)
        self.assertEqual([(t["peer"], t["name"]) for t in self.alice.cli_json("transfers")],
                         [("bob", "f.txt")])
        at = c.mark()
        c.type("/help\r")
        c.wait_for("/groups ", at)
        c.wait_for("/open #GROUP ", at)
        c.type("/quit\r")
        self.assertEqual(c.wait_exit(), 0)
        self.assertEqual([m["text"] for m in self.alice.history("#team")],
                         ["from the cli", "hello team", "plain line to the group"])
        self.assertEqual([m["from"] for m in self.alice.history("#team")], ["alice"] * 3)

class ConsoleTransferTest(PairTest):
    def setUp(self):
        super().setUp()
        self.consoles = []

    def tearDown(self):
        for c in self.consoles:
            c.close()
        super().tearDown()

    def console(self, node):
        c = ConsolePty(node.home)
        self.consoles.append(c)
        return c

    def test_send_with_progress_accept_and_reject_from_the_console(self):
        # About 2.5 s at the sender's cap: several progress lines.
        self.configure(self.alice, f"max_send_rate = {4 * MIB}\n")
        self.alice.start()
        self.bob.start()
        os.makedirs(self.downloads)
        a, b = self.console(self.alice), self.console(self.bob)
        a.wait_for("confab> ")
        b.wait_for("confab> ")
        make_file(os.path.join(self.tmp, "report.bin"), 10 * MIB)

        # Bad input: a missing file is named and nothing is offered.
        at = a.mark()
        a.type(f"/send bob {self.tmp}/nothing-here.bin\r")
        a.wait_for("cannot find " + self.tmp + "/nothing-here.bin", at)
        a.type("/send bob\r")
        a.wait_for("usage: /send NAME|#GROUP FILE", at)
        self.assertEqual(self.alice.cli_json("transfers"), [])

        # /send: the id, then the offer and progress lines on both consoles.
        at = a.mark()
        a.type(f"/send bob {self.tmp}/report.bin\r")
        a.wait_for("to bob as ", at)
        tid = re.search(r"to bob as ([0-9a-f]{32})", a.text()[at:]).group(1)
        offer = b.wait_for(f"alice offers report.bin (10.0 MiB): /accept {tid}")
        b.wait_for(f"/reject {tid} to refuse", offer)
        at_b = b.mark()
        b.type(f"/accept {tid} {self.downloads}\r")
        b.wait_for("accepted report.bin from alice", at_b)
        b.wait_for("report.bin from alice: ", at_b)  # a progress line
        b.wait_for(f"report.bin from alice arrived: {self.downloads}/report.bin", at_b, 60)
        a.wait_for("report.bin to bob: ", at)
        a.wait_for("report.bin to bob delivered", at, 60)
        progress = re.findall(r"report\.bin to bob: (\d+)% ", a.text()[at:])
        self.assertGreaterEqual(len(progress), 2, a.text()[at:])
        self.assertEqual(os.path.getsize(os.path.join(self.downloads, "report.bin")), 10 * MIB)

        # /reject: the sender's console hears it.
        make_file(os.path.join(self.tmp, "other.txt"), 3000)
        at = a.mark()
        a.type(f"/send bob {self.tmp}/other.txt\r")
        a.wait_for("to bob as ", at)
        tid = re.search(r"to bob as ([0-9a-f]{32})", a.text()[at:]).group(1)
        b.wait_for(f"/reject {tid} to refuse")
        at_b = b.mark()
        b.type(f"/reject {tid}\r")
        b.wait_for(f"rejected {tid}", at_b)
        a.wait_for("other.txt to bob rejected", at)
        at_b = b.mark()
        b.type("/reject 00000000000000000000000000000000\r")
        b.wait_for("confab: ", at_b)  # the node's refusal, shown
        self.assertFalse(os.path.exists(os.path.join(self.downloads, "other.txt")))



if __name__ == "__main__":
    unittest.main()
