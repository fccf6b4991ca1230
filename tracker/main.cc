// confab-tracker: the organisation's directory, presence and rendezvous daemon.
//
// Exit codes: 0 success, 1 the operation failed (the message says why),
// 2 bad usage.
#include <cstdio>
#include <ctime>
#include <iostream>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/base/log.h"
#include "common/base/similar_names.h"
#include "common/base/utc_time.h"
#include "common/base/version.h"
#include "common/base/wall_clock.h"
#include "common/config/duration.h"
#include "common/crypto/invite.h"
#include "common/crypto/sodium.h"
#include "tracker/admin.h"
#include "tracker/serve.h"
#include "tracker/state.h"

namespace confab::tracker {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// "confab-tracker usres": name the nearest subcommand instead of CLI11's
// "A subcommand is required". Returns false after printing when argv[1] is
// not a subcommand.
bool KnownSubcommand(CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-')
    return true;
  std::vector<std::string> names;
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
    names.push_back(sub->get_name());
  const std::optional<std::string> error = UnknownCommand("confab-tracker", argv[1], names);
  if (error)
    std::fprintf(stderr, "%s\n", error->c_str());
  return !error;
}

int Fail(const Status& status) {
  std::fprintf(stderr, "confab-tracker: %s\n", std::string(status.message()).c_str());
  return kExitFailed;
}

int64_t Now() {
  return NowUnix();
}

std::string FormatTime(int64_t unix_seconds) {
  if (unix_seconds <= 0)
    return "-";
  return confab::UtcIso8601(unix_seconds);
}

// `--json` times as peer/cli/cli_json.h writes them: `field` in ISO-8601
// UTC with milliseconds, `field_unix_ms` an integer; null when never.
void PutTime(nlohmann::json& row, const std::string& field, int64_t unix_seconds) {
  if (unix_seconds <= 0) {
    row[field] = nullptr;
    row[field + "_unix_ms"] = nullptr;
    return;
  }
  row[field] = confab::UtcIso8601Ms(unix_seconds * 1000);
  row[field + "_unix_ms"] = unix_seconds * 1000;
}

int RunJoinCluster(const std::string& keys, const std::string& dir, const std::string& listen,
                   const std::string& database) {
  Status s = TrackerState::JoinCluster(keys, dir, listen, database);
  if (!s.ok())
    return Fail(s);
  auto state = TrackerState::Open(dir);
  if (!state.ok())
    return Fail(state.status());
  std::printf("Prepared a tracker of the cluster of '%s' in %s\n", (*state)->config().org.c_str(),
              dir.c_str());
  std::printf("  listen     %s (TCP and UDP)\n", (*state)->config().listen.c_str());
  std::printf("  org key    %s\n",
              crypto::Fingerprint::Of((*state)->org_key().public_key()).ToString().c_str());
  std::printf("Start it with: confab-tracker serve --state %s\n", dir.c_str());
  return 0;
}

int RunInit(const std::string& dir, const std::string& org, const std::string& listen,
            const std::string& database) {
  Status s = TrackerState::Init(dir, org, listen, database);
  if (!s.ok())
    return Fail(s);
  auto state = TrackerState::Open(dir);
  if (!state.ok())
    return Fail(state.status());
  const auto& org_key = (*state)->org_key();
  std::printf("Created tracker for '%s' in %s\n", org.c_str(), dir.c_str());
  std::printf("  listen     %s (TCP and UDP)\n", (*state)->config().listen.c_str());
  std::printf("  advertise  %s (edit tracker.toml to change what invite codes carry)\n",
              (*state)->config().advertise.c_str());
  std::printf("  directory  %s\n", database.empty()
                                       ? "directory.db (SQLite)"
                                       : "PostgreSQL ([database] url in tracker.toml)");
  std::printf("  org key    %s\n",
              crypto::Fingerprint::Of(org_key.public_key()).ToString().c_str());
  std::printf("Start it with: confab-tracker serve --state %s\n", dir.c_str());
  return 0;
}

int RunInvite(const std::string& dir, const std::string& name, const std::string& ttl_text) {
  auto state = TrackerState::Open(dir);
  if (!state.ok())
    return Fail(state.status());
  std::chrono::seconds ttl = (*state)->config().invite_ttl;
  if (!ttl_text.empty()) {
    auto parsed = config::ParseDuration(ttl_text);
    if (!parsed.ok())
      return Fail(parsed.status().WithContext("--ttl"));
    ttl = *parsed;
  }
  crypto::Invite invite;
  auto advertised = AdvertisedAddress(**state);
  if (!advertised.ok())
    return Fail(advertised.status());
  invite.tracker_address = *advertised;
  invite.tracker_static_key = (*state)->noise_static().public_key;
  invite.secret = crypto::NewInviteSecret();
  invite.name = name;
  invite.org = (*state)->config().org;
  const int64_t now = Now();
  invite.expires_unix = now + ttl.count();
  auto hash = crypto::HashInviteSecret(invite.secret.view());
  Status s = (*state)->directory().CreateInvite(name, hash, now, ttl.count());
  if (!s.ok())
    return Fail(s);
  std::printf("Invite for %s, valid once until %s. Give them this code for `confab join`:\n",
              name.c_str(), FormatTime(invite.expires_unix).c_str());
  std::printf("%s\n", crypto::EncodeInvite(invite).c_str());
  return 0;
}

int RunRevoke(const std::string& dir, const std::string& name, const std::string& reason) {
  auto state = TrackerState::Open(dir);
  if (!state.ok())
    return Fail(state.status());
  const std::string why = reason.empty() ? "revoked by ops" : reason;
  // A running tracker revokes, closes the member's session and tells the
  // others; with none running, the directory is changed directly.
  proto::AdminRequest request;
  request.mutable_revoke()->set_name(name);
  request.mutable_revoke()->set_reason(why);
  auto response = AdminCall(**state, request);
  if (response.ok()) {
    if (!response->ok()) {
      std::fprintf(stderr, "confab-tracker: %s\n", response->error().c_str());
      return kExitFailed;
    }
  } else if (response.status().code() == Status::Code::kUnavailable) {
    Status s = RevokeMember(**state, name, why, Now());
    if (!s.ok())
      return Fail(s);
  } else {
    return Fail(response.status());
  }
  std::printf("Revoked %s.\n", name.c_str());
  return 0;
}

// The directory is shared with a running tracker (SQLite), which keeps no
// state for a revoked member: like invite, this writes it directly.
int RunReinstate(const std::string& dir, const std::string& name) {
  auto state = TrackerState::Open(dir);
  if (!state.ok())
    return Fail(state.status());
  if (Status s = (*state)->directory().Reinstate(name, Now()); !s.ok())
    return Fail(s);
  std::printf(
      "Reinstated %s: the name can be invited again (`confab-tracker invite %s`); "
      "the old key stays revoked.\n",
      name.c_str(), name.c_str());
  return 0;
}

// A running tracker renews and pushes the certificate over the member's
// session; with none running, the directory is changed directly and the
// member gets it at their next session.
int RunRenew(const std::string& dir, const std::string& name) {
  auto state = TrackerState::Open(dir);
  if (!state.ok())
    return Fail(state.status());
  proto::AdminRequest request;
  request.set_renew(name);
  auto response = AdminCall(**state, request);
  if (response.ok()) {
    if (!response->ok()) {
      std::fprintf(stderr, "confab-tracker: %s\n", response->error().c_str());
      return kExitFailed;
    }
  } else if (response.status().code() == Status::Code::kUnavailable) {
    Status s = RenewMember(**state, name, Now());
    if (!s.ok())
      return Fail(s);
  } else {
    return Fail(response.status());
  }
  std::printf(
      "Renewed %s's certificate; their node takes it over its tracker session (now if online, "
      "else when it next connects).\n",
      name.c_str());
  return 0;
}

// The running tracker's view (with presence), or the directory's when no
// tracker is running.
Result<std::vector<UserInfo>> LiveOrStoredUsers(TrackerState& state) {
  proto::AdminRequest request;
  request.set_list_users(true);
  auto response = AdminCall(state, request);
  if (!response.ok()) {
    if (response.status().code() == Status::Code::kUnavailable)
      return ListUsers(state);
    return response.status();
  }
  if (!response->ok())
    return Status::Unavailable(response->error());
  std::vector<UserInfo> users;
  for (const proto::AdminUser& u : response->users()) {
    users.push_back(UserInfo{u.name(), u.online(), u.status(), u.text(), u.revoked(),
                             u.enrolled_unix(), u.last_seen_unix(), u.fingerprint(),
                             u.certificate_expires_unix()});
  }
  return users;
}

int RunUsers(const std::string& dir, bool json) {
  auto state = TrackerState::Open(dir);
  if (!state.ok())
    return Fail(state.status());
  auto users = LiveOrStoredUsers(**state);
  if (!users.ok())
    return Fail(users.status());
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& u : *users) {
      nlohmann::json row = {{"name", u.name},       {"online", u.online},
                            {"status", u.status},   {"text", u.text},
                            {"revoked", u.revoked}, {"fingerprint", u.fingerprint}};
      PutTime(row, "enrolled", u.enrolled_unix);
      PutTime(row, "last_seen", u.last_seen_unix);
      PutTime(row, "certificate_expires", u.certificate_expires_unix);
      out.push_back(std::move(row));
    }
    std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  std::printf("%-20s %-8s %-10s %-21s %-21s %s\n", "NAME", "ONLINE", "STATUS", "LAST SEEN",
              "CERTIFICATE EXPIRES", "FINGERPRINT");
  for (const auto& u : *users) {
    std::printf("%-20s %-8s %-10s %-21s %-21s %s\n", u.name.c_str(), u.online ? "yes" : "no",
                u.status.c_str(), FormatTime(u.last_seen_unix).c_str(),
                FormatTime(u.certificate_expires_unix).c_str(), u.fingerprint.c_str());
  }
  return 0;
}

