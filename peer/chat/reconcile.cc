#include "peer/chat/reconcile.h"

#include <sodium.h>

namespace confab::peer::chat {
namespace {

void Append(Bytes& out, std::string_view context) {
  out.insert(out.end(), context.begin(), context.end());
  out.push_back(0);
}

Bytes Hash(const Bytes& in) {
  Bytes out(kDigestBytes);
  crypto_generichash(out.data(), out.size(), in.data(), in.size(), nullptr, 0);
  return out;
}

}  // namespace

Bytes VectorDigest(const Vector& v) {
  Bytes in;
  Append(in, "confab vector v1");
  for (const auto& [author, seq] : v) {
    in.push_back(static_cast<uint8_t>(author.size() >> 8));
    in.push_back(static_cast<uint8_t>(author.size() & 0xff));
    in.insert(in.end(), author.begin(), author.end());
    for (int shift = 56; shift >= 0; shift -= 8)
      in.push_back(static_cast<uint8_t>(seq >> shift));
  }
  return Hash(in);
}

Bytes RootDigest(const DigestMap& shared) {
  Bytes in;
  Append(in, "confab root v1");
  for (const auto& [id, digest] : shared) {
    in.push_back(static_cast<uint8_t>(id.size()));
    in.insert(in.end(), id.begin(), id.end());
    in.insert(in.end(), digest.begin(), digest.end());
  }
  return Hash(in);
}

proto::ReconcileMessage DigestsMessage(const DigestMap& shared) {
  proto::ReconcileMessage m;
  for (const auto& [id, digest] : shared) {
    proto::ConversationDigest* d = m.mutable_digests()->add_items();
    d->set_conversation(std::string(AsChars(id)));
    d->set_digest(std::string(AsChars(ByteView(digest).first(kShortDigestBytes))));
  }
  return m;
}

Result<std::vector<Bytes>> Differing(const DigestMap& mine, const proto::ReconcileDigests& theirs) {
  if (static_cast<size_t>(theirs.items_size()) > kMaxConversations) {
    return Status::InvalidArgument("digest report names more than " +
                                   std::to_string(kMaxConversations) + " conversations");
  }
  std::map<Bytes, Bytes> reported;
  for (const proto::ConversationDigest& d : theirs.items()) {
    Bytes id = ToBytes(AsBytes(d.conversation()));
    if ((!IsDirectId(id) && !IsGroupId(id)) || d.digest().size() != kShortDigestBytes) {
      return Status::InvalidArgument("malformed conversation digest");
    }
    reported[std::move(id)] = ToBytes(AsBytes(d.digest()));
  }
  std::vector<Bytes> out;
  for (const auto& [id, digest] : mine) {
    auto it = reported.find(id);
    if (it == reported.end() ||
        it->second != Bytes(digest.begin(), digest.begin() + kShortDigestBytes)) {
      out.push_back(id);
    }
  }
  return out;
}

}  // namespace confab::peer::chat
