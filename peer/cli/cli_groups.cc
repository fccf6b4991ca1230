// `confab group create|add|remove|leave|show NAME [MEMBER...]` and
// `confab groups [--json]` (issue 12). NAME may be typed with or without
// its '#'. Messages and history of a group are `confab msg '#NAME' TEXT`
// and `confab history '#NAME'` (cli_control.cc).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "peer/cli/cli.h"
#include "peer/cli/cli_util.h"
#include "peer/cli/console_text.h"

namespace confab::peer::cli {
namespace {

nlohmann::json ToJson(const proto::GroupEntry& g) {
  return {{"name", g.name()},
          {"id", g.id()},
          {"members", std::vector<std::string>(g.members().begin(), g.members().end())},
          {"admins", std::vector<std::string>(g.admins().begin(), g.admins().end())},
          {"role", g.role()},
          {"unread", g.unread()}};
}

std::string Joined(const google::protobuf::RepeatedPtrField<std::string>& names) {
  std::string out;
  for (const std::string& n : names)
    out += (out.empty() ? "" : ", ") + console::Printable(n);
  return out;
}

void PrintGroup(const proto::GroupEntry& g) {
  std::printf("#%s  (you: %s)\n  members: %s\n  admins:  %s\n",
              console::Printable(g.name()).c_str(), g.role().c_str(), Joined(g.members()).c_str(),
              Joined(g.admins()).c_str());
}

std::string Bare(const std::string& name) {
  return !name.empty() && name.front() == '#' ? name.substr(1) : name;
}

int RunGroup(proto::GroupRequest::Action action, const std::string& name,
             const std::vector<std::string>& members, bool json, bool quiet) {
  proto::Request request;
  proto::GroupRequest* g = request.mutable_group();
  g->set_action(action);
  g->set_name(Bare(name));
  for (const std::string& m : members)
    g->add_members(m);
  int code = kExitOk;
  auto response =
      Call(action == proto::GroupRequest::ACTION_LIST ? "groups" : "group", request, &code);
  if (!response)
    return code;
  if (action == proto::GroupRequest::ACTION_LIST) {
    if (json) {
      nlohmann::json rows = nlohmann::json::array();
      for (const proto::GroupEntry& e : response->groups())
        rows.push_back(ToJson(e));
      std::printf("%s\n",
                  rows.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else if (response->groups_size() == 0) {
      std::printf("no groups; `confab group create NAME MEMBER...` makes one\n");
    } else {
      for (const proto::GroupEntry& e : response->groups())
        PrintGroup(e);
    }
    return kExitOk;
  }
  if (response->groups_size() != 1)
    return kExitOk;
  const proto::GroupEntry& e = response->groups(0);
  if (json)
    std::printf("%s\n",
                ToJson(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  else if (!quiet)
    PrintGroup(e);
  return kExitOk;
}

}  // namespace

void RegisterGroups(CLI::App& app, Runner* runner) {
  struct Options {
    std::string name;
    std::vector<std::string> members;
    bool json = false;
  };
  auto o = std::make_shared<Options>();

  CLI::App* groups = app.add_subcommand("groups", "Your groups, their members and admins");
  groups->add_flag("--json", o->json, "Print a JSON array");
  groups->callback([o, runner] {
    *runner = [o] { return RunGroup(proto::GroupRequest::ACTION_LIST, "", {}, o->json, false); };
  });

  CLI::App* group = app.add_subcommand("group", "Create a group, change its members, or show it");
  group->require_subcommand(1);
  struct Sub {
    const char* name;
    const char* help;
    proto::GroupRequest::Action action;
    bool members;
    bool members_required;
  };
  const Sub subs[] = {
      {"create", "Create a group (you become its admin)", proto::GroupRequest::ACTION_CREATE, true,
       false},
      {"add", "Add members (admins only)", proto::GroupRequest::ACTION_ADD, true, true},
      {"remove", "Remove members (admins only)", proto::GroupRequest::ACTION_REMOVE, true, true},
      {"promote", "Make members admins (admins only)", proto::GroupRequest::ACTION_PROMOTE, true,
       true},
      {"leave", "Leave a group", proto::GroupRequest::ACTION_LEAVE, false, false},
      {"show", "Members, admins and your role", proto::GroupRequest::ACTION_SHOW, false, false},
  };
  for (const Sub& s : subs) {
    CLI::App* sub = group->add_subcommand(s.name, s.help);
    sub->add_option("NAME", o->name, "The group (with or without '#')")->required();
    if (s.members) {
      CLI::Option* m = sub->add_option("MEMBER", o->members, "Member names");
      if (s.members_required)
        m->required();
    }
    sub->add_flag("--json", o->json, "Print JSON");
    const proto::GroupRequest::Action action = s.action;
    sub->callback([o, runner, action] {
      *runner = [o, action] {
        // create/add/remove/leave print the group after the change unless
        // --json; show always does.
        return RunGroup(action, o->name, o->members, o->json, false);
      };
    });
  }
}

}  // namespace confab::peer::cli
