#include "peer/cli/console_text.h"

#include <cstdio>
#include <ctime>
#include <utility>

namespace confab::peer::console {
namespace {

// Splits off the first space-separated word of `*rest` (leading spaces
// skipped); `*rest` keeps what follows the single space after it.
std::string_view NextWord(std::string_view* rest) {
  size_t start = rest->find_first_not_of(' ');
  if (start == std::string_view::npos) {
    *rest = {};
    return {};
  }
  std::string_view tail = rest->substr(start);
  const size_t end = tail.find(' ');
  std::string_view word = tail.substr(0, end);
  *rest = end == std::string_view::npos ? std::string_view{} : tail.substr(end + 1);
  return word;
}

std::string_view Trim(std::string_view text) {
  const size_t start = text.find_first_not_of(" \t");
  if (start == std::string_view::npos)
    return {};
  const size_t end = text.find_last_not_of(" \t");
  return text.substr(start, end - start + 1);
}

Command Error(std::string message) {
  Command c;
  c.kind = CommandKind::kError;
  c.error = std::move(message);
  return c;
}

Command Simple(CommandKind kind, std::string_view rest, const char* usage) {
  if (!Trim(rest).empty())
    return Error(std::string("usage: ") + usage);
  Command c;
  c.kind = kind;
  return c;
}

Command WithName(CommandKind kind, std::string_view rest, const char* usage,
                 const std::string& fallback = "") {
  std::string_view name = NextWord(&rest);
  if (name.empty() && !fallback.empty())
    name = fallback;
  if (name.empty() || !Trim(rest).empty())
    return Error(std::string("usage: ") + usage);
  Command c;
  c.kind = kind;
  c.name = std::string(name);
  return c;
}

}  // namespace

Command ParseConsoleLine(std::string_view line, const std::string& open) {
  if (Trim(line).empty())
    return {};
  if (line.front() != '/' || line.substr(0, 2) == "//") {
    if (open.empty()) {
      return Error(
          "no conversation is open: /open NAME first, or /msg NAME TEXT (/help lists commands)");
    }
    Command c;
    c.kind = CommandKind::kMessage;
    c.name = open;
    c.text = std::string(line.substr(0, 2) == "//" ? line.substr(1) : line);  // "//x" sends "/x"
    return c;
  }
  std::string_view rest = line.substr(1);
  const std::string_view verb = NextWord(&rest);
  if (verb == "msg" || verb == "m") {
    const std::string_view name = NextWord(&rest);
    if (name.empty() || Trim(rest).empty())
      return Error("usage: /msg NAME|#GROUP TEXT");
    Command c;
    c.kind = CommandKind::kMessage;
    c.name = std::string(name);
    c.text = std::string(rest);
    return c;
  }
  if (verb == "open" || verb == "o")
    return WithName(CommandKind::kOpen, rest, "/open NAME|#GROUP");
  if (verb == "close")
    return Simple(CommandKind::kClose, rest, "/close");
  if (verb == "who" || verb == "w")
    return Simple(CommandKind::kWho, rest, "/who");
  if (verb == "history" || verb == "h") {
    if (open.empty() && Trim(rest).empty())
      return Error("no conversation is open: /history NAME, or /open NAME first");
    return WithName(CommandKind::kHistory, rest, "/history [NAME|#GROUP]", open);
  }
  if (verb == "contacts") {
    const std::string_view action = NextWord(&rest);
    if (action.empty())
      return Simple(CommandKind::kContacts, rest, "/contacts [add|remove|block|unblock NAME]");
    if (action != "add" && action != "remove" && action != "block" && action != "unblock")
      return Error("usage: /contacts [add|remove|block|unblock NAME]");
    Command c = WithName(CommandKind::kContacts, rest, "/contacts add|remove|block|unblock NAME");
    c.word = std::string(action);
    return c;
  }
  if (verb == "verify")
    return WithName(CommandKind::kVerify, rest, "/verify NAME", open);
  if (verb == "accept") {
    const std::string_view id = NextWord(&rest);
    const std::string_view dir = NextWord(&rest);
    if (id.empty() || !Trim(rest).empty())
      return Error("usage: /accept ID [DIR]");
    Command c;
    c.kind = CommandKind::kAccept;
    c.name = std::string(id);
    c.text = std::string(dir);
    return c;
  }
  if (verb == "unread" || verb == "u")
    return Simple(CommandKind::kUnread, rest, "/unread");
  if (verb == "groups" || verb == "g")
    return Simple(CommandKind::kGroups, rest, "/groups");
  if (verb == "reject")
    return WithName(CommandKind::kReject, rest, "/reject ID");
  if (verb == "send") {
    const std::string_view name = NextWord(&rest);
    const std::string_view file = Trim(rest);
    if (name.empty() || file.empty())
      return Error("usage: /send NAME|#GROUP FILE");
    Command c;
    c.kind = CommandKind::kSend;
    c.name = std::string(name);
    c.text = std::string(file);
    return c;
  }
  if (verb == "help" || verb == "?")
    return Simple(CommandKind::kHelp, rest, "/help");
  if (verb == "quit" || verb == "q" || verb == "exit")
    return Simple(CommandKind::kQuit, rest, "/quit");
  if (verb == "status") {
    const std::string_view word = NextWord(&rest);
    if (word != "online" && word != "away" && word != "busy" && word != "invisible")
      return Error("usage: /status online|away|busy|invisible [TEXT]");
    Command c;
    c.kind = CommandKind::kStatus;
    c.word = std::string(word);
    c.text = std::string(Trim(rest));
    return c;
  }
  return Error("unknown command /" + std::string(verb) + " (/help lists commands)");
}

std::vector<std::string> Completions(std::string_view before, std::string_view word,
                                     const std::set<std::string>& names) {
  static constexpr std::string_view kCommands[] = {
      "/msg",    "/open",   "/close",  "/who",    "/status", "/history", "/contacts", "/verify",
      "/accept", "/reject", "/unread", "/groups", "/send",   "/help",    "/quit"};
  static constexpr std::string_view kTakesName[] = {"/msg",     "/m", "/open",   "/o",
                                                    "/history", "/h", "/verify", "/send"};
  static constexpr std::string_view kMembersOnly[] = {"/verify"};
  std::vector<std::string> out;
  const std::string_view head = Trim(before);
  if (head.empty()) {
    if (word.empty() || word.front() != '/')
      return out;  // a plain line: message text
    for (std::string_view c : kCommands) {
      if (c.substr(0, word.size()) == word)
        out.emplace_back(c);
    }
    return out;
  }
  bool takes_name = false;
  for (std::string_view c : kTakesName)
    takes_name = takes_name || head == c;
  if (!takes_name)
    return out;
  bool members_only = false;
  for (std::string_view c : kMembersOnly)
    members_only = members_only || head == c;
  for (const std::string& name : names) {
    if (members_only && IsGroupName(name))
      continue;
    if (std::string_view(name).substr(0, word.size()) == word)
      out.push_back(name);
  }
  return out;
}

std::string HelpText() {
  return "  /msg NAME TEXT       send TEXT to NAME\n"
         "  /msg #GROUP TEXT     send TEXT to a group's members\n"
         "  /open NAME           talk to NAME: plain lines go to them (/close to stop)\n"
         "  /open #GROUP         talk to a group: its messages, each with its author\n"
         "  /who                 contacts and their presence\n"
         "  /status WORD [TEXT]  online, away, busy or invisible, with a note\n"
         "  /history [NAME]      the conversation (default: the open one; or #GROUP),\n"
         "                       with states\n"
         "                       queued/sent/delivered\n"
         "  /contacts            contacts, pins and blocks\n"
         "  /contacts add|remove|block|unblock NAME\n"
         "                       change the contact list\n"
         "  /verify NAME         the safety number to compare with NAME out of band\n"
         "  /accept ID [DIR]     take an offered file (to DIR, absolute; default downloads)\n"
         "  /reject ID           refuse an offered file\n"
         "  /send NAME FILE      offer FILE to NAME; progress follows here\n"
         "  /send #GROUP FILE    offer FILE to each member of the group\n"
         "  /unread              open the first conversation with unread messages\n"
         "                       (Enter on an empty line too, when none is open)\n"
         "  /groups              your groups and their members (`confab group` changes them)\n"
         "  /help                this list\n"
         "  /quit                leave the console (the node keeps running; Ctrl-D too)\n"
         "  Tab completes commands and contact names. Start a line with // to send a\n"
         "  text that begins with /.\n";
}

std::optional<std::string> PersistableLine(std::string_view line) {
  if (Trim(line).empty() || line.front() != '/' || line.substr(0, 2) == "//")
    return std::nullopt;  // a message's text
  std::string_view rest = line.substr(1);
  const std::string_view verb = NextWord(&rest);
  if (verb == "msg" || verb == "m") {
    const std::string_view name = NextWord(&rest);
    return "/" + std::string(verb) + " " + std::string(name) + " ";
  }
  return std::string(line);
}

std::string Printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\n    ";
    } else if (c == '\t') {
      out += ' ';
    } else if (c < 0x20 || c == 0x7f) {
      out += '^';
      out += static_cast<char>(c ^ 0x40);
    } else if (c == 0xc2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      out += '?';  // a C1 control, UTF-8 encoded
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string LocalTime(int64_t unix_ms, const char* format) {
  const time_t seconds = static_cast<time_t>(unix_ms / 1000);
  tm local{};
  localtime_r(&seconds, &local);
  char text[64];
  if (std::strftime(text, sizeof text, format, &local) == 0)
    return "?";
  return text;
}

std::string ClockTime(int64_t unix_ms) {
  return LocalTime(unix_ms, "%H:%M");
}

std::optional<std::string> DayLines::Before(int64_t unix_ms) {
  std::string day = LocalTime(unix_ms, "%Y-%m-%d");
  if (day == last_day_)
    return std::nullopt;
  last_day_ = std::move(day);
  return "--- " + LocalTime(unix_ms, "%a %Y-%m-%d") + " ---";
}

void SentMessages::Remember(const proto::HistoryEntry& entry) {
  if (text_by_id_.size() >= 10000)
    text_by_id_.erase(text_by_id_.begin());  // a bound, not an order: rarely reached
  text_by_id_[entry.id()] = entry.to() + ": \"" + Printable(entry.text()) + "\"";
}

std::string SentMessages::Describe(const proto::MessageStateEvent& change) const {
  auto found = text_by_id_.find(change.id());
  if (found != text_by_id_.end())
    return found->second;
  return change.contact() + ": message " + change.id().substr(0, 8);
}

std::string FormatEntry(const proto::HistoryEntry& e) {
  std::string line = ClockTime(e.time_unix_ms()) + " " + e.from() + ": " + Printable(e.text());
  if (e.state() != "received")
    line += "  [" + e.state() + "]";
  return line;
}

std::string FormatPresence(const proto::ContactPresence& p) {
  std::string line = p.name() + " is " + p.status();
  if (p.unread() > 0)
    line += " [" + std::to_string(p.unread()) + " unread]";
  if (!p.text().empty())
    line += " (" + Printable(p.text()) + ")";
  if (p.blocked())
    line += " [blocked]";
  if (p.key_change_pending())
    line += " [KEY CHANGED: not sending; /verify " + p.name() + "]";
  return line;
}

bool IsGroupName(std::string_view name) {
  return !name.empty() && name.front() == '#';
}

std::string FormatGroup(const proto::GroupEntry& g) {
  std::string line = "#" + Printable(g.name()) + " (" + g.role() + "):";
  for (int i = 0; i < g.members_size(); ++i)
    line += (i == 0 ? " " : ", ") + Printable(g.members(i));
  if (g.unread() > 0)
    line += "  (" + std::to_string(g.unread()) + " unread)";
  return line;
}

std::string HumanSize(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %s", bytes, units[u]);
  return text;
}

namespace {

// "report.pdf from bob" or "report.pdf to bob".
std::string FileAndPeer(const proto::TransferEntry& t) {
  return Printable(t.name()) + (t.direction() == "out" ? " to " : " from ") + t.peer();
}

std::string Offered(const proto::TransferEntry& t) {
  const std::string size = HumanSize(static_cast<double>(t.size()));
  if (t.direction() == "out")
    return ">>> offering " + Printable(t.name()) + " (" + size + ") to " + t.peer();
  if (t.state() != "offered")
    return ">>> receiving " + Printable(t.name()) + " (" + size + ") from " + t.peer() +
           " (accepted by your policy)";
  return ">>> " + t.peer() + " offers " + Printable(t.name()) + " (" + size + "): /accept " +
         t.id() + " (or `confab accept " + t.id() + "`), /reject " + t.id() + " to refuse";
}

std::string Progress(const proto::TransferEntry& t) {
  const int percent = t.size() == 0 ? 100
                                    : static_cast<int>(100.0 * static_cast<double>(t.bytes_done()) /
                                                       static_cast<double>(t.size()));
  return "  " + FileAndPeer(t) + ": " + std::to_string(percent) + "% (" +
         HumanSize(static_cast<double>(t.bytes_done())) + " of " +
         HumanSize(static_cast<double>(t.size())) + ", " + HumanSize(t.rate_bytes_per_s()) + "/s)";
}

std::string Completed(const proto::TransferEntry& t) {
  if (t.direction() == "out")
    return ">>> " + FileAndPeer(t) + " delivered";
  return ">>> " + FileAndPeer(t) + " arrived: " + Printable(t.path());
}

}  // namespace

Tone ToneOf(const proto::Event& event, const std::string& self) {
  switch (event.body_case()) {
    case proto::Event::kMessage:
      return event.message().from() == self && !self.empty() ? Tone::kOutgoing : Tone::kIncoming;
    case proto::Event::kMessageState:
      return Tone::kOutgoing;
    case proto::Event::kKeyChange:
    case proto::Event::kRevoked:
    case proto::Event::kPeerOutdated:
    case proto::Event::kTransferQuarantined:
    case proto::Event::kTransferFailed:
      return Tone::kAlarm;
    case proto::Event::kTrackerLink:
      return event.tracker_link().state() == proto::TrackerLinkEvent::STATE_REFUSED ? Tone::kAlarm
                                                                                    : Tone::kNotice;
    case proto::Event::kPresence:
    case proto::Event::kTransferOffered:
    case proto::Event::kTransferCompleted:
    case proto::Event::kTransferStopped:
      return Tone::kNotice;
    case proto::Event::kTransferProgress:
      return Tone::kDim;
    case proto::Event::BODY_NOT_SET:
      break;
  }
  return Tone::kPlain;
}

std::string Paint(const std::string& text, Tone tone, bool on) {
  const char* sgr = nullptr;
  switch (tone) {
    case Tone::kPlain:
      break;
    case Tone::kIncoming:
      sgr = "1;36";  // bold cyan
      break;
    case Tone::kOutgoing:
      sgr = "32";  // green
      break;
    case Tone::kNotice:
      sgr = "33";  // yellow
      break;
    case Tone::kAlarm:
      sgr = "1;31";  // bold red
      break;
    case Tone::kDim:
      sgr = "2";
      break;
  }
  if (!on || sgr == nullptr)
    return text;
  return "\x1b[" + std::string(sgr) + "m" + text + "\x1b[0m";
}

bool ColourWanted(bool stdout_is_tty, const char* no_color, const char* term) {
  if (!stdout_is_tty)
    return false;
  if (no_color != nullptr && no_color[0] != '\0')
    return false;
  return term == nullptr || std::string_view(term) != "dumb";
}

std::string FormatEvent(const proto::Event& event, const std::string& self, SentMessages& sent) {
  const std::string at = ClockTime(event.time_unix_ms()) + " ";
  switch (event.body_case()) {
    case proto::Event::kMessage: {
      const proto::HistoryEntry& m = event.message();
      if (m.from() == self && !self.empty()) {
        sent.Remember(m);
        return at + "you -> " + m.to() + ": " + Printable(m.text()) + "  [" + m.state() + "]";
      }
      if (IsGroupName(m.to()))
        return at + m.to() + " " + m.from() + ": " + Printable(m.text());
      return at + m.from() + ": " + Printable(m.text());
    }
    case proto::Event::kMessageState:
      return at + "  " + sent.Describe(event.message_state()) + " " + event.message_state().state();
    case proto::Event::kPresence:
      return at + "* " + FormatPresence(event.presence());
    case proto::Event::kKeyChange:
      return at + "!!! " + event.key_change().name() +
             "'s identity key has CHANGED: " + Printable(event.key_change().detail());
    case proto::Event::kTransferOffered:
      return at + Offered(event.transfer_offered());
    case proto::Event::kTransferProgress:
      return at + Progress(event.transfer_progress());
    case proto::Event::kTransferCompleted:
      return at + Completed(event.transfer_completed());
    case proto::Event::kTransferQuarantined:
      return at + "!!! " + FileAndPeer(event.transfer_quarantined()) +
             " stays in quarantine: " + Printable(event.transfer_quarantined().error());
    case proto::Event::kTransferFailed:
      return at + "!!! " + FileAndPeer(event.transfer_failed()) +
             " failed: " + Printable(event.transfer_failed().error());
    case proto::Event::kTransferStopped:
      return at + ">>> " + FileAndPeer(event.transfer_stopped()) + " " +
             event.transfer_stopped().state() + ": " + Printable(event.transfer_stopped().error());
    case proto::Event::kTrackerLink: {
      const proto::TrackerLinkEvent& link = event.tracker_link();
      if (link.state() == proto::TrackerLinkEvent::STATE_UP)
        return at + "*** tracker link back: presence and new contacts work again";
      if (link.state() == proto::TrackerLinkEvent::STATE_REFUSED)
        return at + "!!! the tracker refused this node: " + Printable(link.reason()) +
               "; only contacts already met are reached (ask your admin)";
      return at + "*** tracker link down (" + Printable(link.reason()) + "); retrying in " +
             std::to_string((link.retry_in_ms() + 999) / 1000) +
             " s. Contacts already met are still reached";
    }
    case proto::Event::kPeerOutdated: {
      const proto::PeerOutdatedEvent& old = event.peer_outdated();
      std::string line = at + "!!! " + old.name() +
                         " runs an older confab: messages to and from them wait until they "
                         "upgrade (they were told)";
      if (!old.detail().empty())
        line += " (" + Printable(old.detail()) + ")";
      return line;
    }
    case proto::Event::kRevoked:
      if (event.revoked().self())
        return at +
               "!!! you were revoked: the tracker no longer accepts this member (ask your "
               "admin)";
      return at + "!!! " + event.revoked().name() +
             " was revoked: nothing more is sent to or accepted from them";
    case proto::Event::BODY_NOT_SET:
      break;
  }
  return at + "(an event this console does not know)";
}

}  // namespace confab::peer::console
