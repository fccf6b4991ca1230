"""Every `--json` output of `confab` and `confab-tracker`, from the real
binaries, checked against its schema in docs/json/ (docs/json.md describes
them), with the vocabulary they share: names as name/from/to, times as
ISO-8601 UTC plus `_unix_ms`, ids as lower-case hex. Also: `status --json`
shows our own presence and certificate expiry, transfer ids accept unique
prefixes, and `history --since` / `export --since` take the same unit
(Unix seconds or ISO-8601). Real tracker and nodes on 127.0.0.1."""
import datetime
import json
import os
import subprocess
import time
import unittest

from harness import PairTest, binary, confab_env, make_file, wait_until
from json_schema import Schemas

EXIT_FAILED = 1
EXIT_USAGE = 2
SCHEMA_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "json")


def iso(unix_seconds):
    return datetime.datetime.fromtimestamp(unix_seconds, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


class JsonSchemaTest(PairTest):
    used = set()

    def setUp(self):
        super().setUp()
        self.schemas = Schemas(SCHEMA_DIR)
        self.carol = self.member("carol")  # enrolled, never started: messages to her queue
        self.alice.start()
        self.bob.start()

    def check(self, value, schema):
        JsonSchemaTest.used.add(schema)
        errors = self.schemas.errors(value, schema)
        self.assertEqual(errors, [], f"{schema}: {json.dumps(value)[:2000]}")
        return value

    def json_of(self, node, schema, *args):
        return self.check(node.cli_json(*args), schema)

    def json_lines(self, r, schema):
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = [json.loads(line) for line in r.stdout.splitlines()]
        for line in lines:
            self.check(line, schema)
        return lines

    def test_every_message_and_presence_command_matches_its_schema(self):
        start = int(time.time()) - 2
        sent = self.json_of(self.alice, "msg.schema.json", "msg", "bob", "hello \u00e9\u00e8 \"q\"")
        self.assertEqual(sent["to"], "bob")
        r = subprocess.run([binary("CONFAB"), "msg", "bob", "--stdin", "--json"],
                           env=confab_env(self.alice.home), input="one\ntwo\n",
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(len(self.json_lines(r, "msg.schema.json")), 2)
        got = wait_until(lambda: [m for m in self.bob.history("alice") if m["text"] == "two"],
                         15, what="bob receives the batch")
        history = self.json_of(self.bob, "history.schema.json", "history", "alice")
        self.assertEqual([m["text"] for m in history], ["hello \u00e9\u00e8 \"q\"", "one", "two"])
        first = history[0]
        self.assertEqual((first["from"], first["to"], first["state"]), ("alice", "bob", "received"))
        self.assertEqual(first["id"], sent["id"])
        self.assertEqual(datetime.datetime.strptime(first["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
                         .replace(tzinfo=datetime.timezone.utc).timestamp() * 1000,
                         first["time_unix_ms"])
        self.assertEqual(got[0]["seq"], history[2]["seq"])

        # --since: the same unit in history and export, seconds or ISO-8601
        for since in (str(start), iso(start)):
            h = self.json_of(self.alice, "history.schema.json", "history", "bob", "--since", since)
            self.assertEqual(len(h), 3, since)
            r = self.alice.cli("export", "--since", since)
            self.assertEqual(len(self.json_lines(r, "export.schema.json")), 3, since)
        later = iso(int(time.time()) + 3600)
        self.assertEqual(self.alice.cli_json("history", "bob", "--since", later), [])
        self.assertEqual(self.alice.cli("export", "--since", later).stdout, "")
        for command in ("history", "export"):
            args = [command, "bob"] if command == "history" else [command]
            r = self.alice.cli(*args, "--since", "yesterday")
            self.assertEqual(r.returncode, EXIT_USAGE, r.stdout + r.stderr)
            self.assertIn("Unix seconds, or ISO-8601", r.stderr)

        # the outbox: a message to carol, whose node is not running, waits
        queued = self.json_of(self.alice, "msg.schema.json", "msg", "carol", "later")
        outbox = self.json_of(self.alice, "outbox.schema.json", "outbox")
        self.assertEqual([(m["id"], m["from"], m["to"]) for m in outbox],
                         [(queued["id"], "alice", "carol")])
        dropped = self.json_of(self.alice, "outbox-drop.schema.json", "outbox", "drop",
                               queued["id"][:6])
        self.assertEqual(dropped["id"], queued["id"])

        # presence, ours included
        who = wait_until(lambda: [p for p in self.json_of(self.alice, "who.schema.json", "who")
                                  if p["name"] == "bob" and p["online"]], 15, what="bob online")
        self.assertEqual(who[0]["status"], "online")
        verbose = self.json_of(self.alice, "who-verbose.schema.json", "who", "--verbose")
        self.assertIn("path", [p for p in verbose if p["name"] == "bob"][0])
        status = self.json_of(self.alice, "status.schema.json", "status")
        self.assertEqual((status["name"], status["status"], status["text"]),
                         ("alice", "online", ""))
        self.assertGreater(status["certificate_expires_unix_ms"], time.time() * 1000)
        self.json_of(self.alice, "status-set.schema.json", "status", "away", "lunch")
        status = self.json_of(self.alice, "status.schema.json", "status", "--verbose")
        self.assertEqual((status["status"], status["text"]), ("away", "lunch"))
        wait_until(lambda: [p for p in self.bob.cli_json("who")
                            if p["name"] == "alice" and p["status"] == "away"], 15,
                   what="bob sees alice away")

        # the contact book
        added = self.json_of(self.alice, "contacts-change.schema.json", "contacts", "add", "carol")
        self.assertEqual(added["name"], "carol")
        self.json_of(self.alice, "contacts.schema.json", "contacts")
        self.assertTrue(self.json_of(self.alice, "contacts-change.schema.json", "contacts",
                                     "block", "carol")["blocked"])
        self.assertFalse(self.json_of(self.alice, "contacts-change.schema.json", "contacts",
                                      "unblock", "carol")["blocked"])
        self.assertTrue(self.json_of(self.alice, "contacts-change.schema.json", "contacts",
                                     "remove", "carol")["removed"])
        verify = self.json_of(self.alice, "verify.schema.json", "verify", "bob")
        self.assertTrue(verify["safety_number"])

        # the tracker's members
        r = self.tracker.cmd("users", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        users = {u["name"]: u for u in self.check(json.loads(r.stdout), "tracker-users.schema.json")}
        self.assertEqual(users["alice"]["certificate_expires_unix_ms"],
                         status["certificate_expires_unix_ms"])
        self.assertIsNone(users["carol"]["last_seen"])
        self.assertIsNotNone(users["alice"]["enrolled"])

        # the tracker's mailbox (issue 14): nothing deposited yet
        r = self.tracker.cmd("mailbox", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        mailbox = self.check(json.loads(r.stdout), "tracker-mailbox.schema.json")
        self.assertEqual((mailbox["envelopes"], mailbox["bytes"], mailbox["top"]), (0, 0, []))
        self.assertTrue(mailbox["enabled"])

    def test_transfer_commands_match_their_schema_and_take_id_prefixes(self):
        os.makedirs(self.downloads)
        src = make_file(os.path.join(self.tmp, "report.bin"), 300_000)
        before_ms = int(time.time() * 1000) - 1000
        r = self.alice.cli("send", "bob", src, "--detach", "--json")
        offer = self.json_lines(r, "send.schema.json")[0]
        tid = offer["id"]
        incoming = wait_until(lambda: [t for t in self.json_of(self.bob, "transfers.schema.json",
                                                                "transfers") if t["id"] == tid],
                              15, what="bob sees the offer")[0]
        self.assertEqual((incoming["from"], incoming["to"], incoming["peer"],
                          incoming["direction"]), ("alice", "bob", "alice", "in"))
        self.assertGreaterEqual(incoming["created_unix_ms"], before_ms)

        # prefixes: too short or not hex is refused, an unknown one is not found
        for bad, why in (("ab", "4 to 32 hex digits"), ("zzzz", "4 to 32 hex digits")):
            r = self.bob.cli("accept", bad)
            self.assertEqual(r.returncode, EXIT_FAILED, r.stdout + r.stderr)
            self.assertIn(why, r.stderr)
        unknown = next(p for p in ("0000", "1111", "2222") if not tid.startswith(p))
        r = self.bob.cli("accept", unknown)
        self.assertEqual(r.returncode, EXIT_FAILED, r.stdout + r.stderr)
        self.assertIn("no transfer has an id starting with " + unknown, r.stderr)

        r = self.bob.cli("accept", tid[:5].upper(), "--to", self.downloads, "--follow", "--json",
                         timeout=60)
        lines = self.json_lines(r, "transfer.schema.json")
        done = lines[-1]
        self.assertEqual((done["id"], done["state"], done["bytes_done"]), (tid, "completed", 300_000))
        self.assertGreaterEqual(done["updated_unix_ms"], done["created_unix_ms"])
        ours = [t for t in self.json_of(self.alice, "transfers.schema.json", "transfers")
                if t["id"] == tid][0]
        self.assertEqual((ours["from"], ours["to"], ours["direction"]), ("alice", "bob", "out"))

        # cancel and reject by prefix, with the transfer as JSON
        r = self.alice.cli("send", "bob", src, "--detach", "--json")
        second = self.json_lines(r, "send.schema.json")[0]["id"]
        wait_until(lambda: [t for t in self.bob.cli_json("transfers") if t["id"] == second], 15,
                   what="the second offer")
        rejected = self.json_of(self.bob, "transfer.schema.json", "reject", second[:8])
        self.assertEqual((rejected["id"], rejected["state"]), (second, "rejected"))

    @classmethod
    def tearDownClass(cls):
        # Every command schema in docs/json/ was exercised (the shared
        # pieces, message/transfer/contact/presence, through them).
        shared = {"message.schema.json", "contact.schema.json", "presence.schema.json"}
        files = {f for f in os.listdir(SCHEMA_DIR) if f.endswith(".schema.json")}
        missing = files - shared - cls.used
        if len(cls.used) > 0 and missing and cls._both_ran():
            raise AssertionError(f"schemas no test checked: {sorted(missing)}")

    @classmethod
    def _both_ran(cls):
        return {"send.schema.json", "status.schema.json"} <= cls.used


if __name__ == "__main__":
    unittest.main()
