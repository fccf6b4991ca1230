// ReceivePolicy: what this node accepts from senders, read from the
// [transfers] table of $CONFAB_HOME/config.toml, and the checks that apply
// it to an offer. Sans-I/O: values in, decisions out.
//
//   [transfers]
//   download_dir = "/home/me/Downloads"   # default $CONFAB_HOME/downloads
//   max_size = 10737418240                # bytes; larger offers are refused
//   blocked_extensions = ["exe", "scr"]   # case-insensitive, no dot
//   scan_command = "clamscan --no-summary -d /db {}"   # {} = the file
//   auto_accept_from = ["alice"]          # named contacts only
//   auto_accept_max_size = 104857600      # and only up to this size
//   max_send_rate = 0                     # bytes/s per outgoing transfer, 0 = no limit
//
// The scan command's exit status: 0 clean (the file is released), 1
// infected, anything else a failed scan; in both cases the file stays in
// quarantine.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/config/config.h"

namespace confab::peer::transfer {

struct ReceivePolicy {
  std::string download_dir;  // absolute
  uint64_t max_size = uint64_t{1} << 40;
  std::set<std::string> blocked_extensions;  // lower case, no dot
  std::string scan_command;                  // empty: no scan
  std::set<std::string> auto_accept_from;
  uint64_t auto_accept_max_size = 0;
  // Sending side: at most this many bytes per second per transfer (0: no
  // limit). [transfers] max_send_rate.
  uint64_t max_send_rate = 0;
};

// The keys LoadReceivePolicy reads (for Config::Load's known-key check).
extern const std::string_view kPolicyKeys[7];

// The policy from `config`; `home` gives the default download directory.
// InvalidArgument naming the key for a bad value (a scan_command without
// "{}", a relative download_dir).
[[nodiscard]] Result<ReceivePolicy> LoadReceivePolicy(const config::Config& config,
                                                      const std::string& home);

// A file name from a sender made safe to create in one directory: only the
// part after the last '/' or '\\'; control characters (below 0x20 and 0x7f)
// dropped; leading dots and spaces stripped (no hidden files, no "..");
// at most 200 bytes (cut on a UTF-8 boundary, extension kept); "file" when
// nothing is left.
std::string SanitiseName(std::string_view name);

// The extension of a sanitised name, lower case, without the dot; "" if none.
std::string ExtensionOf(std::string_view name);

enum class OfferDecision { kAsk, kAutoAccept, kRefuse };

struct OfferVerdict {
  OfferDecision decision = OfferDecision::kAsk;
  std::string reason;  // kRefuse: the sentence the sender is told
};

// Applies the policy to an offer of `size` bytes named `sanitised_name` from
// `peer`.
OfferVerdict CheckOffer(const ReceivePolicy& policy, const std::string& peer,
                        std::string_view sanitised_name, uint64_t size);

// The scan command's argv for `file`: split on spaces, "{}" replaced by the
// path (no shell, so a name can inject nothing).
std::vector<std::string> ScanArgv(const std::string& scan_command, const std::string& file);

// "name.ext", then "name (1).ext", "name (2).ext", ...: the n-th candidate
// for a file that must not overwrite another.
std::string NumberedName(std::string_view name, int n);

}  // namespace confab::peer::transfer
