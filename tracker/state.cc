#include "tracker/state.h"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <optional>
#include <string_view>

#include "common/config/config.h"
#include "common/crypto/key_file.h"
#include "tracker/pg_directory.h"

namespace confab::tracker {
namespace {

constexpr std::string_view kConfigFile = "tracker.toml";
constexpr std::string_view kOrgKeyFile = "org.key";
constexpr std::string_view kTrackerKeyFile = "tracker.key";
constexpr std::string_view kDirectoryFile = "directory.db";

constexpr std::array<std::string_view, 25> kKnownKeys = {
    "database.url",
    "cluster.dead_after",
    "org",
    "listen",
    "second_probe_port",
    "advertise",
    "log_level",
    "invite.ttl",
    "certificate.lifetime",
    "metrics.listen",
    "limits.handshakes_per_second_per_address",
    "limits.handshake_burst_per_address",
    "limits.max_subscriptions_per_member",
    "limits.max_sessions",
    "limits.handshake_timeout",
    "session.keepalive_interval",
    "session.timeout",
    "relay.enabled",
    "relay.max_pairs",
    "relay.max_rate_per_pair",
    "relay.max_rate_total",
    "mailbox.enabled",
    "mailbox.max_bytes_per_recipient",
    "mailbox.max_envelopes_per_recipient",
    "mailbox.retain_days",
};

// "host:port" or "[v6]:port" with a numeric port. The listener checks the
// host when it binds; here we only catch what is obviously not an address.
Status CheckHostPort(std::string_view what, const std::string& value) {
  size_t colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == value.size()) {
    return Status::InvalidArgument(std::string(what) + " '" + value +
                                   "' is not host:port (for example 0.0.0.0:7650)");
  }
  std::string_view port = std::string_view(value).substr(colon + 1);
  uint32_t number = 0;
  for (char c : port) {
    if (c < '0' || c > '9' || number > 65535) {
      return Status::InvalidArgument(std::string(what) + " '" + value + "' has a bad port");
    }
    number = number * 10 + static_cast<uint32_t>(c - '0');
  }
  if (number > 65535) {
    return Status::InvalidArgument(std::string(what) + " '" + value + "' has a bad port");
  }
  return Status::Ok();
}

Result<TrackerConfig> LoadConfig(const std::string& path) {
  CONFAB_ASSIGN_OR_RETURN(config::Config file, config::Config::Load(path, kKnownKeys));
  TrackerConfig c;
  using std::chrono::seconds;
  CONFAB_ASSIGN_OR_RETURN(c.org, file.GetString("org", ""));
  if (c.org.empty())
    return Status::InvalidArgument(path + ": 'org' is missing or empty");
  CONFAB_ASSIGN_OR_RETURN(c.listen, file.GetString("listen", c.listen));
  CONFAB_RETURN_IF_ERROR(CheckHostPort(path + ": listen", c.listen));
  CONFAB_ASSIGN_OR_RETURN(int64_t second_probe_port,
                          file.GetInt("second_probe_port", c.second_probe_port, 0, 65535));
  c.second_probe_port = static_cast<uint16_t>(second_probe_port);
  if (!file.Has("second_probe_port")) {
    // CheckHostPort has accepted listen: digits after the last ':', <= 65535.
    const unsigned long listen_port = std::stoul(c.listen.substr(c.listen.rfind(':') + 1));
    if (listen_port != 0 && listen_port < 65535) {
      c.second_probe_port = static_cast<uint16_t>(listen_port + 1);
      c.second_probe_port_is_default = true;
    }
  }
  // The same number as listen's would only fail later with "address in use".
  if (c.second_probe_port != 0 && c.listen.ends_with(":" + std::to_string(c.second_probe_port))) {
    return Status::InvalidArgument(path + ": second_probe_port " +
                                   std::to_string(c.second_probe_port) +
                                   " is listen's own port; choose another (or 0)");
  }
  CONFAB_ASSIGN_OR_RETURN(c.advertise, file.GetString("advertise", DefaultAdvertise(c.listen)));
  CONFAB_RETURN_IF_ERROR(CheckHostPort(path + ": advertise", c.advertise));
  CONFAB_ASSIGN_OR_RETURN(c.log_level, file.GetString("log_level", c.log_level));
  CONFAB_ASSIGN_OR_RETURN(c.invite_ttl, file.GetDuration("invite.ttl", c.invite_ttl, seconds(60),
                                                         seconds(kMaxInviteTtlSeconds)));
  CONFAB_ASSIGN_OR_RETURN(c.certificate_lifetime,
                          file.GetDuration("certificate.lifetime", c.certificate_lifetime,
                                           seconds(3600), seconds(10LL * 365 * 86400)));
  CONFAB_ASSIGN_OR_RETURN(c.metrics_listen, file.GetString("metrics.listen", ""));
  if (!c.metrics_listen.empty()) {
    CONFAB_RETURN_IF_ERROR(CheckHostPort(path + ": metrics.listen", c.metrics_listen));
  }
  CONFAB_ASSIGN_OR_RETURN(c.handshakes_per_second_per_address,
                          file.GetInt("limits.handshakes_per_second_per_address",
                                      c.handshakes_per_second_per_address, 1, 1000000));
  CONFAB_ASSIGN_OR_RETURN(
      c.handshake_burst_per_address,
      file.GetInt("limits.handshake_burst_per_address", c.handshake_burst_per_address, 1, 1000000));
  CONFAB_ASSIGN_OR_RETURN(c.max_subscriptions_per_member,
                          file.GetInt("limits.max_subscriptions_per_member",
                                      c.max_subscriptions_per_member, 1, 100000));
  CONFAB_ASSIGN_OR_RETURN(c.max_sessions,
                          file.GetInt("limits.max_sessions", c.max_sessions, 1, 10000000));
  CONFAB_ASSIGN_OR_RETURN(
      c.handshake_timeout,
      file.GetDuration("limits.handshake_timeout", c.handshake_timeout, seconds(1), seconds(300)));
  CONFAB_ASSIGN_OR_RETURN(c.keepalive_interval,
                          file.GetDuration("session.keepalive_interval", c.keepalive_interval,
                                           seconds(1), seconds(3600)));
  CONFAB_ASSIGN_OR_RETURN(c.session_timeout, file.GetDuration("session.timeout", c.session_timeout,
                                                              seconds(2), seconds(3600)));
  CONFAB_ASSIGN_OR_RETURN(c.database_url, file.GetString("database.url", ""));
  if (!c.database_url.empty())
    CONFAB_RETURN_IF_ERROR(CheckPgUrl(c.database_url).WithContext(path + ": [database] url"));
  CONFAB_ASSIGN_OR_RETURN(
      c.cluster_dead_after,
      file.GetDuration("cluster.dead_after", c.cluster_dead_after, seconds(2), seconds(3600)));
  CONFAB_ASSIGN_OR_RETURN(c.relay.enabled, file.GetBool("relay.enabled", c.relay.enabled));
  int64_t max_pairs = 0;
  CONFAB_ASSIGN_OR_RETURN(max_pairs, file.GetInt("relay.max_pairs", 64, 0, 100000));
  c.relay.max_pairs = static_cast<size_t>(max_pairs);
  int64_t per_pair = 0;
  CONFAB_ASSIGN_OR_RETURN(per_pair, file.GetInt("relay.max_rate_per_pair", 4 * 1024 * 1024, 1024,
                                                int64_t{10} * 1024 * 1024 * 1024));
  c.relay.max_rate_per_pair = static_cast<double>(per_pair);
  int64_t total = 0;
  CONFAB_ASSIGN_OR_RETURN(total, file.GetInt("relay.max_rate_total", 32 * 1024 * 1024, 1024,
                                             int64_t{100} * 1024 * 1024 * 1024));
  c.relay.max_rate_total = static_cast<double>(total);
  CONFAB_ASSIGN_OR_RETURN(c.mailbox.enabled, file.GetBool("mailbox.enabled", c.mailbox.enabled));
  int64_t mailbox_bytes = 0;
  CONFAB_ASSIGN_OR_RETURN(
      mailbox_bytes,
      file.GetInt("mailbox.max_bytes_per_recipient",
                  static_cast<int64_t>(c.mailbox.max_bytes_per_recipient),
                  static_cast<int64_t>(kMaxEnvelopeBytes), int64_t{1024} * 1024 * 1024 * 1024));
  c.mailbox.max_bytes_per_recipient = static_cast<uint64_t>(mailbox_bytes);
  int64_t mailbox_envelopes = 0;
  CONFAB_ASSIGN_OR_RETURN(
      mailbox_envelopes,
      file.GetInt("mailbox.max_envelopes_per_recipient",
                  static_cast<int64_t>(c.mailbox.max_envelopes_per_recipient), 1, 100'000'000));
  c.mailbox.max_envelopes_per_recipient = static_cast<uint64_t>(mailbox_envelopes);
  CONFAB_ASSIGN_OR_RETURN(c.mailbox.retain_days,
                          file.GetInt("mailbox.retain_days", c.mailbox.retain_days, 1, 3650));
  if (c.session_timeout <= c.keepalive_interval) {
    return Status::InvalidArgument(path +
                                   ": session.timeout must be longer than "
                                   "session.keepalive_interval");
  }
  return c;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

std::string DefaultAdvertise(const std::string& listen) {
  if (listen.starts_with("0.0.0.0:"))
    return "127.0.0.1:" + listen.substr(8);
  if (listen.starts_with("[::]:"))
    return "[::1]:" + listen.substr(5);
  return listen;
}

namespace {

// Checks `--state DIR` for a new tracker and creates it (mode 0700).
Status PrepareStateDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::IoError("cannot create " + dir + ": " + std::strerror(errno));
  }
  for (std::string_view file : {kConfigFile, kOrgKeyFile, kTrackerKeyFile, kDirectoryFile}) {
    if (Exists(dir + "/" + std::string(file))) {
      return Status::FailedPrecondition(dir + " already holds a tracker (" + std::string(file) +
                                        " exists); choose another --state directory");
    }
  }
  return Status::Ok();
}

// org.key, tracker.key and tracker.toml; on failure none of them is left.
Status WriteTrackerFiles(const std::string& dir, const std::string& org, const std::string& listen,
                         const std::string& database_url, const crypto::SigningKey& org_key,
                         const crypto::SigningKey& tracker_key) {
  const std::string base = dir + "/";
  auto written = [&]() -> Status {
    crypto::KeyFileWriteOptions plain;  // a daemon starts unattended: mode 0600, no passphrase
    CONFAB_RETURN_IF_ERROR(crypto::WriteKeyFile(base + std::string(kOrgKeyFile),
                                                crypto::KeyKind::kOrg, org_key, plain));
    CONFAB_RETURN_IF_ERROR(crypto::WriteKeyFile(base + std::string(kTrackerKeyFile),
                                                crypto::KeyKind::kTracker, tracker_key, plain));
    config::Writer writer;
    writer.SetString("org", org).SetString("listen", listen);
    writer.SetString("advertise", DefaultAdvertise(listen));
    writer.SetDuration("invite.ttl", TrackerConfig{}.invite_ttl);
    writer.SetDuration("certificate.lifetime", TrackerConfig{}.certificate_lifetime);
    if (!database_url.empty())
      writer.SetString("database.url", database_url);
    CONFAB_ASSIGN_OR_RETURN(
        std::string toml,
        writer.Render("confab-tracker settings. 'advertise' is the host:port written into invite\n"
                      "codes: set it to the address workstations reach. Optional keys:\n"
                      "metrics.listen = \"127.0.0.1:9650\" (Prometheus text), log_level,\n"
                      "second_probe_port (UDP, default: listen's port + 1), limits.*, session.*,\n"
                      "relay.* and mailbox.* (see tracker/state.h)."));
    return config::WriteFileAtomically(base + std::string(kConfigFile), toml, 0600);
  }();
  if (!written.ok()) {
    for (std::string_view file : {kConfigFile, kOrgKeyFile, kTrackerKeyFile})
      (void)::unlink((base + std::string(file)).c_str());
  }
  return written;
}

Status CheckNewTracker(const std::string& listen, const std::string& database_url) {
  CONFAB_RETURN_IF_ERROR(CheckHostPort("--listen", listen));
  if (!database_url.empty())
    CONFAB_RETURN_IF_ERROR(CheckPgUrl(database_url).WithContext("--database"));
  return Status::Ok();
}

}  // namespace