// `confab-tracker mailbox`: what the mailbox holds, read from the directory
// (beside a running serve: SQLite's WAL lets it read while serve writes).
int RunMailbox(const std::string& dir, bool json) {
  constexpr size_t kTop = 10;
  auto state = TrackerState::Open(dir);
  if (!state.ok())
    return Fail(state.status());
  MailboxStore* mailbox = (*state)->directory().mailbox();
  if (mailbox == nullptr)
    return Fail(Status::FailedPrecondition("this tracker's directory keeps no mailbox yet"));
  auto totals = mailbox->Totals();
  if (!totals.ok())
    return Fail(totals.status());
  auto top = mailbox->TopRecipients(kTop);
  if (!top.ok())
    return Fail(top.status());
  if (json) {
    nlohmann::json out = {{"envelopes", totals->envelopes},
                          {"bytes", totals->bytes},
                          {"enabled", (*state)->config().mailbox.enabled},
                          {"top", nlohmann::json::array()}};
    for (const auto& [name, t] : *top)
      out["top"].push_back({{"name", name}, {"envelopes", t.envelopes}, {"bytes", t.bytes}});
    std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  std::printf("mailbox %s: %llu envelope(s), %llu bytes\n",
              (*state)->config().mailbox.enabled ? "enabled" : "disabled",
              static_cast<unsigned long long>(totals->envelopes),
              static_cast<unsigned long long>(totals->bytes));
  if (!top->empty())
    std::printf("%-20s %10s %12s\n", "RECIPIENT", "ENVELOPES", "BYTES");
  for (const auto& [name, t] : *top) {
    std::printf("%-20s %10llu %12llu\n", name.c_str(), static_cast<unsigned long long>(t.envelopes),
                static_cast<unsigned long long>(t.bytes));
  }
  return 0;
}

}  // namespace
}  // namespace confab::tracker

