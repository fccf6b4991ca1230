// The one JSON vocabulary of `confab ... --json` (docs/json.md, with a
// JSON Schema per command in docs/json/): every object is built here with
// nlohmann-json, so each command names the same things the same way.
//   - people: `name` (a contact, a member), `from` and `to` (a message, a
//     transfer);
//   - times: `<field>` as an ISO-8601 UTC string with milliseconds and a
//     `Z`, plus `<field>_unix_ms` as an integer; both null when unknown;
//   - ids: lower-case hex strings.
// The message handlers' engineers: MessageJson is the one builder of a
// message (history, export, outbox, msg); call it rather than writing fields.
#pragma once

#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "proto/control.pb.h"

namespace confab::peer::cli {

// Sets `field` (ISO-8601 UTC) and `field_unix_ms` on `object`; a time of 0
// or less (never, unknown) sets both to null.
void PutTime(nlohmann::json& object, std::string_view field, int64_t unix_ms);

// {id, from, to, text, state, time, time_unix_ms, seq}
nlohmann::json MessageJson(const proto::HistoryEntry& e);
// {id, from, to, peer, direction, name, size, bytes_done, rate_bytes_per_s,
//  type, state, path, error, digest, created(_unix_ms), updated(_unix_ms)}
nlohmann::json TransferJson(const proto::TransferEntry& e);
// {name, pinned, verified, blocked, key_change_pending}
nlohmann::json ContactJson(const proto::ContactEntry& c);
// {name, online, status, text, blocked, key_change_pending, unread}, and
// with `verbose` {path, path_address, path_reason}.
nlohmann::json PresenceJson(const proto::ContactPresence& p, bool verbose);
// `confab status --json`: the node and our own presence and certificate.
nlohmann::json NodeStatusJson(const proto::NodeStatus& n);

// One line on stdout. Invalid UTF-8 (which the node never stores, but a
// file name could carry) is replaced by U+FFFD rather than aborting.
void PrintJson(const nlohmann::json& value);

}  // namespace confab::peer::cli