Status TrackerState::Init(const std::string& dir, const std::string& org, const std::string& listen,
                          const std::string& database_url) {
  if (org.empty())
    return Status::InvalidArgument("--org must not be empty");
  CONFAB_RETURN_IF_ERROR(CheckNewTracker(listen, database_url));
  CONFAB_RETURN_IF_ERROR(PrepareStateDir(dir));

  std::unique_ptr<PgDirectory> shared;
  if (!database_url.empty()) {
    // The shared directory first: if it cannot be reached, is from a newer
    // confab or already holds a cluster, nothing has been written yet.
    auto opened = PgDirectory::Open(database_url);
    if (!opened.ok())
      return opened.status().WithContext("--database");
    shared = std::move(opened).value();
    auto existing = shared->GetCluster();
    if (existing.ok())
      return Status::FailedPrecondition(
          "--database already holds the cluster of org '" + existing->org +
          "'; prepare another tracker for it with `confab-tracker join-cluster`");
    if (existing.status().code() != Status::Code::kNotFound)
      return existing.status().WithContext("--database");
  }

  CONFAB_ASSIGN_OR_RETURN(crypto::SigningKey org_key, crypto::SigningKey::Generate());
  CONFAB_ASSIGN_OR_RETURN(crypto::SigningKey tracker_key, crypto::SigningKey::Generate());
  CONFAB_RETURN_IF_ERROR(WriteTrackerFiles(dir, org, listen, database_url, org_key, tracker_key));

  if (shared) {
    const auto& pub = org_key.public_key();
    Status claimed = shared->CreateCluster(
        PgCluster{org, Bytes(pub.begin(), pub.end()), static_cast<int64_t>(std::time(nullptr))});
    if (!claimed.ok()) {  // another init won the race: leave nothing behind
      for (std::string_view file : {kConfigFile, kOrgKeyFile, kTrackerKeyFile})
        (void)::unlink((dir + "/" + std::string(file)).c_str());
      return claimed.WithContext("--database");
    }
    return Status::Ok();
  }
  // Creates directory.db with its schema.
  CONFAB_ASSIGN_OR_RETURN(auto directory, Directory::Open(dir + "/" + std::string(kDirectoryFile)));
  return Status::Ok();
}

