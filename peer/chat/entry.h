// Entries of replicated conversations (docs/design.md, "Conversations"):
// conversation ids, building a signed entry, and checking one received from
// any member. Sans I/O: no sockets, no SQLite, no clock.
//
// An entry is `Entry {signed, signature}` where `signed` is a serialized
// EntryBody kept verbatim by every node; the signature covers `signed` under
// kEntrySigningContext and the entry id is BLAKE2b-256 of `signed`.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/crypto/identity.h"
#include "proto/conversation.pb.h"

namespace confab::peer::chat {

inline constexpr uint32_t kEntryVersion = 1;
// Distinct from every context in common/crypto/identity.h.
inline constexpr std::string_view kEntrySigningContext = "confab entry v1";
inline constexpr std::string_view kDirectIdContext = "confab direct v1";
inline constexpr size_t kDirectIdBytes = 32;
inline constexpr size_t kGroupIdBytes = 16;
inline constexpr size_t kEntryIdBytes = 32;
// The signed bytes of one entry, the same cap as a chat message's text so an
// entry and its batch framing fit in one frame.
inline constexpr size_t kMaxEntryBytes = 65280;
inline constexpr size_t kMaxNameBytes = 255;

using EntryId = std::array<uint8_t, kEntryIdBytes>;

// BLAKE2b-256(context || 0x00 || len16(a) || a || len16(b) || b) over the two
// names sorted bytewise: both persons derive the same id. InvalidArgument for
// an empty name, a name over kMaxNameBytes, or a == b.
[[nodiscard]] Result<Bytes> DirectConversationId(std::string_view a, std::string_view b);
// 16 random bytes.
Bytes NewGroupId();
bool IsDirectId(ByteView id);
bool IsGroupId(ByteView id);

EntryId EntryIdOf(ByteView signed_bytes);

// A checked entry: the parsed body, its exact signed bytes and its id.
struct VerifiedEntry {
  proto::EntryBody body;
  Bytes signed_bytes;
  Bytes signature;
  EntryId id{};
  // Retention (history.retain_days) forgot this text entry's signed bytes:
  // only its place (conversation, author, seq, lamport, kind) and id are
  // left, checked when it arrived. It counts as held and keeps the order,
  // but is never shown or passed on.
  bool purged = false;
  crypto::Ed25519PublicKey author_key() const;
};

// Serializes `body` (version is set to kEntryVersion, author_key to the
// key's public key), signs it and returns the wire entry. InvalidArgument if
// the result would exceed kMaxEntryBytes or the body is malformed (see
// CheckEntry).
[[nodiscard]] Result<proto::Entry> SignEntry(const crypto::SigningKey& key, proto::EntryBody body);

// SignEntry for an entry of our own, returned as checked without verifying
// the signature we just made (compose signs every message; a second
// Ed25519 operation per entry would cost as much again). The signed bytes
// are exactly SignEntry's.
[[nodiscard]] Result<VerifiedEntry> SignOwnEntry(const crypto::SigningKey& key,
                                                 proto::EntryBody body);

// Everything that can be checked from the entry alone: size, parse, version,
// conversation id length, author name, kind matching content, seq >= 1,
// lamport >= 1, author_key is 32 bytes and the signature verifies by it.
// InvalidArgument for malformed or oversize input, AuthFailed for a bad
// signature. Whether the author_key belongs to the author is for the caller
// (the contact book or certificate), see ConversationState::Accept.
[[nodiscard]] Result<VerifiedEntry> VerifyEntry(const proto::Entry& entry);
// The same from wire bytes (a serialized Entry).
[[nodiscard]] Result<VerifiedEntry> ParseEntry(ByteView wire);

}  // namespace confab::peer::chat
