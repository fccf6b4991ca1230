// The tracker's state directory (DESIGN.md, On disk):
//   org.key       the org's certificate-signing key (mode 0600)
//   tracker.key   the tracker's own key; its X25519 form is the Noise static
//   tracker.toml  settings (see TrackerConfig)
//   directory.db  members, invites, revocations, audit log (see directory.h)
//
// Init creates a new directory; Open loads one and checks everything, so that
// `serve` fails at start with one clear message rather than later.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/base/result.h"
#include "common/crypto/certificate.h"
#include "common/crypto/identity.h"
#include "tracker/directory.h"
#include "tracker/relay.h"

namespace confab::tracker {

inline constexpr uint16_t kDefaultTrackerPort = 7650;

struct TrackerConfig {
  std::string org;
  std::string listen = "0.0.0.0:7650";  // TCP and UDP
  // A second UDP port on listen's IP answering the same address probes, so
  // nodes can tell a cone NAT from a symmetric one (two server addresses are
  // needed). Absent from tracker.toml: listen's port + 1 (7651 by default),
  // so the firewall rule is known in advance; if listen's port is 0 or 65535,
  // or that port is taken at start, the kernel picks one (a warning says so).
  // 0 = always a port the kernel picks (nodes learn it from their
  // SessionWelcome).
  uint16_t second_probe_port = 0;
  // True when second_probe_port is listen + 1 by default, not set by ops.
  bool second_probe_port_is_default = false;
  // host:port written into invite codes; defaults to `listen` with a
  // wildcard host replaced by 127.0.0.1. Ops set it to the name people reach.
  std::string advertise;
  std::chrono::seconds invite_ttl{7 * 86400};
  std::chrono::seconds certificate_lifetime{365 * 86400};
  std::string metrics_listen;  // "host:port" for Prometheus text; empty = off
  std::string log_level = "info";
  // Hostile-input limits.
  int64_t handshakes_per_second_per_address = 50;  // token bucket rate
  int64_t handshake_burst_per_address = 200;
  int64_t max_subscriptions_per_member = 1000;
  int64_t max_sessions = 200000;
  std::chrono::seconds handshake_timeout{10};
  std::chrono::seconds keepalive_interval{20};  // told to nodes
  std::chrono::seconds session_timeout{60};     // silence before a node is offline
  // [database] url: the shared PostgreSQL directory (PgDirectory; see
  // CheckPgUrl for the forms). Empty: directory.db in the state directory.
  std::string database_url;
  // [cluster] dead_after: a tracker whose heartbeat is older is taken for
  // dead, and its members offline (with [database] url only).
  std::chrono::seconds cluster_dead_after{10};
  // [relay] (issue 15): served by RelayCore, TrackerService and RelaySplice.
  RelayConfig relay;
  // [mailbox] (issue 14): envelopes kept for members who are offline.
  struct Mailbox {
    bool enabled = true;
    uint64_t max_bytes_per_recipient = 64ull << 20;
    uint64_t max_envelopes_per_recipient = 10'000;
    int64_t retain_days = 30;
  } mailbox;
};

class TrackerState {
 public:
  // Creates `dir` (mode 0700) with fresh keys, tracker.toml and an empty
  // directory. FailedPrecondition if `dir` already holds a tracker;
  // InvalidArgument for an empty org name or a bad listen address.
  // With a `database_url` the directory is that PostgreSQL database instead
  // of directory.db: it is reached and migrated (to the current schema)
  // before any file is written, so a bad url, an unreachable server or a
  // database from a newer confab leaves `dir` untouched, and tracker.toml
  // records the url under [database].
  [[nodiscard]] static Status Init(const std::string& dir, const std::string& org,
                                   const std::string& listen, const std::string& database_url = "");

  // Prepares another tracker of the cluster in `database_url` (`init
  // --database` made it): copies org.key and tracker.key from `keys_dir`
  // (as ops carry them over, like a TLS key) into a new state directory
  // `dir`, with a tracker.toml for `listen`, the cluster's org name and the
  // url. PermissionDenied if the org key is not the cluster's; NotFound if
  // the database holds no cluster; the key files' own errors; and Init's.
  // Nothing is written unless every check passed.
  [[nodiscard]] static Status JoinCluster(const std::string& keys_dir, const std::string& dir,
                                          const std::string& listen,
                                          const std::string& database_url);

  // Loads and checks everything. The messages name the file at fault.
  [[nodiscard]] static Result<std::unique_ptr<TrackerState>> Open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const TrackerConfig& config() const { return config_; }
  const crypto::OrgKey& org_key() const { return *org_key_; }
  const crypto::X25519KeyPair& noise_static() const { return noise_static_; }
  DirectoryStore& directory() { return *directory_; }

  // The path of a file in the state directory.
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  TrackerState() = default;

  std::string dir_;
  TrackerConfig config_;
  std::unique_ptr<crypto::OrgKey> org_key_;
  crypto::X25519KeyPair noise_static_;
  std::unique_ptr<DirectoryStore> directory_;  // Directory, or PgDirectory with [database] url
};

// "0.0.0.0:7650" -> "127.0.0.1:7650"; other addresses are returned as given.
std::string DefaultAdvertise(const std::string& listen);

}  // namespace confab::tracker