Status TrackerState::JoinCluster(const std::string& keys_dir, const std::string& dir,
                                 const std::string& listen, const std::string& database_url) {
  if (database_url.empty())
    return Status::InvalidArgument("--database is required");
  CONFAB_RETURN_IF_ERROR(CheckNewTracker(listen, database_url));
  auto org_key = crypto::ReadKeyFile(keys_dir + "/" + std::string(kOrgKeyFile),
                                     crypto::KeyKind::kOrg, std::nullopt);
  if (!org_key.ok())
    return org_key.status().WithContext("--keys: org key");
  auto tracker_key = crypto::ReadKeyFile(keys_dir + "/" + std::string(kTrackerKeyFile),
                                         crypto::KeyKind::kTracker, std::nullopt);
  if (!tracker_key.ok())
    return tracker_key.status().WithContext("--keys: tracker key");

  auto shared = PgDirectory::Open(database_url);
  if (!shared.ok())
    return shared.status().WithContext("--database");
  auto cluster = (*shared)->GetCluster();
  if (!cluster.ok())
    return cluster.status().WithContext("--database");
  const auto& pub = org_key->public_key();
  if (cluster->org_public_key != Bytes(pub.begin(), pub.end()))
    return Status::PermissionDenied(
        "--keys: " + keys_dir + "/org.key is not the org key of the cluster of org '" +
        cluster->org +
        "' in --database; carry over the org.key and tracker.key of one of its "
        "trackers");

  CONFAB_RETURN_IF_ERROR(PrepareStateDir(dir));
  return WriteTrackerFiles(dir, cluster->org, listen, database_url, *org_key, *tracker_key);
}

