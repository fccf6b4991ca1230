// The commands that talk to the running node over node.sock
// (proto/control.proto): `confab msg`, `confab history`, `confab who`,
// `confab status`. Each has --json. Exit codes (cli.h): 0 ok, 1 the node
// refused or failed (stderr says why), 2 usage, 3 no node running.
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/utc_time.h"
#include "peer/chat/messenger.h"
#include "peer/cli/cli.h"
#include "peer/cli/cli_json.h"
#include "peer/cli/cli_util.h"
#include "peer/cli/console_text.h"
#include "peer/control/control_client.h"
#include "peer/node/home.h"
#include "peer/node/node.h"

namespace confab::peer::cli {
namespace {

int RunMsg(const std::string& to, const std::string& text, bool json) {
  if (!IsValidUtf8(text)) {
    std::fprintf(stderr,
                 "confab msg: TEXT is not valid UTF-8 (check the terminal's locale); nothing "
                 "was sent\n");
    return kExitUsage;
  }
  proto::Request request;
  request.mutable_send()->set_to(to);
  request.mutable_send()->set_text(text);
  int code = kExitOk;
  auto response = Call("msg", request, &code);
  if (!response)
    return code;
  if (json)
    PrintJson({{"id", response->message_id()}, {"to", to}, {"state", "queued"}});
  else
    std::printf("%s\n", response->message_id().c_str());
  return kExitOk;
}

// `confab msg NAME --stdin`: every non-empty line of stdin is one message,
// sent in SendBatchRequests of at most kMaxComposeBatch lines and about
// 768 KiB (under the control socket's 1 MiB). All of stdin is read and
// checked first: a line that is not UTF-8 is named by its number and
// nothing is sent. Each request is queued in one commit; prints the ids in
// order. A refused request stops there: the lines before it are queued,
// the rest are not.
int RunMsgStdin(const std::string& to, bool json) {
  constexpr size_t kMaxRequestBytes = 768 << 10;
  std::vector<std::string> all;
  std::string line;
  size_t line_number = 0;
  int c = 0;
  bool at_end = false;
  while (!at_end) {
    c = std::getchar();
    if (c != '\n' && c != EOF) {
      line.push_back(static_cast<char>(c));
      continue;
    }
    at_end = c == EOF;
    if (at_end && line.empty())
      break;
    ++line_number;
    if (!IsValidUtf8(line)) {
      std::fprintf(stderr,
                   "confab msg: line %zu of stdin is not valid UTF-8 (convert it first, e.g. "
                   "with iconv); nothing was sent\n",
                   line_number);
      return kExitFailed;
    }
    if (!line.empty())
      all.push_back(std::move(line));
    line.clear();
  }
  std::vector<std::string> lines;
  size_t queued = 0;
  auto flush = [&]() -> int {
    if (lines.empty())
      return kExitOk;
    proto::Request request;
    request.mutable_send_batch()->set_to(to);
    for (std::string& text : lines)
      request.mutable_send_batch()->add_texts(std::move(text));
    lines.clear();
    int code = kExitOk;
    auto response = Call("msg", request, &code);
    if (!response) {
      std::fprintf(stderr, "confab msg: %zu messages were queued before this\n", queued);
      return code;
    }
    for (const std::string& id : response->message_ids()) {
      if (json)
        PrintJson({{"id", id}, {"to", to}, {"state", "queued"}});
      else
        std::printf("%s\n", id.c_str());
    }
    queued += static_cast<size_t>(response->message_ids_size());
    return kExitOk;
  };
  size_t bytes = 0;
  for (std::string& text : all) {
    bytes += text.size() + 8;
    lines.push_back(std::move(text));
    if (lines.size() >= kMaxComposeBatch || bytes >= kMaxRequestBytes) {
      if (int code = flush(); code != kExitOk)
        return code;
      bytes = 0;
    }
  }
  return flush();
}

int RunHistory(const std::string& contact, const std::string& since, uint32_t limit, bool json) {
  int64_t since_ms = 0;
  if (!since.empty()) {
    Result<int64_t> parsed = ParseTimeArgument(since);
    if (!parsed.ok()) {
      std::fprintf(stderr, "confab history: --since: %s\n",
                   std::string(parsed.status().message()).c_str());
      return kExitUsage;
    }
    since_ms = *parsed;
  }
  proto::Request request;
  request.mutable_history()->set_contact(contact);
  request.mutable_history()->set_since_unix_ms(since_ms);
  request.mutable_history()->set_limit(limit);
  int code = kExitOk;
  auto response = Call("history", request, &code);
  if (!response)
    return code;
  if (json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const proto::HistoryEntry& e : response->history())
      rows.push_back(MessageJson(e));
    PrintJson(rows);
    return kExitOk;
  }
  for (const proto::HistoryEntry& e : response->history()) {
    std::printf("%s  %s: %s  [%s]\n",
                console::LocalTime(e.time_unix_ms(), "%Y-%m-%d %H:%M:%S").c_str(), e.from().c_str(),
                console::Printable(e.text()).c_str(), e.state().c_str());
  }
  return kExitOk;
}

int RunWho(bool json, bool verbose) {
  proto::Request request;
  request.mutable_who();
  int code = kExitOk;
  auto response = Call("who", request, &code);
  if (!response)
    return code;
  if (json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const proto::ContactPresence& p : response->contacts())
      rows.push_back(PresenceJson(p, verbose));
    PrintJson(rows);
    return kExitOk;
  }
  for (const proto::ContactPresence& p : response->contacts()) {
    std::printf("%-20s %-8s %s%s%s\n", p.name().c_str(), p.status().c_str(),
                console::Printable(p.text()).c_str(), p.blocked() ? " (blocked)" : "",
                p.key_change_pending() ? " (KEY CHANGED: not sending)" : "");
    if (verbose) {
      if (p.path().empty())
        std::printf("    path: not tried yet\n");
      else
        std::printf("    path: %s%s%s\n      why: %s\n",
                    p.path() == "relay" ? "relay (through the tracker)" : p.path().c_str(),
                    p.path_address().empty() ? "" : " ", p.path_address().c_str(),
                    console::Printable(p.path_reason()).c_str());
    }
  }
  return kExitOk;
}

