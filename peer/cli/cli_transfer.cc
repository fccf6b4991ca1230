// The file-transfer commands (issue 5): `confab send NAME FILE`,
// `confab transfers`, `confab accept ID [--to DIR]`, `confab reject ID`,
// `confab cancel ID`, `confab resume ID`. Each has --json.
//
// `send` prints the transfer id on its first line (--json: an object with
// "id"). Without --detach it then polls the node every 200 ms, shows
// progress (a bar on a terminal, JSON lines with --json) and returns when the
// transfer ends: 0 only if it completed. `accept --follow` does the same on
// the receiving side.
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "peer/cli/cli.h"
#include "peer/cli/cli_json.h"
#include "peer/cli/cli_util.h"
#include "peer/cli/console_text.h"

namespace confab::peer::cli {
namespace {

bool Final(const std::string& state) {
  return state == "completed" || state == "failed" || state == "rejected" || state == "cancelled" ||
         state == "quarantined";
}

// One line of JSON (progress lines are compared to skip repeats).
std::string EntryJson(const proto::TransferEntry& e) {
  return TransferJson(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void ShowBar(const proto::TransferEntry& e) {
  const double fraction = e.size() == 0 ? 1.0 : static_cast<double>(e.bytes_done()) / e.size();
  const int width = 30;
  const int filled = static_cast<int>(fraction * width);
  std::string bar(filled, '#');
  bar.resize(width, '-');
  std::string eta = "--";
  if (e.rate_bytes_per_s() > 0) {
    const double seconds = static_cast<double>(e.size() - e.bytes_done()) / e.rate_bytes_per_s();
    char text[32];
    std::snprintf(text, sizeof text, "%dm%02ds", static_cast<int>(seconds) / 60,
                  static_cast<int>(seconds) % 60);
    eta = text;
  }
  std::fprintf(stderr, "\r[%s] %5.1f%% %s / %s  %s/s  ETA %s  %-11s", bar.c_str(), fraction * 100,
               console::HumanSize(static_cast<double>(e.bytes_done())).c_str(),
               console::HumanSize(static_cast<double>(e.size())).c_str(),
               console::HumanSize(e.rate_bytes_per_s()).c_str(), eta.c_str(), e.state().c_str());
}

std::optional<proto::TransferEntry> Fetch(const std::string& id, int* code) {
  proto::Request request;
  request.mutable_transfers()->set_id(id);
  auto response = Call("transfers", request, code);
  if (!response || response->transfers_size() != 1)
    return std::nullopt;
  return response->transfers(0);
}

// Polls until the transfer ends; returns the exit code.
int Follow(const std::string& id, bool json) {
  const bool tty = isatty(STDERR_FILENO) != 0 && !json;
  std::string last_line;
  for (;;) {
    int code = kExitOk;
    std::optional<proto::TransferEntry> e = Fetch(id, &code);
    if (!e)
      return code == kExitOk ? kExitFailed : code;
    if (json) {
      const std::string line = EntryJson(*e);
      if (line != last_line)
        std::printf("%s\n", line.c_str());
      std::fflush(stdout);
      last_line = line;
    } else if (tty) {
      ShowBar(*e);
    }
    if (Final(e->state())) {
      if (tty)
        std::fprintf(stderr, "\n");
      if (!json) {
        std::printf("%s%s%s\n", e->state().c_str(), e->error().empty() ? "" : ": ",
                    e->error().c_str());
      }
      return e->state() == "completed" ? kExitOk : kExitFailed;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

// A group's offers, one per member: listed, then (unless detached) followed
// one after the other; they run side by side on the node meanwhile. Exits 0
// only when every one completed.
int FollowGroupOffers(const proto::Response& response, bool detach, bool json) {
  if (json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const proto::TransferEntry& e : response.transfers())
      rows.push_back({{"id", e.id()}, {"to", e.peer()}});
    PrintJson(rows);
  } else {
    for (const proto::TransferEntry& e : response.transfers())
      std::printf("%s  %s\n", e.id().c_str(), e.peer().c_str());
  }
  std::fflush(stdout);
  if (detach)
    return kExitOk;
  int worst = kExitOk;
  for (const proto::TransferEntry& e : response.transfers()) {
    if (!json)
      std::printf("%s:\n", e.peer().c_str());
    if (int code = Follow(e.id(), json); code != kExitOk)
      worst = code;
  }
  return worst;
}

int RunSend(const std::string& to, const std::string& file, const std::string& as, bool detach,
            bool json) {
  char absolute[PATH_MAX];
  if (realpath(file.c_str(), absolute) == nullptr) {
    std::fprintf(stderr, "confab send: cannot find %s\n", file.c_str());
    return kExitFailed;
  }
  proto::Request request;
  request.mutable_transfer_send()->set_to(to);
  request.mutable_transfer_send()->set_path(absolute);
  request.mutable_transfer_send()->set_name(as);
  int code = kExitOk;
  auto response = Call("send", request, &code);
  if (!response)
    return code;
  if (!to.empty() && to.front() == '#')
    return FollowGroupOffers(*response, detach, json);
  if (json)
    PrintJson({{"id", response->transfer_id()}, {"to", to}});
  else
    std::printf("%s\n", response->transfer_id().c_str());
  std::fflush(stdout);
  if (detach)
    return kExitOk;
  return Follow(response->transfer_id(), json);
}

int RunTransfers(bool json) {
  proto::Request request;
  request.mutable_transfers();
  int code = kExitOk;
  auto response = Call("transfers", request, &code);
  if (!response)
    return code;
  if (json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const proto::TransferEntry& e : response->transfers())
      rows.push_back(TransferJson(e));
    PrintJson(rows);
    return kExitOk;
  }
  for (const proto::TransferEntry& e : response->transfers()) {
    std::printf("%s  %-3s %-12s %-11s %10s / %-10s %s%s%s\n", e.id().c_str(), e.direction().c_str(),
                e.peer().c_str(), e.state().c_str(),
                console::HumanSize(static_cast<double>(e.bytes_done())).c_str(),
                console::HumanSize(static_cast<double>(e.size())).c_str(), e.name().c_str(),
                e.error().empty() ? "" : "  ", e.error().c_str());
  }
  return kExitOk;
}

int RunAction(const char* command, proto::TransferActionRequest::Action action,
              const std::string& id, const std::string& to_dir, bool follow, bool json) {
  proto::Request request;
  request.mutable_transfer_action()->set_action(action);
  request.mutable_transfer_action()->set_id(id);
  if (!to_dir.empty()) {
    char absolute[PATH_MAX];
    std::string dir = to_dir;
    if (realpath(to_dir.c_str(), absolute) != nullptr)
      dir = absolute;
    else if (dir[0] != '/')
      dir = std::string(getcwd(absolute, sizeof absolute) ? absolute : ".") + "/" + dir;
    request.mutable_transfer_action()->set_to_dir(dir);
  }
  int code = kExitOk;
  auto response = Call(command, request, &code);
  if (!response)
    return code;
  if (follow)
    return Follow(id, json);
  if (json && response->transfers_size() == 1)
    PrintJson(TransferJson(response->transfers(0)));
  return kExitOk;
}

}  // namespace

void RegisterTransfer(CLI::App& app, Runner* runner) {
  struct Options {
    std::string name, file, id, to_dir, as;
    bool detach = false;
    bool follow = false;
    bool json = false;
  };
  auto o = std::make_shared<Options>();

  CLI::App* send =
      app.add_subcommand("send", "Offer a file to a contact, or to every member of a group");
  send->add_option("NAME", o->name, "The contact, or #GROUP (one offer per member)")->required();
  send->add_option("FILE", o->file, "The file")->required();
  send->add_option("--name", o->as, "Offer it under this name (default: its own)");
  send->add_flag("--detach", o->detach, "Return once offered (the node carries on)");
  send->add_flag("--json", o->json, "Print JSON (progress as JSON lines)");
  send->callback([o, runner] {
    *runner = [o] { return RunSend(o->name, o->file, o->as, o->detach, o->json); };
  });

  CLI::App* list = app.add_subcommand("transfers", "File transfers, both directions");
  list->add_flag("--json", o->json, "Print a JSON array");
  list->callback([o, runner] { *runner = [o] { return RunTransfers(o->json); }; });

  struct Action {
    const char* name;
    const char* help;
    proto::TransferActionRequest::Action action;
  };
  for (const Action& a :
       {Action{"accept", "Accept an offered file", proto::TransferActionRequest::ACTION_ACCEPT},
        Action{"reject", "Reject an offered file", proto::TransferActionRequest::ACTION_REJECT},
        Action{"cancel", "Cancel a transfer", proto::TransferActionRequest::ACTION_CANCEL},
        Action{"resume", "Retry an interrupted transfer now",
               proto::TransferActionRequest::ACTION_RESUME}}) {
    CLI::App* sub = app.add_subcommand(a.name, a.help);
    sub->add_option("ID", o->id, "The transfer id, or its first digits (at least 4)")->required();
    if (a.action == proto::TransferActionRequest::ACTION_ACCEPT) {
      sub->add_option("--to", o->to_dir, "Release the file into this directory");
      sub->add_flag("--follow", o->follow,
                    "Show progress until the file is released (exit 0) or not (1)");
    }
    sub->add_flag("--json", o->json, "Print the transfer as JSON");
    const char* name = a.name;
    const auto action = a.action;
    sub->callback([o, runner, name, action] {
      *runner = [o, name, action] {
        return RunAction(name, action, o->id, o->to_dir, o->follow, o->json);
      };
    });
  }
}

}  // namespace confab::peer::cli
