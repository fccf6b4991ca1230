// `confab outbox [--json]`: what waits to be delivered, every contact at
// once; `confab outbox drop ID`: deletes a message that was never sent (a
// typo's, or one a person thinks better of).
#include <cstdio>
#include <memory>
#include <string>

#include "peer/cli/cli.h"
#include "peer/cli/cli_json.h"
#include "peer/cli/cli_util.h"
#include "peer/cli/console_text.h"

namespace confab::peer::cli {
namespace {

int RunOutbox(bool json) {
  proto::Request request;
  request.mutable_outbox()->set_action(proto::OutboxRequest::ACTION_LIST);
  int code = kExitOk;
  auto response = Call("outbox", request, &code);
  if (!response)
    return code;
  if (json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const proto::HistoryEntry& e : response->history())
      rows.push_back(MessageJson(e));
    PrintJson(rows);
    return kExitOk;
  }
  if (response->history_size() == 0) {
    std::printf("The outbox is empty: everything written was delivered.\n");
    return kExitOk;
  }
  for (const proto::HistoryEntry& e : response->history()) {
    std::printf("%s  %s  to %s: %s  [%s]\n", e.id().c_str(),
                console::LocalTime(e.time_unix_ms(), "%Y-%m-%d %H:%M").c_str(), e.to().c_str(),
                console::Printable(e.text()).c_str(), e.state().c_str());
  }
  return kExitOk;
}

int RunDrop(const std::string& id, bool json) {
  proto::Request request;
  request.mutable_outbox()->set_action(proto::OutboxRequest::ACTION_DROP);
  request.mutable_outbox()->set_id(id);
  int code = kExitOk;
  auto response = Call("outbox drop", request, &code);
  if (!response)
    return code;
  if (response->history_size() != 1) {
    std::fprintf(stderr, "confab outbox drop: the node's answer names no message\n");
    return kExitFailed;
  }
  const proto::HistoryEntry& e = response->history(0);
  if (json) {
    nlohmann::json row = MessageJson(e);
    row["state"] = "dropped";
    PrintJson(row);
  } else {
    std::printf("Dropped %s to %s: %s\n", e.id().c_str(), e.to().c_str(),
                console::Printable(e.text()).c_str());
  }
  return kExitOk;
}

}  // namespace

void RegisterOutbox(CLI::App& app, Runner* runner) {
  struct Options {
    std::string id;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* outbox =
      app.add_subcommand("outbox", "Messages not yet delivered, to every contact (oldest first)");
  outbox->add_flag("--json", o->json, "Print a JSON array");
  CLI::App* drop = outbox->add_subcommand("drop", "Delete a message that was never sent");
  drop->add_option("ID", o->id, "Its id, or the first digits of it (at least 4)")->required();
  drop->add_flag("--json", o->json, "Print JSON");
  // Decided when it runs, after the whole command line is parsed.
  outbox->callback([o, drop, runner] {
    *runner = [o, drop] { return drop->parsed() ? RunDrop(o->id, o->json) : RunOutbox(o->json); };
  });
}

}  // namespace confab::peer::cli
