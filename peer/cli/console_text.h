// The console's words, sans I/O: what a typed line means (ParseConsoleLine)
// and how the node's answers and events read on screen (Format*). The
// console (peer/console.h) does the terminal and the socket work.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "proto/control.pb.h"

namespace confab::peer::console {

enum class CommandKind {
  kNothing,   // an empty line
  kMessage,   // /msg NAME TEXT, or a plain line while a conversation is open
  kOpen,      // /open NAME: plain lines go to NAME from now on
  kClose,     // /close: back to commands only
  kWho,       // /who
  kStatus,    // /status online|away|busy|invisible [TEXT]
  kHistory,   // /history [NAME]  (NAME defaults to the open conversation)
  kContacts,  // /contacts, or /contacts add|remove|block|unblock NAME (word: the action)
  kVerify,    // /verify NAME
  kAccept,    // /accept ID [DIR]: an offered file (name: the id, text: the directory)
  kReject,    // /reject ID: refuse an offered file (name: the id)
  kSend,      // /send NAME FILE: offer a file (text: the path as typed, may hold spaces)
  kUnread,    // /unread: open the first conversation with unread messages
  kGroups,    // /groups: your groups and their members
  kHelp,      // /help
  kQuit,      // /quit (or end of input)
  kError,     // anything else: `error` says what was wrong
};

struct Command {
  CommandKind kind = CommandKind::kNothing;
  std::string name;   // the contact, or "#GROUP" for a group
  std::string text;   // the message, or the status note
  std::string word;   // /status's word, or /contacts' action ("" to list)
  std::string error;  // kError: a sentence for the person
};

// What `line` asks for, `open` being the open conversation ("" if none).
Command ParseConsoleLine(std::string_view line, const std::string& open);

// Tab completion: the words that may replace `word`, given the text of the
// line before it (`before`) and the contact names known so far. A command
// for the first word ("/ms" -> "/msg"), a name for the one after /msg,
// /open, /history, /verify or /send (`names` may hold "#GROUP"s; /verify and
// /send take only members); nothing elsewhere (message text).
std::vector<std::string> Completions(std::string_view before, std::string_view word,
                                     const std::set<std::string>& names);

// The /help text, several lines, each ending in '\n'.
std::string HelpText();

// What may go to the history file on disk for `line`: message text never
// does (history at rest is encrypted in confab.db; a plain file must not
// undo that), so "/msg bob hi" keeps "/msg bob " and a plain line nothing.
std::optional<std::string> PersistableLine(std::string_view line);

// `text` made safe to print on a terminal: a peer's text must not drive it.
// C0 controls and DEL become caret notation (ESC -> "^["), C1 controls
// (U+0080-U+009F) become '?', and a newline continues indented, so a
// message cannot forge a line that looks like another message.
std::string Printable(std::string_view text);

// "HH:MM" in local time.
std::string ClockTime(int64_t unix_ms);
// `unix_ms` in local time, as strftime's `format` writes it ("?" when the
// result does not fit 63 bytes).
std::string LocalTime(int64_t unix_ms, const char* format);

// Remembers the outgoing messages seen in this session (id -> to, text), so
// a state change can name the message rather than an id.
class SentMessages {
 public:
  void Remember(const proto::HistoryEntry& entry);
  // "bob: \"hi\"" or, for a message not seen here, "bob: message 1a2b3c4d".
  std::string Describe(const proto::MessageStateEvent& change) const;

 private:
  std::map<std::string, std::string> text_by_id_;
};

// Date lines, so times read unambiguously across days: Before(ms) gives
// "--- Thu 2026-12-03 ---" (local time) for the first message shown and for
// each one whose local day differs from the previous one's; else nothing.
class DayLines {
 public:
  std::optional<std::string> Before(int64_t unix_ms);

 private:
  std::string last_day_;  // "%Y-%m-%d" of the previous message, "" before the first
};

// How a line is coloured on a terminal.
enum class Tone {
  kPlain,
  kIncoming,  // someone's message to us
  kOutgoing,  // ours, and their state changes
  kNotice,    // presence, the tracker link, transfers going well ("*", "***", ">>>")
  kAlarm,     // key changes, revocations, failures ("!!!")
  kDim,       // date lines
};
// The tone of `event` as FormatEvent writes it.
Tone ToneOf(const proto::Event& event, const std::string& self);
// `text` in `tone`'s SGR colour and reset after, or `text` itself when
// `on` is false or the tone is plain.
std::string Paint(const std::string& text, Tone tone, bool on);
// Whether to colour: stdout a terminal, NO_COLOR unset or empty
// (no-color.org), TERM not "dumb" (null: unset).
bool ColourWanted(bool stdout_is_tty, const char* no_color, const char* term);

// `bytes` for people: "512.0 B", "1.5 MiB".
std::string HumanSize(double bytes);

// One event as one or more lines (no trailing newline). `self` is our name.
// An incoming file offer names the command that accepts it.
std::string FormatEvent(const proto::Event& event, const std::string& self, SentMessages& sent);
// One history entry as /history shows it.
std::string FormatEntry(const proto::HistoryEntry& entry);
// One contact's presence as /who shows it.
std::string FormatPresence(const proto::ContactPresence& presence);
// One group as /groups shows it: "#team (admin): alice, bob, carol", with
// "  (3 unread)" after it when some are.
std::string FormatGroup(const proto::GroupEntry& group);
// Whether `name` names a group ("#team") rather than a member.
bool IsGroupName(std::string_view name);

}  // namespace confab::peer::console