int main(int argc, char** argv) {
  using namespace confab::tracker;
  CLI::App app{"confab-tracker: directory, presence and rendezvous for one organisation",
               "confab-tracker"};
  app.set_version_flag("--version", std::string("confab-tracker ") + confab::kVersion);
  app.require_subcommand(1);
  std::string state_dir;
  auto add_state = [&](CLI::App* cmd) {
    cmd->add_option("--state", state_dir, "Tracker state directory")->required();
  };

  std::string org, listen = "0.0.0.0:7650";
  CLI::App* init = app.add_subcommand("init", "Create a tracker: org key, tracker key, config");
  add_state(init);
  init->add_option("--org", org, "The organisation's name")->required();
  init->add_option("--listen", listen, "TCP and UDP address to listen on")->capture_default_str();
  std::string database;
  init->add_option("--database", database,
                   "A shared PostgreSQL directory (postgresql://... URL) instead of "
                   "directory.db");

  std::string keys_dir;
  CLI::App* join_cluster = app.add_subcommand(
      "join-cluster", "Prepare another tracker of a cluster from copies of its keys");
  add_state(join_cluster);
  join_cluster->add_option("--database", database, "The cluster's PostgreSQL URL")->required();
  join_cluster
      ->add_option("--keys", keys_dir, "A directory with the cluster's org.key and tracker.key")
      ->required();
  join_cluster->add_option("--listen", listen, "TCP and UDP address to listen on")
      ->capture_default_str();

  CLI::App* serve = app.add_subcommand("serve", "Run the tracker in the foreground");
  add_state(serve);
  std::string log_level;
  serve
      ->add_option("--log-level", log_level,
                   "trace, debug, info, warn, error or off (default: tracker.toml's log_level)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));

  std::string name, ttl;
  CLI::App* invite = app.add_subcommand("invite", "Print a one-time invite code for NAME");
  add_state(invite);
  invite->add_option("NAME", name, "The new member's name")->required();
  invite->add_option("--ttl", ttl, "How long the code stays valid (e.g. 7d, 12h)");

  std::string reason;
  CLI::App* revoke = app.add_subcommand("revoke", "Revoke NAME's membership at once");
  add_state(revoke);
  revoke->add_option("NAME", name, "The member to revoke")->required();
  revoke->add_option("--reason", reason, "Recorded in the audit log");

  CLI::App* reinstate =
      app.add_subcommand("reinstate", "Free a revoked NAME so that it can be invited again");
  add_state(reinstate);
  reinstate->add_option("NAME", name, "The revoked member's name")->required();

  CLI::App* renew = app.add_subcommand(
      "renew", "Issue NAME a new certificate now (they are also renewed automatically)");
  add_state(renew);
  renew->add_option("NAME", name, "The member")->required();

  bool json = false;
  CLI::App* users = app.add_subcommand("users", "List members: enrolled, online, last seen");
  add_state(users);
  users->add_flag("--json", json, "Print a JSON array");

  CLI::App* mailbox =
      app.add_subcommand("mailbox", "What the mailbox holds: totals and the top recipients");
  add_state(mailbox);
  mailbox->add_flag("--json", json, "Print a JSON object");

  if (!KnownSubcommand(app, argc, argv))
    return kExitUsage;
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    (void)app.exit(e);
    return kExitUsage;
  }
  if (!confab::crypto::InitSodium().ok()) {
    std::fprintf(stderr, "confab-tracker: libsodium failed to start\n");
    return 1;
  }
  if (*init)
    return RunInit(state_dir, org, listen, database);
  if (*join_cluster)
    return RunJoinCluster(keys_dir, state_dir, listen, database);
  if (*serve)
    return Serve(state_dir, log_level);
  if (*invite)
    return RunInvite(state_dir, name, ttl);
  if (*revoke)
    return RunRevoke(state_dir, name, reason);
  if (*reinstate)
    return RunReinstate(state_dir, name);
  if (*renew)
    return RunRenew(state_dir, name);
  if (*users)
    return RunUsers(state_dir, json);
  if (*mailbox)
    return RunMailbox(state_dir, json);
  return 2;
}
