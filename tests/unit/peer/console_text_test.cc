// The console's words: what typed lines mean, what reaches the history file,
// and how events read.
#include "peer/cli/console_text.h"

#include <cstdlib>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace confab::peer::console {
namespace {

TEST_CASE("Console lines: /msg, /open and plain lines to the open conversation",
          "[peer][console]") {
  Command c = ParseConsoleLine("/msg bob hi there", "");
  CHECK(c.kind == CommandKind::kMessage);
  CHECK(c.name == "bob");
  CHECK(c.text == "hi there");

  c = ParseConsoleLine("/open bob", "");
  CHECK(c.kind == CommandKind::kOpen);
  CHECK(c.name == "bob");

  c = ParseConsoleLine("  lunch at one?", "bob");
  CHECK(c.kind == CommandKind::kMessage);
  CHECK(c.name == "bob");
  CHECK(c.text == "  lunch at one?");  // sent as typed

  c = ParseConsoleLine("//etc/hosts is the file", "bob");
  CHECK(c.kind == CommandKind::kMessage);
  CHECK(c.text == "/etc/hosts is the file");

  CHECK(ParseConsoleLine("/close", "bob").kind == CommandKind::kClose);
  CHECK(ParseConsoleLine("", "bob").kind == CommandKind::kNothing);
  CHECK(ParseConsoleLine("   ", "").kind == CommandKind::kNothing);
}

TEST_CASE("Console lines: the other commands", "[peer][console]") {
  CHECK(ParseConsoleLine("/who", "").kind == CommandKind::kWho);
  CHECK(ParseConsoleLine("/contacts", "").kind == CommandKind::kContacts);
  CHECK(ParseConsoleLine("/contacts", "").word.empty());
  CHECK(ParseConsoleLine("/help", "").kind == CommandKind::kHelp);
  CHECK(ParseConsoleLine("/quit", "").kind == CommandKind::kQuit);

  Command c = ParseConsoleLine("/status away back at two", "");
  CHECK(c.kind == CommandKind::kStatus);
  CHECK(c.word == "away");
  CHECK(c.text == "back at two");
  c = ParseConsoleLine("/status busy", "");
  CHECK(c.kind == CommandKind::kStatus);
  CHECK(c.text.empty());

  c = ParseConsoleLine("/history carol", "bob");
  CHECK(c.kind == CommandKind::kHistory);
  CHECK(c.name == "carol");
  c = ParseConsoleLine("/history", "bob");  // the open conversation
  CHECK(c.kind == CommandKind::kHistory);
  CHECK(c.name == "bob");
  c = ParseConsoleLine("/history carol", "");  // a name needs no open conversation
  CHECK(c.kind == CommandKind::kHistory);
  CHECK(c.name == "carol");

  for (const char* action : {"add", "remove", "block", "unblock"}) {
    INFO(action);
    c = ParseConsoleLine(std::string("/contacts ") + action + " carol", "");
    CHECK(c.kind == CommandKind::kContacts);
    CHECK(c.word == action);
    CHECK(c.name == "carol");
  }

  c = ParseConsoleLine("/verify bob", "");
  CHECK(c.kind == CommandKind::kVerify);
  CHECK(c.name == "bob");
}

TEST_CASE("Console lines that are wrong say what to type", "[peer][console][error]") {
  const struct {
    const char* line;
    const char* open;
    const char* says;
  } cases[] = {
      {"hello", "", "/open NAME"},
      {"/msg bob", "", "usage: /msg NAME|#GROUP TEXT"},
      {"/msg", "", "usage: /msg NAME|#GROUP TEXT"},
      {"/open", "", "usage: /open NAME"},
      {"/open bob carol", "", "usage: /open NAME"},
      {"/who now", "", "usage: /who"},
      {"/status sleepy", "", "usage: /status"},
      {"/status", "", "usage: /status"},
      {"/history", "", "no conversation is open: /history NAME"},
      {"/history bob carol", "", "usage: /history [NAME|#GROUP]"},
      {"/contacts frob carol", "", "usage: /contacts [add|remove|block|unblock NAME]"},
      {"/contacts add", "", "usage: /contacts add|remove|block|unblock NAME"},
      {"/contacts add carol dave", "", "usage: /contacts add|remove|block|unblock NAME"},
      {"/verify", "", "usage: /verify NAME"},
      {"/frobnicate", "", "unknown command /frobnicate"},
  };
  for (const auto& t : cases) {
    INFO(t.line);
    const Command c = ParseConsoleLine(t.line, t.open);
    CHECK(c.kind == CommandKind::kError);
    CHECK(c.error.find(t.says) != std::string::npos);
  }
}

TEST_CASE("Console history on disk keeps commands but never message text",
          "[peer][console][privacy]") {
  CHECK(PersistableLine("/msg bob the secret plan") == std::optional<std::string>("/msg bob "));
  CHECK_FALSE(PersistableLine("the secret plan").has_value());
  CHECK_FALSE(PersistableLine("//slash text").has_value());
  CHECK_FALSE(PersistableLine("").has_value());
  CHECK(PersistableLine("/open bob") == std::optional<std::string>("/open bob"));
  CHECK(PersistableLine("/status away lunch") == std::optional<std::string>("/status away lunch"));
}

TEST_CASE("Console events read as lines, states naming the message", "[peer][console]") {
  SentMessages sent;
  proto::Event queued;
  queued.set_time_unix_ms(0);
  proto::HistoryEntry* m = queued.mutable_message();
  m->set_id("00112233445566778899aabbccddeeff");
  m->set_from("alice");
  m->set_to("bob");
  m->set_text("hi");
  m->set_state("queued");
  CHECK(FormatEvent(queued, "alice", sent).find("you -> bob: hi  [queued]") != std::string::npos);

  proto::Event delivered;
  delivered.mutable_message_state()->set_id("00112233445566778899aabbccddeeff");
  delivered.mutable_message_state()->set_contact("bob");
  delivered.mutable_message_state()->set_state("delivered");
  CHECK(FormatEvent(delivered, "alice", sent).find("bob: \"hi\" delivered") != std::string::npos);

  delivered.mutable_message_state()->set_id("ffeeddccbbaa99887766554433221100");
  CHECK(FormatEvent(delivered, "alice", sent).find("bob: message ffeeddcc delivered") !=
        std::string::npos);

  proto::Event received;
  received.mutable_message()->set_from("bob");
  received.mutable_message()->set_to("alice");
  received.mutable_message()->set_text("hello");
  received.mutable_message()->set_state("received");
  CHECK(FormatEvent(received, "alice", sent).find("bob: hello") != std::string::npos);

  proto::Event presence;
  presence.mutable_presence()->set_name("bob");
  presence.mutable_presence()->set_status("away");
  presence.mutable_presence()->set_text("lunch");
  CHECK(FormatEvent(presence, "alice", sent).find("* bob is away (lunch)") != std::string::npos);

  proto::Event key;
  key.mutable_key_change()->set_name("bob");
  CHECK(FormatEvent(key, "alice", sent).find("bob's identity key has CHANGED") !=
        std::string::npos);
}

TEST_CASE("A peer's text cannot drive the terminal or forge a line", "[peer][console][security]") {
  CHECK(Printable("plain text, UTF-8: d\xc3\xa9j\xc3\xa0 vu") ==
        "plain text, UTF-8: d\xc3\xa9j\xc3\xa0 vu");
  CHECK(Printable("\x1b]0;pwned\x07\x1b[2J") == "^[]0;pwned^G^[[2J");
  CHECK(Printable("back\rspace\x7f") == "back^Mspace^?");
  CHECK(Printable("c1 \xc2\x9b"
                  "31m") == "c1 ?31m");  // CSI as a C1 control
  CHECK(Printable("line\n10:00 bob: forged") == "line\n    10:00 bob: forged");
  CHECK(Printable("a\tb") == "a b");

  SentMessages sent;
  proto::Event received;
  received.mutable_message()->set_from("bob");
  received.mutable_message()->set_text("hi\x1b[31m");
  CHECK(FormatEvent(received, "alice", sent).find("bob: hi^[[31m") != std::string::npos);
  CHECK(FormatEvent(received, "alice", sent).find('\x1b') == std::string::npos);
}

TEST_CASE("Tab completes commands first, then contact names, never message text",
          "[peer][console]") {
  const std::set<std::string> names = {"bob", "bobby", "carol"};
  CHECK(Completions("", "/ms", names) == std::vector<std::string>{"/msg"});
  CHECK(Completions("", "/c", names) == std::vector<std::string>{"/close", "/contacts"});
  CHECK(Completions("/msg ", "bo", names) == std::vector<std::string>{"bob", "bobby"});
  CHECK(Completions("/open ", "", names) == std::vector<std::string>{"bob", "bobby", "carol"});
  CHECK(Completions("/verify ", "c", names) == std::vector<std::string>{"carol"});
  CHECK(Completions("", "bo", names).empty());           // a plain line is text
  CHECK(Completions("/msg bob ", "bo", names).empty());  // the message itself
  CHECK(Completions("/who ", "b", names).empty());
}

TEST_CASE("Groups: /msg #GROUP and /open #GROUP parse, /groups lists, /send refuses a group",
          "[peer][console][groups]") {
  Command m = ParseConsoleLine("/msg #team hello all", "");
  CHECK(m.kind == CommandKind::kMessage);
  CHECK(m.name == "#team");
  CHECK(m.text == "hello all");
  Command o = ParseConsoleLine("/open #team", "");
  CHECK(o.kind == CommandKind::kOpen);
  CHECK(o.name == "#team");
  Command plain = ParseConsoleLine("to the group", "#team");
  CHECK(plain.kind == CommandKind::kMessage);
  CHECK(plain.name == "#team");
  CHECK(ParseConsoleLine("/groups", "").kind == CommandKind::kGroups);
  CHECK(ParseConsoleLine("/g", "").kind == CommandKind::kGroups);
  CHECK(ParseConsoleLine("/groups x", "").error == "usage: /groups");
  Command send = ParseConsoleLine("/send #team /tmp/a file", "");
  CHECK(send.kind == CommandKind::kSend);
  CHECK(send.name == "#team");
  CHECK(send.text == "/tmp/a file");
  CHECK(HelpText().find("/send #GROUP FILE") != std::string::npos);
  CHECK(HelpText().find("/groups ") != std::string::npos);
  CHECK(IsGroupName("#team"));
  CHECK_FALSE(IsGroupName("team"));
  CHECK_FALSE(IsGroupName(""));

  const std::set<std::string> names = {"#team", "bob", "tom"};
  CHECK(Completions("/open ", "#", names) == std::vector<std::string>{"#team"});
  CHECK(Completions("/msg ", "", names) == std::vector<std::string>{"#team", "bob", "tom"});
  CHECK(Completions("/send ", "", names) == std::vector<std::string>{"#team", "bob", "tom"});
  CHECK(Completions("/verify ", "", names) == std::vector<std::string>{"bob", "tom"});
  CHECK(Completions("", "/gr", names) == std::vector<std::string>{"/groups"});

  proto::GroupEntry g;
  g.set_name("team");
  g.set_role("admin");
  g.add_members("alice");
  g.add_members("bob\x1b[2J");
  CHECK(FormatGroup(g) == "#team (admin): alice, bob^[[2J");
}

TEST_CASE("A peer on an older protocol reads as an alarm naming them and what to do",
          "[peer][console]") {
  SentMessages sent;
  proto::Event e;
  e.set_time_unix_ms(0);
  e.mutable_peer_outdated()->set_name("bob");
  e.mutable_peer_outdated()->set_detail("chat protocol 1\x1b[2J");
  const std::string line = FormatEvent(e, "alice", sent);
  CHECK(line.substr(line.find(' ') + 1) ==
        "!!! bob runs an older confab: messages to and from them wait until they upgrade (they "
        "were told) (chat protocol 1^[[2J)");
  CHECK(ToneOf(e, "alice") == Tone::kAlarm);
  e.mutable_peer_outdated()->clear_detail();
  const std::string bare = FormatEvent(e, "alice", sent);
  CHECK(bare.substr(bare.size() - 16) == "(they were told)");
}

TEST_CASE("A group's message reads with the group and its author", "[peer][console][groups]") {
  SentMessages sent;
  proto::Event in;
  in.set_time_unix_ms(0);
  in.mutable_message()->set_from("bob");
  in.mutable_message()->set_to("#team");
  in.mutable_message()->set_text("hi all");
  const std::string line = FormatEvent(in, "alice", sent);
  CHECK(line.substr(line.find(' ') + 1) == "#team bob: hi all");
  proto::Event out = in;
  out.mutable_message()->set_from("alice");
  out.mutable_message()->set_state("queued");
  const std::string mine = FormatEvent(out, "alice", sent);
  CHECK(mine.substr(mine.find(' ') + 1) == "you -> #team: hi all  [queued]");
}

TEST_CASE("/accept takes an offered file's id and an optional directory", "[peer][console]") {
  Command c = ParseConsoleLine("/accept 00112233445566778899aabbccddeeff", "bob");
  CHECK(c.kind == CommandKind::kAccept);
  CHECK(c.name == "00112233445566778899aabbccddeeff");
  CHECK(c.text.empty());
  c = ParseConsoleLine("/accept 0011 /home/bob/in", "");
  CHECK(c.kind == CommandKind::kAccept);
  CHECK(c.text == "/home/bob/in");
  CHECK(ParseConsoleLine("/accept", "").error == "usage: /accept ID [DIR]");
  CHECK(ParseConsoleLine("/accept a b c", "").kind == CommandKind::kError);
  CHECK(Completions("", "/ac", {}) == std::vector<std::string>{"/accept"});
  CHECK(HelpText().find("/accept ID [DIR]") != std::string::npos);
}

proto::TransferEntry File(const std::string& direction, const std::string& state) {
  proto::TransferEntry t;
  t.set_id("00112233445566778899aabbccddeeff");
  t.set_peer(direction == "in" ? "alice" : "bob");
  t.set_direction(direction);
  t.set_name("report.pdf");
  t.set_size(3 * 1024 * 1024);
  t.set_state(state);
  return t;
}

TEST_CASE("/reject takes an offer's id and /send a name and a file that may hold spaces",
          "[peer][console][transfer]") {
  Command c = ParseConsoleLine("/reject 0011aabb", "bob");
  CHECK(c.kind == CommandKind::kReject);
  CHECK(c.name == "0011aabb");
  CHECK(ParseConsoleLine("/reject", "").error == "usage: /reject ID");
  CHECK(ParseConsoleLine("/reject a b", "").error == "usage: /reject ID");

  c = ParseConsoleLine("/send bob ~/My Report.pdf ", "");
  CHECK(c.kind == CommandKind::kSend);
  CHECK(c.name == "bob");
  CHECK(c.text == "~/My Report.pdf");
  CHECK(ParseConsoleLine("/send bob", "").error == "usage: /send NAME|#GROUP FILE");
  CHECK(ParseConsoleLine("/send", "bob").error == "usage: /send NAME|#GROUP FILE");

  CHECK(Completions("", "/re", {}) == std::vector<std::string>{"/reject"});
  CHECK(Completions("/send ", "b", {"bob", "carol"}) == std::vector<std::string>{"bob"});
  CHECK(Completions("/send bob ", "b", {"bob"}).empty());  // the file
  CHECK(HelpText().find("/reject ID ") != std::string::npos);
  CHECK(HelpText().find("/send NAME FILE ") != std::string::npos);
}

TEST_CASE("An incoming offer reads with the exact command that accepts it",
          "[peer][console][transfer]") {
  SentMessages sent;
  proto::Event offered;
  *offered.mutable_transfer_offered() = File("in", "offered");
  const std::string line = FormatEvent(offered, "bob", sent);
  CHECK(line.find(">>> alice offers report.pdf (3.0 MiB): /accept "
                  "00112233445566778899aabbccddeeff (or `confab accept "
                  "00112233445566778899aabbccddeeff`)") != std::string::npos);
  CHECK(line.find("/reject 00112233445566778899aabbccddeeff to refuse") != std::string::npos);

  *offered.mutable_transfer_offered() = File("in", "active");  // auto-accepted
  CHECK(FormatEvent(offered, "bob", sent)
            .find(">>> receiving report.pdf (3.0 MiB) from alice (accepted by your policy)") !=
        std::string::npos);
  *offered.mutable_transfer_offered() = File("out", "offered");
  CHECK(FormatEvent(offered, "alice", sent).find(">>> offering report.pdf (3.0 MiB) to bob") !=
        std::string::npos);

  proto::TransferEntry hostile = File("in", "offered");
  hostile.set_name("x\x1b[2Jy");  // a peer's file name cannot drive the terminal
  *offered.mutable_transfer_offered() = hostile;
  CHECK(FormatEvent(offered, "bob", sent).find('\x1b') == std::string::npos);
}

TEST_CASE("Transfer progress and endings read as one line each", "[peer][console][transfer]") {
  SentMessages sent;
  proto::Event e;
  proto::TransferEntry t = File("in", "active");
  t.set_bytes_done(1536 * 1024);
  t.set_rate_bytes_per_s(512 * 1024);
  *e.mutable_transfer_progress() = t;
  CHECK(FormatEvent(e, "bob", sent)
            .find("  report.pdf from alice: 50% (1.5 MiB of 3.0 MiB, 512.0 KiB/s)") !=
        std::string::npos);
  t = File("out", "active");
  t.set_bytes_done(0);
  *e.mutable_transfer_progress() = t;
  CHECK(FormatEvent(e, "alice", sent).find("report.pdf to bob: 0% (0.0 B of 3.0 MiB") !=
        std::string::npos);

  t = File("in", "completed");
  t.set_path("/home/bob/Downloads/report.pdf");
  *e.mutable_transfer_completed() = t;
  CHECK(FormatEvent(e, "bob", sent)
            .find(">>> report.pdf from alice arrived: /home/bob/Downloads/report.pdf") !=
        std::string::npos);
  *e.mutable_transfer_completed() = File("out", "completed");
  CHECK(FormatEvent(e, "alice", sent).find(">>> report.pdf to bob delivered") != std::string::npos);

  t = File("in", "quarantined");
  t.set_error("scan failed (exit 2)");
  *e.mutable_transfer_quarantined() = t;
  CHECK(FormatEvent(e, "bob", sent)
            .find("!!! report.pdf from alice stays in quarantine: scan failed (exit 2)") !=
        std::string::npos);
  t = File("out", "failed");
  t.set_error("cannot read /tmp/report.pdf");
  *e.mutable_transfer_failed() = t;
  CHECK(FormatEvent(e, "alice", sent)
            .find("!!! report.pdf to bob failed: cannot read /tmp/report.pdf") !=
        std::string::npos);
  t = File("out", "rejected");
  t.set_error("rejected: rejected by bob");
  *e.mutable_transfer_stopped() = t;
  CHECK(FormatEvent(e, "alice", sent)
            .find(">>> report.pdf to bob rejected: rejected: rejected by bob") !=
        std::string::npos);
}

TEST_CASE("Sizes read in binary units with one decimal", "[peer][console]") {
  CHECK(HumanSize(0) == "0.0 B");
  CHECK(HumanSize(1023) == "1023.0 B");
  CHECK(HumanSize(1536) == "1.5 KiB");
  CHECK(HumanSize(256.0 * 1024 * 1024) == "256.0 MiB");
}

TEST_CASE("Local times are written in the format asked for, and one too long says so",
          "[console]") {
  // 2026-12-02 12:00:00 UTC: the same calendar day in every time zone.
  const int64_t noon_ms = 1796212800000;
  const std::string day = LocalTime(noon_ms, "%Y-%m-%d");
  CHECK(day == "2026-12-02");
  CHECK(ClockTime(noon_ms).size() == 5);
  CHECK(ClockTime(noon_ms)[2] == ':');
  CHECK(LocalTime(noon_ms, std::string(40, 'Y').insert(0, "%Y").c_str()).size() == 44);
  CHECK(LocalTime(noon_ms, (std::string(70, '.') + "%Y").c_str()) == "?");
}

// Each "/verb ARGS" entry of /help, with its placeholders filled in
// (optional ones both left out and given, alternatives each), must parse.
TEST_CASE("Every /help entry parses as /help shows it", "[peer][console]") {
  const std::map<std::string, std::vector<std::string>> fill = {
      {"NAME", {"carol"}},        {"[NAME]", {"", "carol"}},
      {"TEXT", {"hi there"}},     {"[TEXT]", {"", "back soon"}},
      {"WORD", {"away"}},         {"ID", {"00112233445566778899aabbccddeeff"}},
      {"[DIR]", {"", "/tmp/in"}}, {"#GROUP", {"#team"}}};
  const std::string help = HelpText();
  int entries = 0;
  size_t start = 0;
  while (start < help.size()) {
    const size_t end = help.find('\n', start);
    std::string line = help.substr(start, end - start);
    start = end + 1;
    if (line.rfind("  /", 0) != 0)
      continue;
    line = line.substr(
        2, line.find("  ", 2) == std::string::npos ? std::string::npos : line.find("  ", 2) - 2);
    // Expand into every concrete line the entry stands for.
    std::vector<std::string> lines = {""};
    size_t pos = 0;
    while (pos < line.size()) {
      size_t sp = line.find(' ', pos);
      const std::string word =
          line.substr(pos, sp == std::string::npos ? std::string::npos : sp - pos);
      pos = sp == std::string::npos ? line.size() : sp + 1;
      std::vector<std::string> options;
      if (fill.count(word)) {
        options = fill.at(word);
      } else if (word.find('|') != std::string::npos) {
        size_t b = 0;
        while (b <= word.size()) {
          const size_t bar = word.find('|', b);
          options.push_back(word.substr(b, bar == std::string::npos ? std::string::npos : bar - b));
          b = bar == std::string::npos ? word.size() + 1 : bar + 1;
        }
      } else {
        options = {word};
      }
      std::vector<std::string> next;
      for (const std::string& l : lines) {
        for (const std::string& o : options)
          next.push_back(o.empty() ? l : (l.empty() ? o : l + " " + o));
      }
      lines = next;
    }
    ++entries;
    for (const std::string& l : lines) {
      INFO(l);
      const Command c = ParseConsoleLine(l, "bob");
      CHECK(c.kind != CommandKind::kError);
      CHECK(c.kind != CommandKind::kNothing);
    }
  }
  CHECK(entries >= 14);
}

TEST_CASE("A date line comes before the first message and whenever the day changes",
          "[peer][console]") {
  setenv("TZ", "UTC", 1);
  tzset();
  constexpr int64_t kDec3At2330 = 1796340600000;  // 2026-12-03 23:30 UTC, a Thursday
  constexpr int64_t kMinute = 60 * 1000;
  DayLines days;
  CHECK(days.Before(kDec3At2330) == std::optional<std::string>("--- Thu 2026-12-03 ---"));
  CHECK_FALSE(days.Before(kDec3At2330 + 20 * kMinute).has_value());  // 23:50, same day
  CHECK(days.Before(kDec3At2330 + 40 * kMinute) ==
        std::optional<std::string>("--- Fri 2026-12-04 ---"));  // 00:10 the next day
  CHECK_FALSE(days.Before(kDec3At2330 + 41 * kMinute).has_value());
  CHECK(ClockTime(kDec3At2330 + 40 * kMinute) == "00:10");
  DayLines fresh;  // each /history listing dates its first entry
  CHECK(fresh.Before(kDec3At2330 + 41 * kMinute).has_value());
}

TEST_CASE("The tracker link going down, coming back and refusing read as one line each",
          "[peer][console]") {
  SentMessages sent;
  proto::Event e;
  e.mutable_tracker_link()->set_state(proto::TrackerLinkEvent::STATE_DOWN);
  e.mutable_tracker_link()->set_reason("connection reset\x1b[2J");
  e.mutable_tracker_link()->set_retry_in_ms(1500);
  const std::string down = FormatEvent(e, "alice", sent);
  CHECK(down.find("*** tracker link down (connection reset^[[2J); retrying in 2 s") !=
        std::string::npos);
  e.mutable_tracker_link()->set_state(proto::TrackerLinkEvent::STATE_UP);
  CHECK(FormatEvent(e, "alice", sent).find("*** tracker link back") != std::string::npos);
  e.mutable_tracker_link()->set_state(proto::TrackerLinkEvent::STATE_REFUSED);
  e.mutable_tracker_link()->set_reason("membership revoked");
  CHECK(FormatEvent(e, "alice", sent).find("the tracker refused this node: membership revoked") !=
        std::string::npos);
}

TEST_CASE("A revocation names the member, and says so plainly when it is us", "[peer][console]") {
  SentMessages sent;
  proto::Event e;
  e.mutable_revoked()->set_name("bob");
  CHECK(FormatEvent(e, "alice", sent).find("!!! bob was revoked") != std::string::npos);
  e.mutable_revoked()->set_name("alice");
  e.mutable_revoked()->set_self(true);
  CHECK(FormatEvent(e, "alice", sent).find("!!! you were revoked") != std::string::npos);
}

TEST_CASE("Lines are coloured by what they say, and not at all when colour is off",
          "[peer][console]") {
  proto::Event e;
  e.mutable_message()->set_from("bob");
  CHECK(ToneOf(e, "alice") == Tone::kIncoming);
  e.mutable_message()->set_from("alice");
  CHECK(ToneOf(e, "alice") == Tone::kOutgoing);
  e.mutable_key_change()->set_name("bob");
  CHECK(ToneOf(e, "alice") == Tone::kAlarm);
  e.mutable_tracker_link()->set_state(proto::TrackerLinkEvent::STATE_DOWN);
  CHECK(ToneOf(e, "alice") == Tone::kNotice);
  e.mutable_tracker_link()->set_state(proto::TrackerLinkEvent::STATE_REFUSED);
  CHECK(ToneOf(e, "alice") == Tone::kAlarm);

  CHECK(Paint("12:00 bob: hi", Tone::kIncoming, true) == "\x1b[1;36m12:00 bob: hi\x1b[0m");
  CHECK(Paint("!!! x", Tone::kAlarm, true) == "\x1b[1;31m!!! x\x1b[0m");
  CHECK(Paint("12:00 bob: hi", Tone::kIncoming, false) == "12:00 bob: hi");
  CHECK(Paint("plain", Tone::kPlain, true) == "plain");
}

TEST_CASE("Colour is wanted on a terminal unless NO_COLOR is set or TERM is dumb",
          "[peer][console]") {
  CHECK(ColourWanted(true, nullptr, "xterm"));
  CHECK(ColourWanted(true, "", "xterm"));  // no-color.org: set and not empty
  CHECK(ColourWanted(true, nullptr, nullptr));
  CHECK_FALSE(ColourWanted(true, "1", "xterm"));
  CHECK_FALSE(ColourWanted(false, nullptr, "xterm"));
  CHECK_FALSE(ColourWanted(true, nullptr, "dumb"));
}

TEST_CASE("/unread opens the first unread conversation, and /who shows the counts",
          "[peer][console]") {
  CHECK(ParseConsoleLine("/unread", "").kind == CommandKind::kUnread);
  CHECK(ParseConsoleLine("/u", "bob").kind == CommandKind::kUnread);
  CHECK(ParseConsoleLine("/unread bob", "").error == "usage: /unread");
  CHECK(HelpText().find("/unread ") != std::string::npos);
  proto::ContactPresence p;
  p.set_name("bob");
  p.set_status("online");
  CHECK(FormatPresence(p) == "bob is online");
  p.set_unread(3);
  CHECK(FormatPresence(p) == "bob is online [3 unread]");
}

}  // namespace
}  // namespace confab::peer::console