Result<std::unique_ptr<TrackerState>> TrackerState::Open(const std::string& dir) {
  std::unique_ptr<TrackerState> state(new TrackerState());
  state->dir_ = dir;
  const std::string config_path = state->Path(std::string(kConfigFile));
  if (!Exists(config_path)) {
    return Status::NotFound("no tracker in " + dir + " (" + config_path +
                            " is missing); create one with: confab-tracker init --org NAME "
                            "--state " +
                            dir);
  }
  CONFAB_ASSIGN_OR_RETURN(state->config_, LoadConfig(config_path));

  auto org_key = crypto::ReadKeyFile(state->Path(std::string(kOrgKeyFile)), crypto::KeyKind::kOrg,
                                     std::nullopt);
  if (!org_key.ok())
    return org_key.status().WithContext("org key");
  state->org_key_ = std::make_unique<crypto::OrgKey>(std::move(org_key).value());

  auto tracker_key = crypto::ReadKeyFile(state->Path(std::string(kTrackerKeyFile)),
                                         crypto::KeyKind::kTracker, std::nullopt);
  if (!tracker_key.ok())
    return tracker_key.status().WithContext("tracker key");
  state->noise_static_ = tracker_key->DeriveX25519();

  if (!state->config_.database_url.empty()) {
    auto shared = PgDirectory::Open(state->config_.database_url);
    if (!shared.ok())
      return shared.status().WithContext(config_path + ": [database] url");
    state->directory_ = std::move(shared).value();
    return state;
  }
  auto directory = Directory::Open(state->Path(std::string(kDirectoryFile)));
  if (!directory.ok())
    return directory.status().WithContext(state->Path(std::string(kDirectoryFile)));
  state->directory_ = std::move(directory).value();
  return state;
}

}  // namespace confab::tracker
