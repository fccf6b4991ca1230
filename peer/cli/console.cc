#include "peer/cli/console.h"

#include <readline/history.h>
#include <readline/readline.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/base/proto_bytes.h"
#include "common/base/wall_clock.h"
#include "common/net/fd_poller.h"
#include "common/net/fd_reader.h"
#include "common/net/loop.h"
#include "common/net/signal_watcher.h"
#include "common/net/timer.h"
#include "peer/cli/cli.h"
#include "peer/cli/console_history.h"
#include "peer/cli/console_text.h"
#include "peer/control/control_client.h"
#include "peer/control/control_frame.h"

namespace confab::peer::console {
namespace {

// Waiting for the node: the first retry, doubled up to the last.
constexpr uint64_t kFirstRetryMs = 250;
constexpr uint64_t kMaxRetryMs = 5000;

class Console;
Console* g_console = nullptr;  // readline's line callback has no user pointer

class Console final : private net::FdPoller::Delegate,
                      private net::FdReader::Delegate,
                      private net::Timer::Delegate,
                      private net::SignalWatcher::Delegate {
 public:
  Console(net::Loop& loop, ConsoleParams params)
      : loop_(loop),
        params_(std::move(params)),
        tty_(isatty(STDOUT_FILENO) != 0),
        colour_(ColourWanted(tty_, std::getenv("NO_COLOR"), std::getenv("TERM"))) {}
  ~Console() override { Uninstall(); }

  // Takes `events_fd` (a subscribed node.sock connection) and the terminal.
  Status Start(int events_fd) {
    CONFAB_ASSIGN_OR_RETURN(events_, net::FdReader::Create(loop_, events_fd, this));
    CONFAB_ASSIGN_OR_RETURN(retry_, net::Timer::Create(loop_, this));
    for (int signum : {SIGINT, SIGTERM, SIGHUP, SIGWINCH}) {
      CONFAB_ASSIGN_OR_RETURN(std::unique_ptr<net::SignalWatcher> watcher,
                              net::SignalWatcher::Create(loop_, signum, this));
      signals_.push_back(std::move(watcher));
    }
    LoadHistory();
    // The loop owns the signals; readline must not install handlers of its own.
    rl_catch_signals = 0;
    rl_catch_sigwinch = 0;
    rl_readline_name = "confab";
    rl_attempted_completion_function = &Console::Complete;
    g_console = this;
    Greet();
    rl_callback_handler_install(Prompt().c_str(), &Console::LineCallback);
    installed_ = true;
    CONFAB_ASSIGN_OR_RETURN(stdin_, net::FdPoller::Create(loop_, STDIN_FILENO, this));
    return Status::Ok();
  }

  int exit_code() const { return exit_code_; }

 private:
  // ---- terminal ------------------------------------------------------------

  void OnReadable() override { rl_callback_read_char(); }

  static void LineCallback(char* line) {
    if (g_console != nullptr)
      g_console->OnLine(line);
    std::free(line);
  }

  void OnLine(const char* line) {
    in_line_handler_ = true;
    if (line == nullptr) {  // Ctrl-D on an empty line
      std::fputs("\n", stdout);
      Quit(cli::kExitOk);
    } else {
      Remember(line);
      Execute(ParseConsoleLine(line, open_));
    }
    in_line_handler_ = false;
    if (installed_)
      rl_set_prompt(Prompt().c_str());
  }

  // readline's completion hook: commands and contact names, never files.
  static char** Complete(const char* text, int start, int /*end*/) {
    rl_attempted_completion_over = 1;
    if (g_console == nullptr)
      return nullptr;
    g_console->matches_ = Completions(std::string_view(rl_line_buffer, static_cast<size_t>(start)),
                                      text, g_console->names_);
    g_console->next_match_ = 0;
    return rl_completion_matches(text, &Console::NextMatch);
  }

  static char* NextMatch(const char* /*text*/, int /*state*/) {
    if (g_console == nullptr || g_console->next_match_ >= g_console->matches_.size())
      return nullptr;
    return strdup(g_console->matches_[g_console->next_match_++].c_str());  // readline frees it
  }

  std::string Prompt() const { return open_.empty() ? "confab> " : open_ + "> "; }

  // Prints `text` (one or more lines) above the line being typed.
  void Print(const std::string& text) {
    if (!installed_ || in_line_handler_) {
      std::fputs((text + "\n").c_str(), stdout);
      std::fflush(stdout);
      return;
    }
    const int point = rl_point;
    char* saved = rl_copy_text(0, rl_end);
    rl_save_prompt();
    rl_replace_line("", 0);
    rl_redisplay();
    std::fputs((text + "\n").c_str(), stdout);
    rl_restore_prompt();
    rl_replace_line(saved, 0);
    rl_point = point;
    rl_redisplay();
    std::free(saved);
    std::fflush(stdout);
  }

  void Uninstall() {
    if (installed_) {
      rl_callback_handler_remove();  // restores the terminal's modes
      installed_ = false;
    }
    if (g_console == this)
      g_console = nullptr;
  }

  void Quit(int code) {
    exit_code_ = code;
    Uninstall();
    if (stdin_)
      stdin_->Close();
    if (events_)
      events_->Close();
    if (retry_)
      retry_->Close();
    for (auto& watcher : signals_)
      watcher->Close();
  }

  void OnSignal(int signum) override {
    if (signum == SIGWINCH) {
      rl_resize_terminal();
      return;
    }
    if (installed_)
      std::fputs("\n", stdout);
    Quit(cli::kExitOk);
  }

  // ---- history -------------------------------------------------------------

  void LoadHistory() {
    for (const std::string& line : LoadHistoryFile(params_.history_path, kMaxHistoryLines))
      add_history(line.c_str());
  }

  void Remember(const char* line) {
    if (line[0] == '\0')
      return;
    add_history(line);  // this session recalls everything typed
    if (std::optional<std::string> keep = PersistableLine(line))
      AppendHistoryLine(params_.history_path, *keep);
  }

  // ---- events from the node ------------------------------------------------

  void OnRead(ByteView data) override {
    if (!frames_.Feed(data).ok()) {
      Print("confab: the node sent an event over 1 MiB; reconnect with `confab`");
      Quit(cli::kExitFailed);
      return;
    }
    while (std::optional<Bytes> frame = frames_.Take()) {
      proto::Event event;
      if (!ParseFromBytes(*frame, &event))
        continue;
      LearnNames(event);
      if (event.has_message()) {
        if (std::optional<std::string> day = event_days_.Before(event.time_unix_ms()))
          Print(Paint(*day, Tone::kDim, colour_));
      }
      const Tone tone = ToneOf(event, params_.self);
      Print(Paint(FormatEvent(event, params_.self, sent_), tone, colour_));
      if (tone == Tone::kIncoming)
        MarkRead(IsGroupName(event.message().to()) ? event.message().to() : event.message().from());
      if (tone == Tone::kIncoming && params_.bell && tty_) {
        std::fputs("\a", stdout);
        std::fflush(stdout);
      }
    }
  }

  // The node stopped (or dropped this console): wait for it to come back,
  // trying node.sock again with backoff, rather than leave.
  void OnEnd(Status /*status*/) override {
    Print(
        "confab: the node has stopped; waiting for it to come back (start it with `confab "
        "up`; /quit leaves)");
    retry_delay_ms_ = kFirstRetryMs;
    (void)retry_->Start(retry_delay_ms_);
  }

  void OnTimer() override {
    Result<int> fd = SubscribeToNode(params_.socket_path, 2000);
    if (fd.ok()) {
      Result<std::unique_ptr<net::FdReader>> reader = net::FdReader::Create(loop_, *fd, this);
      if (reader.ok()) {
        events_ = std::move(*reader);  // the old one ended: destroying it is allowed
        frames_ = ControlFrameReader();
        Print("confab: the node is back");
        ShowWho();
        return;
      }
      close(*fd);
    }
    retry_delay_ms_ = std::min(retry_delay_ms_ * 2, kMaxRetryMs);
    (void)retry_->Start(retry_delay_ms_);
  }

  // ---- commands --------------------------------------------------------------

  std::optional<proto::Response> Call(const proto::Request& request) {
    Result<proto::Response> response = CallNode(params_.socket_path, request, 10000);
    if (!response.ok()) {
      Print("confab: " + std::string(response.status().message()));
      return std::nullopt;
    }
    if (!response->ok()) {
      Print("confab: " + response->error());
      return std::nullopt;
    }
    return std::move(*response);
  }

  // Shows the last `limit` messages with `name`; they are read from now on.
  void ShowHistory(const std::string& name, uint32_t limit) {
    proto::Request request;
    request.mutable_history()->set_contact(name);
    request.mutable_history()->set_limit(limit);
    request.mutable_history()->set_mark_read(true);
    auto response = Call(request);
    if (!response)
      return;
    if (response->history_size() == 0)
      Print("  (no messages with " + name + " yet)");
    DayLines days;  // the first entry shown gets its date
    for (const proto::HistoryEntry& e : response->history()) {
      if (std::optional<std::string> day = days.Before(e.time_unix_ms()))
        Print("  " + Paint(*day, Tone::kDim, colour_));
      Print("  " + FormatEntry(e));
    }
  }

  // /send NAME FILE: `file` as typed, relative to the console's directory
  // or to $HOME with "~/"; the node opens it, so it goes absolute.
  void SendFile(const std::string& to, const std::string& file) {
    std::string path = file;
    const char* home = std::getenv("HOME");
    if (path.rfind("~/", 0) == 0 && home != nullptr)
      path = std::string(home) + path.substr(1);
    char absolute[PATH_MAX];
    if (realpath(path.c_str(), absolute) == nullptr) {
      Print("confab: cannot find " + Printable(file) + ": " + std::strerror(errno));
      return;
    }
    proto::Request request;
    request.mutable_transfer_send()->set_to(to);
    request.mutable_transfer_send()->set_path(absolute);
    auto response = Call(request);
    if (!response)
      return;
    if (!response->transfer_id().empty()) {
      Print("  sending " + Printable(absolute) + " to " + to + " as " + response->transfer_id() +
            "; progress follows here");
      return;
    }
    for (const proto::TransferEntry& t : response->transfers())  // a group: one offer each
      Print("  sending " + Printable(absolute) + " to " + t.peer() + " (" + to + ") as " + t.id() +
            "; progress follows here");
    if (!response->notice().empty())
      Print("  " + response->notice());
  }

  // The conversations with unread messages, per /who (unread > 0).
  // The conversations with unread messages: contacts (per /who), then
  // groups ("#name", per /groups).
  std::vector<std::pair<std::string, uint32_t>> Unread() {
    std::vector<std::pair<std::string, uint32_t>> out;
    proto::Request request;
    request.mutable_who();
    if (auto response = Call(request)) {
      for (const proto::ContactPresence& p : response->contacts()) {
        if (p.unread() > 0)
          out.emplace_back(p.name(), p.unread());
      }
    }
    proto::Request groups;
    groups.mutable_group()->set_action(proto::GroupRequest::ACTION_LIST);
    if (auto response = Call(groups)) {
      for (const proto::GroupEntry& g : response->groups()) {
        if (g.unread() > 0)
          out.emplace_back("#" + g.name(), g.unread());
      }
    }
    return out;
  }

  void OpenConversation(const std::string& name, uint32_t limit) {
    open_ = name;
    Print("talking to " + open_ + " (plain lines go to them; /close to stop)");
    ShowHistory(open_, limit);
  }

  void OpenFirstUnread(bool say_if_none) {
    std::vector<std::pair<std::string, uint32_t>> unread = Unread();
    if (unread.empty()) {
      if (say_if_none)
        Print("  nothing unread");
      return;
    }
    OpenConversation(unread.front().first, std::max<uint32_t>(10, unread.front().second));
  }

  void ShowWho() {
    proto::Request request;
    request.mutable_who();
    auto response = Call(request);
    if (!response)
      return;
    if (response->contacts_size() == 0)
      Print("  no contacts yet: /msg NAME TEXT reaches any member");
    for (const proto::ContactPresence& p : response->contacts()) {
      names_.insert(p.name());
      Print("  " + FormatPresence(p));
    }
  }

  // Lists the groups we are in (learning their names for completion);
  // false when there are none (or the node could not say).
  bool ShowGroups() {
    proto::Request request;
    request.mutable_group()->set_action(proto::GroupRequest::ACTION_LIST);
    auto response = Call(request);
    if (!response || response->groups_size() == 0)
      return false;
    for (const proto::GroupEntry& g : response->groups()) {
      names_.insert("#" + g.name());
      Print("  " + FormatGroup(g));
    }
    return true;
  }

  void Execute(const Command& command) {
    switch (command.kind) {
      case CommandKind::kNothing:
        // Enter on an empty line, with no conversation open: the unread
        // messages one keystroke away. With one open it does nothing, so
        // a plain line never goes somewhere the person did not choose.
        if (open_.empty())
          OpenFirstUnread(/*say_if_none=*/false);
        return;
      case CommandKind::kError:
        Print(command.error);
        return;
      case CommandKind::kMessage: {
        proto::Request request;
        request.mutable_send()->set_to(command.name);
        request.mutable_send()->set_text(command.text);
        // The node's "queued" event shows it, direct or group alike.
        (void)Call(request);
        return;
      }
      case CommandKind::kOpen:
        OpenConversation(command.name, 10);
        return;
      case CommandKind::kUnread:
        OpenFirstUnread(/*say_if_none=*/true);
        return;
      case CommandKind::kClose:
        open_.clear();
        return;
      case CommandKind::kWho:
        ShowWho();
        return;
      case CommandKind::kGroups:
        if (!ShowGroups())
          Print("  no groups; `confab group create NAME MEMBER...` makes one");
        return;
      case CommandKind::kStatus: {
        proto::Request request;
        request.mutable_status()->set_status(command.word);
        request.mutable_status()->set_text(command.text);
        if (Call(request))
          Print("you are " + command.word +
                (command.text.empty() ? "" : " (" + command.text + ")"));
        return;
      }
      case CommandKind::kHistory:
        ShowHistory(command.name, 50);
        return;
      case CommandKind::kContacts: {
        proto::Request request;
        if (!command.word.empty()) {
          const std::string& a = command.word;
          request.mutable_contacts()->set_action(
              a == "add"      ? proto::ContactsRequest::ACTION_ADD
              : a == "remove" ? proto::ContactsRequest::ACTION_REMOVE
              : a == "block"  ? proto::ContactsRequest::ACTION_BLOCK
                              : proto::ContactsRequest::ACTION_UNBLOCK);
          request.mutable_contacts()->set_name(command.name);
          if (Call(request))
            Print("  " + command.name + ": " +
                  (a == "add"      ? "added"
                   : a == "remove" ? "removed"
                                   : a + "ed"));
          return;
        }
        request.mutable_contacts()->set_action(proto::ContactsRequest::ACTION_LIST);
        auto response = Call(request);
        if (!response)
          return;
        if (response->contact_list_size() == 0)
          Print("  no contacts yet");
        for (const proto::ContactEntry& c : response->contact_list()) {
          Print("  " + c.name() + (c.pinned() ? " pinned" : " not yet met") +
                (c.verified() ? ", verified" : "") + (c.blocked() ? ", blocked" : "") +
                (c.key_change_pending() ? ", KEY CHANGED" : ""));
        }
        return;
      }
      case CommandKind::kVerify: {
        proto::Request request;
        request.mutable_verify()->set_name(command.name);
        auto response = Call(request);
        if (!response)
          return;
        Print("  safety number with " + command.name + ": " + response->safety_number());
        if (!response->new_safety_number().empty())
          Print("  their NEW key's number: " + response->new_safety_number());
        Print("  compare it with " + command.name + " in person or by phone; then `confab verify " +
              command.name + " --mark`");
        return;
      }
      case CommandKind::kAccept: {
        proto::Request request;
        proto::TransferActionRequest* accept = request.mutable_transfer_action();
        accept->set_action(proto::TransferActionRequest::ACTION_ACCEPT);
        accept->set_id(command.name);
        accept->set_to_dir(command.text);
        auto response = Call(request);
        if (!response || response->transfers().empty())
          return;
        const proto::TransferEntry& t = response->transfers(0);
        Print("  accepted " + Printable(t.name()) + " from " + t.peer() +
              "; progress follows here, and `confab transfers` shows it");
        return;
      }
      case CommandKind::kReject: {
        proto::Request request;
        request.mutable_transfer_action()->set_action(proto::TransferActionRequest::ACTION_REJECT);
        request.mutable_transfer_action()->set_id(command.name);
        if (Call(request))
          Print("  rejected " + command.name);
        return;
      }
      case CommandKind::kSend:
        SendFile(command.name, command.text);
        return;
      case CommandKind::kHelp:
        Print(HelpText().substr(0, HelpText().size() - 1));
        return;
      case CommandKind::kQuit:
        Quit(cli::kExitOk);
        return;
    }
  }

  // Contact names for completion, from what the node reports.
  void LearnNames(const proto::Event& event) {
    if (event.has_message()) {
      for (const std::string& name : {event.message().from(), event.message().to()}) {
        if (name != params_.self && !name.empty())
          names_.insert(name);
      }
    } else if (event.has_presence()) {
      names_.insert(event.presence().name());
    }
  }

  void Greet() {
    Print("confab console" + (params_.self.empty() ? "" : " for " + params_.self) +
          " (the node for " + params_.home_dir + "). /help lists commands, /quit leaves.");
    ShowWho();
    (void)ShowGroups();
    std::vector<std::pair<std::string, uint32_t>> unread = Unread();
    if (!unread.empty()) {
      uint32_t total = 0;
      for (const auto& [name, count] : unread)
        total += count;
      Print(std::to_string(total) +
            " unread (arrived while no console was open): Enter (or /unread) opens " +
            unread.front().first + "'s");
    }
  }

  // A live message shown here is read.
  void MarkRead(const std::string& name) {
    proto::Request request;
    request.mutable_history()->set_contact(name);
    request.mutable_history()->set_limit(1);
    request.mutable_history()->set_mark_read(true);
    (void)CallNode(params_.socket_path, request, 10000);
  }

  net::Loop& loop_;
  const ConsoleParams params_;
  const bool tty_;     // stdout is a terminal: the bell may ring
  const bool colour_;  // ColourWanted
  std::unique_ptr<net::FdReader> events_;
  std::unique_ptr<net::FdPoller> stdin_;
  std::unique_ptr<net::Timer> retry_;  // node.sock again, while the node is away
  uint64_t retry_delay_ms_ = kFirstRetryMs;
  std::vector<std::unique_ptr<net::SignalWatcher>> signals_;
  ControlFrameReader frames_;
  SentMessages sent_;
  DayLines event_days_;          // date lines between live messages of different days
  std::string open_;             // the open conversation
  std::set<std::string> names_;  // contacts seen, for completion
  std::vector<std::string> matches_;
  size_t next_match_ = 0;
  bool installed_ = false;
  bool in_line_handler_ = false;
  int exit_code_ = cli::kExitOk;
};

}  // namespace

int Run(const ConsoleParams& params) {
  Result<int> events = SubscribeToNode(params.socket_path, 10000);
  if (!events.ok()) {
    if (events.status().code() == Status::Code::kUnavailable) {
      std::fprintf(stderr,
                   "confab: no node is running for %s; start one with `confab up` (it runs in "
                   "the foreground; then run `confab` again in another terminal)\n",
                   params.home_dir.c_str());
      return cli::kExitNoNode;
    }
    std::fprintf(stderr, "confab: %s\n", events.status().ToString().c_str());
    return cli::kExitFailed;
  }
  auto loop = net::Loop::Create();
  if (!loop.ok()) {
    close(*events);
    std::fprintf(stderr, "confab: %s\n", loop.status().ToString().c_str());
    return cli::kExitFailed;
  }
  int code = cli::kExitOk;
  {
    Console console(**loop, params);
    if (Status started = console.Start(*events); !started.ok()) {
      std::fprintf(stderr, "confab: %s\n", started.ToString().c_str());
      code = cli::kExitFailed;
    } else {
      (void)(*loop)->Run();
      code = console.exit_code();
    }
    (void)(*loop)->Close();  // closes what is still open, with its owners alive
  }
  (void)(*loop)->Close();
  return code;
}

}  // namespace confab::peer::console