int RunNodeStatus(bool json, bool verbose) {
  proto::Request request;
  request.mutable_node_status();
  int code = kExitOk;
  auto response = Call("status", request, &code);
  if (!response)
    return code;
  const proto::NodeStatus& n = response->node_status();
  if (json) {
    PrintJson(NodeStatusJson(n));
    return kExitOk;
  }
  std::printf("%s (%s%s%s): tracker %s; peers on %s (TCP and UDP)\n", n.name().c_str(),
              n.status().c_str(), n.status_text().empty() ? "" : ", ",
              console::Printable(n.status_text()).c_str(),
              n.tracker_connected() ? "connected" : "not connected", n.peer_address().c_str());
  if (n.certificate_expires_unix_ms() > 0) {
    std::printf("  certificate expires %s\n",
                UtcIso8601(n.certificate_expires_unix_ms() / 1000).c_str());
  }
  if (verbose) {
    std::printf("  tracker: %s\n", n.tracker_address().c_str());
    std::printf("  public UDP address: %s\n",
                n.public_udp().empty() ? "unknown" : n.public_udp().c_str());
    std::printf("  NAT mapping: %s%s\n", n.nat().c_str(),
                n.nat() == "endpoint-dependent"
                    ? " (peers behind such NATs too cannot be reached directly)"
                    : "");
    std::printf("  network.path: %s; UDP sessions: %u; relayed sessions: %u\n",
                n.path_policy().c_str(), n.udp_sessions(), n.relayed_sessions());
  }
  return kExitOk;
}

int RunStatus(const std::string& status, const std::string& text, bool json) {
  if (!IsValidUtf8(text)) {
    std::fprintf(stderr, "confab status: TEXT is not valid UTF-8; nothing was changed\n");
    return kExitUsage;
  }
  proto::Request request;
  request.mutable_status()->set_status(status);
  request.mutable_status()->set_text(text);
  int code = kExitOk;
  auto response = Call("status", request, &code);
  if (!response)
    return code;
  if (json)
    PrintJson({{"status", status}, {"text", text}});
  return kExitOk;
}

}  // namespace

void RegisterControl(CLI::App& app, Runner* runner) {
  struct Options {
    std::string name, text, status, since;
    uint32_t limit = 100;
    bool json = false;
    bool from_stdin = false;
    bool verbose = false;
  };
  auto o = std::make_shared<Options>();

  CLI::App* msg = app.add_subcommand("msg", "Send a message (returns once durably queued)");
  msg->add_option("NAME", o->name, "The contact, or '#GROUP'")->required();
  CLI::Option* text = msg->add_option("TEXT", o->text, "The message");
  CLI::Option* from_stdin =
      msg->add_flag("--stdin", o->from_stdin, "Send each line of stdin as one message");
  text->excludes(from_stdin);
  msg->add_flag("--json", o->json, "Print JSON");
  msg->callback([o, runner] {
    if (!o->from_stdin && o->text.empty())
      throw CLI::RequiredError("TEXT (or --stdin)");
    *runner = [o] {
      return o->from_stdin ? RunMsgStdin(o->name, o->json) : RunMsg(o->name, o->text, o->json);
    };
  });

  CLI::App* history = app.add_subcommand("history", "Show the conversation with a contact");
  history->add_option("NAME", o->name, "The contact, or '#GROUP'")->required();
  history->add_option("--since", o->since,
                      "Only messages since this time: Unix seconds or ISO-8601 (UTC unless an "
                      "offset is given)");
  history->add_option("--limit", o->limit, "At most this many (the latest), default 100");
  history->add_flag("--json", o->json, "Print a JSON array");
  history->callback(
      [o, runner] { *runner = [o] { return RunHistory(o->name, o->since, o->limit, o->json); }; });

  CLI::App* who = app.add_subcommand("who", "Contacts and their presence");
  who->add_flag("--json", o->json, "Print a JSON array");
  who->add_flag("-v,--verbose", o->verbose, "Also how each contact is reached, and why");
  who->callback([o, runner] { *runner = [o] { return RunWho(o->json, o->verbose); }; });

  CLI::App* status =
      app.add_subcommand("status", "Set your presence, or (without STATUS) show the node's state");
  status->add_option("STATUS", o->status, "online, away, busy or invisible")
      ->check(CLI::IsMember({"online", "away", "busy", "invisible"}));
  status->add_option("TEXT", o->text, "A short note (\"lunch\")");
  status->add_flag("--json", o->json, "Print JSON");
  status->add_flag("-v,--verbose", o->verbose, "Also the public UDP address and NAT type");
  status->callback([o, runner] {
    *runner = [o] {
      if (o->status.empty())
        return RunNodeStatus(o->json, o->verbose);
      return RunStatus(o->status, o->text, o->json);
    };
  });
}

}  // namespace confab::peer::cli
