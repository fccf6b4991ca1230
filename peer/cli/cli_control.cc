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

#include "peer/chat/messenger.h"
#include "peer/cli/cli.h"
#include "peer/cli/cli_util.h"
#include "peer/cli/console_text.h"
#include "peer/control/control_client.h"
#include "peer/node/home.h"
#include "peer/node/node.h"

namespace confab::peer::cli {
namespace {

int RunMsg(const std::string& to, const std::string& text, bool json) {
  proto::Request request;
  request.mutable_send()->set_to(to);
  request.mutable_send()->set_text(text);
  int code = kExitOk;
  auto response = Call("msg", request, &code);
  if (!response)
    return code;
  if (json)
    std::printf("{\"id\": %s, \"state\": \"queued\"}\n", Json(response->message_id()).c_str());
  else
    std::printf("%s\n", response->message_id().c_str());
  return kExitOk;
}

// `confab msg NAME --stdin`: every non-empty line of stdin is one message,
// sent in SendBatchRequests of at most kMaxComposeBatch lines and about
// 768 KiB (under the control socket's 1 MiB). Each request is queued in
// one commit; prints the ids in order. A refused request stops there: the
// lines before it are queued, the rest are not.
int RunMsgStdin(const std::string& to, bool json) {
  constexpr size_t kMaxRequestBytes = 768 << 10;
  std::vector<std::string> lines;
  std::string line;
  size_t queued = 0;
  int c = 0;
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
        std::printf("{\"id\": %s, \"state\": \"queued\"}\n", Json(id).c_str());
      else
        std::printf("%s\n", id.c_str());
    }
    queued += static_cast<size_t>(response->message_ids_size());
    return kExitOk;
  };
  size_t bytes = 0;
  while ((c = std::getchar()) != EOF) {
    if (c != '\n') {
      line.push_back(static_cast<char>(c));
      continue;
    }
    if (!line.empty()) {
      bytes += line.size() + 8;
      lines.push_back(std::move(line));
      line.clear();
    }
    if (lines.size() >= kMaxComposeBatch || bytes >= kMaxRequestBytes) {
      if (int code = flush(); code != kExitOk)
        return code;
      bytes = 0;
    }
  }
  if (!line.empty())
    lines.push_back(std::move(line));
  return flush();
}

int RunHistory(const std::string& contact, int64_t since_ms, uint32_t limit, bool json) {
  proto::Request request;
  request.mutable_history()->set_contact(contact);
  request.mutable_history()->set_since_unix_ms(since_ms);
  request.mutable_history()->set_limit(limit);
  int code = kExitOk;
  auto response = Call("history", request, &code);
  if (!response)
    return code;
  if (json) {
    std::printf("[");
    for (int i = 0; i < response->history_size(); ++i) {
      const proto::HistoryEntry& e = response->history(i);
      std::string delivered_to;
      for (const std::string& d : e.delivered_to())
        delivered_to += (delivered_to.empty() ? "" : ", ") + Json(d);
      std::printf(
          "%s{\"id\": %s, \"from\": %s, \"to\": %s, \"text\": %s, \"state\": %s, "
          "\"time\": %" PRId64 ", \"seq\": %" PRIu64 ", \"delivered_to\": [%s]}",
          i == 0 ? "" : ",\n ", Json(e.id()).c_str(), Json(e.from()).c_str(), Json(e.to()).c_str(),
          Json(e.text()).c_str(), Json(e.state()).c_str(), e.time_unix_ms(), e.seq(),
          delivered_to.c_str());
    }
    std::printf("]\n");
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
    std::printf("[");
    for (int i = 0; i < response->contacts_size(); ++i) {
      const proto::ContactPresence& p = response->contacts(i);
      std::printf(
          "%s{\"name\": %s, \"online\": %s, \"status\": %s, \"text\": %s, "
          "\"blocked\": %s, \"key_change_pending\": %s",
          i == 0 ? "" : ",\n ", Json(p.name()).c_str(), p.online() ? "true" : "false",
          Json(p.status()).c_str(), Json(p.text()).c_str(), p.blocked() ? "true" : "false",
          p.key_change_pending() ? "true" : "false");
      if (verbose) {
        std::printf(", \"path\": %s, \"path_address\": %s, \"path_reason\": %s",
                    Json(p.path()).c_str(), Json(p.path_address()).c_str(),
                    Json(p.path_reason()).c_str());
      }
      std::printf("}");
    }
    std::printf("]\n");
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
    std::printf(
        "{\"name\": %s, \"tracker\": %s, \"peer_address\": %s, \"public_udp\": %s, "
        "\"nat\": %s, \"path_policy\": %s, \"udp_sessions\": %u}\n",
        Json(n.name()).c_str(), Json(n.tracker_connected() ? "connected" : "disconnected").c_str(),
        Json(n.peer_address()).c_str(), Json(n.public_udp()).c_str(), Json(n.nat()).c_str(),
        Json(n.path_policy()).c_str(), n.udp_sessions());
    return kExitOk;
  }
  std::printf("%s: tracker %s; peers on %s (TCP and UDP)\n", n.name().c_str(),
              n.tracker_connected() ? "connected" : "not connected", n.peer_address().c_str());
  if (verbose) {
    std::printf("  public UDP address: %s\n",
                n.public_udp().empty() ? "unknown" : n.public_udp().c_str());
    std::printf("  NAT mapping: %s%s\n", n.nat().c_str(),
                n.nat() == "endpoint-dependent"
                    ? " (peers behind such NATs too cannot be reached directly)"
                    : "");
    std::printf("  network.path: %s; UDP sessions: %u\n", n.path_policy().c_str(),
                n.udp_sessions());
  }
  return kExitOk;
}

int RunStatus(const std::string& status, const std::string& text, bool json) {
  proto::Request request;
  request.mutable_status()->set_status(status);
  request.mutable_status()->set_text(text);
  int code = kExitOk;
  auto response = Call("status", request, &code);
  if (!response)
    return code;
  if (json)
    std::printf("{\"status\": %s, \"text\": %s}\n", Json(status).c_str(), Json(text).c_str());
  return kExitOk;
}

}  // namespace

void RegisterControl(CLI::App& app, Runner* runner) {
  struct Options {
    std::string name, text, status;
    int64_t since_ms = 0;
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
  history->add_option("--since", o->since_ms, "Only messages since this Unix time in ms");
  history->add_option("--limit", o->limit, "At most this many (the latest), default 100");
  history->add_flag("--json", o->json, "Print a JSON array");
  history->callback([o, runner] {
    *runner = [o] { return RunHistory(o->name, o->since_ms, o->limit, o->json); };
  });

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
