// The contact-book commands, over node.sock (proto/control.proto):
//   confab contacts [add|remove|block|unblock NAME]
//   confab verify NAME [--mark | --accept-new-key]
//   confab export [--since TIME] [--format jsonl]   (TIME as `history --since`)
// Each has --json. `contacts add` records the contact and follows their
// presence; the key is pinned on the first direct session (certificate
// checked), so `verify` needs one message exchanged first. Exit codes
// (cli.h): 0 ok, 1 refused or failed (an unknown contact included), 2
// usage, 3 no node running.
#include <cstdio>
#include <memory>
#include <string>

#include "common/base/utc_time.h"
#include "peer/cli/cli.h"
#include "peer/cli/cli_json.h"
#include "peer/cli/cli_util.h"

namespace confab::peer::cli {
namespace {

void PrintContact(const proto::ContactEntry& c) {
  std::printf("%-20s %s%s%s%s\n", c.name().c_str(), c.pinned() ? "pinned" : "not yet pinned",
              c.verified() ? ", verified" : "", c.blocked() ? ", BLOCKED" : "",
              c.key_change_pending() ? ", KEY CHANGED (confab verify NAME --accept-new-key)" : "");
}

int RunContacts(const std::string& action, const std::string& name, bool json) {
  proto::Request request;
  proto::ContactsRequest* body = request.mutable_contacts();
  if (action.empty())
    body->set_action(proto::ContactsRequest::ACTION_LIST);
  else if (action == "add")
    body->set_action(proto::ContactsRequest::ACTION_ADD);
  else if (action == "remove")
    body->set_action(proto::ContactsRequest::ACTION_REMOVE);
  else if (action == "block")
    body->set_action(proto::ContactsRequest::ACTION_BLOCK);
  else
    body->set_action(proto::ContactsRequest::ACTION_UNBLOCK);
  if (!action.empty() && name.empty()) {
    std::fprintf(stderr, "confab contacts %s: NAME is required\n", action.c_str());
    return kExitUsage;
  }
  body->set_name(name);
  int code = kExitOk;
  auto response = Call("contacts", request, &code);
  if (!response)
    return code;
  if (action.empty()) {
    if (json) {
      nlohmann::json rows = nlohmann::json::array();
      for (const proto::ContactEntry& c : response->contact_list())
        rows.push_back(ContactJson(c));
      PrintJson(rows);
    } else {
      for (const proto::ContactEntry& c : response->contact_list())
        PrintContact(c);
    }
    return kExitOk;
  }
  if (json) {
    if (response->contact_list_size() > 0)
      PrintJson(ContactJson(response->contact_list(0)));
    else
      PrintJson({{"name", name}, {"removed", true}});
  } else if (response->contact_list_size() > 0) {
    PrintContact(response->contact_list(0));
  } else {
    std::printf("%s removed\n", name.c_str());
  }
  return kExitOk;
}

int RunVerify(const std::string& name, bool mark, bool accept, bool json) {
  proto::Request request;
  request.mutable_verify()->set_name(name);
  request.mutable_verify()->set_mark(mark);
  request.mutable_verify()->set_accept_new_key(accept);
  int code = kExitOk;
  auto response = Call("verify", request, &code);
  if (!response)
    return code;
  const proto::ContactEntry contact =
      response->contact_list_size() > 0 ? response->contact_list(0) : proto::ContactEntry();
  if (json) {
    PrintJson({{"name", name},
               {"safety_number", response->safety_number()},
               {"new_safety_number", response->new_safety_number()},
               {"verified", contact.verified()},
               {"key_change_pending", contact.key_change_pending()}});
    return kExitOk;
  }
  if (accept) {
    std::printf("accepted %s's new key; its safety number:\n  %s\n", name.c_str(),
                response->safety_number().c_str());
    std::printf("compare it with %s out of band, then: confab verify %s --mark\n", name.c_str(),
                name.c_str());
    return kExitOk;
  }
  std::printf("safety number with %s:\n  %s\n", name.c_str(), response->safety_number().c_str());
  if (!response->new_safety_number().empty()) {
    std::printf(
        "WARNING: %s's key CHANGED; sending is held. The new key's safety number:\n  %s\n"
        "compare it out of band, then: confab verify %s --accept-new-key\n",
        name.c_str(), response->new_safety_number().c_str(), name.c_str());
  } else if (contact.verified()) {
    std::printf("verified\n");
  } else {
    std::printf("compare it with %s out of band, then: confab verify %s --mark\n", name.c_str(),
                name.c_str());
  }
  return kExitOk;
}

int RunExport(const std::string& since) {
  int64_t since_ms = 0;
  if (!since.empty()) {
    Result<int64_t> parsed = ParseTimeArgument(since);
    if (!parsed.ok()) {
      std::fprintf(stderr, "confab export: --since: %s\n",
                   std::string(parsed.status().message()).c_str());
      return kExitUsage;
    }
    since_ms = *parsed;
  }
  proto::Request request;
  request.mutable_export_history()->set_since_unix_ms(since_ms);
  int code = kExitOk;
  auto response = Call("export", request, &code);
  if (!response)
    return code;
  for (const proto::HistoryEntry& e : response->history())
    PrintJson(MessageJson(e));
  return kExitOk;
}

}  // namespace

void RegisterContacts(CLI::App& app, Runner* runner) {
  struct Options {
    std::string action, name, format = "jsonl", since;
    bool mark = false, accept = false, json = false;
  };
  auto o = std::make_shared<Options>();

  CLI::App* contacts =
      app.add_subcommand("contacts", "List contacts, or add, remove, block or unblock one");
  contacts->add_option("ACTION", o->action, "add, remove, block or unblock (none: list)")
      ->check(CLI::IsMember({"add", "remove", "block", "unblock"}));
  contacts->add_option("NAME", o->name, "The contact");
  contacts->add_flag("--json", o->json, "Print JSON");
  contacts->callback(
      [o, runner] { *runner = [o] { return RunContacts(o->action, o->name, o->json); }; });

  CLI::App* verify =
      app.add_subcommand("verify", "Show the safety number to compare with a contact");
  verify->add_option("NAME", o->name, "The contact")->required();
  CLI::Option* mark =
      verify->add_flag("--mark", o->mark, "Mark the contact verified (numbers compared)");
  verify->add_flag("--accept-new-key", o->accept, "Accept the contact's changed key")
      ->excludes(mark);
  verify->add_flag("--json", o->json, "Print JSON");
  verify->callback(
      [o, runner] { *runner = [o] { return RunVerify(o->name, o->mark, o->accept, o->json); }; });

  CLI::App* exp =
      app.add_subcommand("export", "Print the decrypted history as JSON lines (for archiving)");
  exp->add_option("--since", o->since,
                  "Only messages written since this time: Unix seconds or ISO-8601 (UTC unless "
                  "an offset is given)");
  exp->add_option("--format", o->format, "jsonl (the only format)")
      ->check(CLI::IsMember({"jsonl"}));
  exp->add_flag("--json", o->json, "The same JSON lines");
  exp->callback([o, runner] { *runner = [o] { return RunExport(o->since); }; });
}

}  // namespace confab::peer::cli
