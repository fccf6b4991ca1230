#include "peer/cli/cli_json.h"

#include <cstdio>
#include <string>

#include "common/base/utc_time.h"

namespace confab::peer::cli {

void PutTime(nlohmann::json& object, std::string_view field, int64_t unix_ms) {
  const std::string key(field);
  if (unix_ms <= 0) {
    object[key] = nullptr;
    object[key + "_unix_ms"] = nullptr;
    return;
  }
  object[key] = UtcIso8601Ms(unix_ms);
  object[key + "_unix_ms"] = unix_ms;
}

nlohmann::json MessageJson(const proto::HistoryEntry& e) {
  nlohmann::json j = {{"id", e.id()},     {"from", e.from()},   {"to", e.to()},
                      {"text", e.text()}, {"state", e.state()}, {"seq", e.seq()}};
  PutTime(j, "time", e.time_unix_ms());
  j["delivered_to"] = nlohmann::json::array();
  for (const std::string& d : e.delivered_to())
    j["delivered_to"].push_back(d);
  return j;
}

nlohmann::json TransferJson(const proto::TransferEntry& e) {
  nlohmann::json j = {{"id", e.id()},
                      {"from", e.from()},
                      {"to", e.to()},
                      {"peer", e.peer()},
                      {"direction", e.direction()},
                      {"name", e.name()},
                      {"size", e.size()},
                      {"bytes_done", e.bytes_done()},
                      {"rate_bytes_per_s", static_cast<uint64_t>(e.rate_bytes_per_s())},
                      {"type", e.type()},
                      {"state", e.state()},
                      {"path", e.path()},
                      {"error", e.error()},
                      {"digest", e.digest()}};
  PutTime(j, "created", e.created_unix_ms());
  PutTime(j, "updated", e.updated_unix_ms());
  return j;
}

nlohmann::json ContactJson(const proto::ContactEntry& c) {
  return {{"name", c.name()},
          {"pinned", c.pinned()},
          {"verified", c.verified()},
          {"blocked", c.blocked()},
          {"key_change_pending", c.key_change_pending()}};
}

nlohmann::json PresenceJson(const proto::ContactPresence& p, bool verbose) {
  nlohmann::json j = {{"name", p.name()},       {"online", p.online()},
                      {"status", p.status()},   {"text", p.text()},
                      {"blocked", p.blocked()}, {"key_change_pending", p.key_change_pending()},
                      {"unread", p.unread()}};
  if (verbose) {
    // The contract: one of tcp, udp, relay, none (a contact never tried
    // has no report on the node).
    const bool tried = !p.path().empty();
    j["path"] = tried ? p.path() : "none";
    j["path_address"] = p.path_address();
    j["path_reason"] = tried ? p.path_reason() : "not tried yet";
  }
  return j;
}

nlohmann::json NodeStatusJson(const proto::NodeStatus& n) {
  nlohmann::json j = {{"name", n.name()},
                      {"status", n.status()},
                      {"text", n.status_text()},
                      {"tracker", n.tracker_connected() ? "connected" : "disconnected"},
                      {"tracker_address", n.tracker_address()},
                      {"peer_address", n.peer_address()},
                      {"public_udp", n.public_udp()},
                      {"nat", n.nat()},
                      {"path_policy", n.path_policy()},
                      {"udp_sessions", n.udp_sessions()},
                      {"relayed_sessions", n.relayed_sessions()}};
  PutTime(j, "certificate_expires", n.certificate_expires_unix_ms());
  return j;
}

void PrintJson(const nlohmann::json& value) {
  const std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::printf("%s\n", text.c_str());
}

}  // namespace confab::peer::cli
