// The digests of the reconcile protocol (docs/design.md, "Conversations"),
// sans I/O: a vector digest per conversation, one root over the
// conversations two nodes share, and which conversations differ.
#pragma once

#include <map>
#include <vector>

#include "peer/chat/conversation.h"

namespace confab::peer::chat {

inline constexpr size_t kDigestBytes = 32;
inline constexpr size_t kShortDigestBytes = 8;

// BLAKE2b-256 of "confab vector v1" || 0x00 || the sorted (len16 author,
// author, seq as 8 bytes big-endian).
Bytes VectorDigest(const Vector& v);

// conversation id -> vector digest, for the conversations shared with a peer.
using DigestMap = std::map<Bytes, Bytes>;

// BLAKE2b-256 of "confab root v1" || 0x00 || the sorted (id length, id,
// digest). Equal roots: nothing to exchange.
Bytes RootDigest(const DigestMap& shared);

proto::ReconcileMessage DigestsMessage(const DigestMap& shared);

// The conversations whose short digest the peer reported differently, or
// did not report; InvalidArgument for a malformed report (a wrong id or
// digest length, more than kMaxConversations items).
[[nodiscard]] Result<std::vector<Bytes>> Differing(const DigestMap& mine,
                                                   const proto::ReconcileDigests& theirs);

}  // namespace confab::peer::chat
