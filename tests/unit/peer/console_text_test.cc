// The console's words: what typed lines mean, what reaches the history file,
// and how events read.
#include "peer/cli/console_text.h"

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
      {"/msg bob", "", "usage: /msg NAME TEXT"},
      {"/msg", "", "usage: /msg NAME TEXT"},
      {"/open", "", "usage: /open NAME"},
      {"/open bob carol", "", "usage: /open NAME"},
      {"/who now", "", "usage: /who"},
      {"/status sleepy", "", "usage: /status"},
      {"/status", "", "usage: /status"},
      {"/history", "", "usage: /history NAME"},
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

}  // namespace
}  // namespace confab::peer::console
