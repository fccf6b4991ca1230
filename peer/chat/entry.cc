#include "peer/chat/entry.h"

#include <algorithm>

#include <sodium.h>

#include "common/crypto/sodium.h"

namespace confab::peer::chat {
namespace {

void AppendLen16(Bytes& out, std::string_view s) {
  out.push_back(static_cast<uint8_t>(s.size() >> 8));
  out.push_back(static_cast<uint8_t>(s.size() & 0xff));
  out.insert(out.end(), s.begin(), s.end());
}

bool ContentMatchesKind(const proto::EntryBody& b) {
  using C = proto::EntryBody;
  switch (b.kind()) {
    case proto::ENTRY_TEXT:
      return b.content_case() == C::kText;
    case proto::ENTRY_GROUP_CREATE:
      return b.content_case() == C::kCreate;
    case proto::ENTRY_GROUP_ADD:
      return b.content_case() == C::kAdd;
    case proto::ENTRY_GROUP_REMOVE:
      return b.content_case() == C::kRemove;
    case proto::ENTRY_GROUP_LEAVE:
      return b.content_case() == C::kLeave;
    case proto::ENTRY_GROUP_PROMOTE:
      return b.content_case() == C::kPromote;
    default:
      return false;
  }
}

Status CheckBody(const proto::EntryBody& b) {
  if (b.version() != kEntryVersion) {
    return Status::InvalidArgument("entry version " + std::to_string(b.version()) +
                                   " is not supported: upgrade confab");
  }
  if (!IsDirectId(AsBytes(b.conversation())) && !IsGroupId(AsBytes(b.conversation()))) {
    return Status::InvalidArgument("entry conversation id has the wrong length");
  }
  if (b.author().empty() || b.author().size() > kMaxNameBytes) {
    return Status::InvalidArgument("entry author name is empty or too long");
  }
  if (b.author_key().size() != crypto::kEd25519PublicKeyBytes) {
    return Status::InvalidArgument("entry author key is not 32 bytes");
  }
  if (b.seq() == 0 || b.lamport() == 0) {
    return Status::InvalidArgument("entry seq and lamport start at 1");
  }
  if (!ContentMatchesKind(b)) {
    return Status::InvalidArgument("entry kind does not match its content");
  }
  if (IsDirectId(AsBytes(b.conversation())) && b.kind() != proto::ENTRY_TEXT) {
    return Status::InvalidArgument("a direct conversation has no membership entries");
  }
  return Status::Ok();
}

}  // namespace

Result<Bytes> DirectConversationId(std::string_view a, std::string_view b) {
  if (a.empty() || b.empty() || a.size() > kMaxNameBytes || b.size() > kMaxNameBytes) {
    return Status::InvalidArgument("a direct conversation needs two names of 1 to 255 bytes");
  }
  if (a == b)
    return Status::InvalidArgument("a direct conversation needs two different persons");
  if (b < a)
    std::swap(a, b);
  Bytes in(kDirectIdContext.begin(), kDirectIdContext.end());
  in.push_back(0);
  AppendLen16(in, a);
  AppendLen16(in, b);
  Bytes out(kDirectIdBytes);
  crypto_generichash(out.data(), out.size(), in.data(), in.size(), nullptr, 0);
  return out;
}

Bytes NewGroupId() {
  (void)crypto::InitSodium();
  Bytes id(kGroupIdBytes);
  randombytes_buf(id.data(), id.size());
  return id;
}

bool IsDirectId(ByteView id) {
  return id.size() == kDirectIdBytes;
}
bool IsGroupId(ByteView id) {
  return id.size() == kGroupIdBytes;
}

EntryId EntryIdOf(ByteView signed_bytes) {
  EntryId id{};
  crypto_generichash(id.data(), id.size(), signed_bytes.data(), signed_bytes.size(), nullptr, 0);
  return id;
}

crypto::Ed25519PublicKey VerifiedEntry::author_key() const {
  crypto::Ed25519PublicKey k{};
  // A purged entry's place carries no key: all zeros, which no key equals.
  if (body.author_key().size() == k.size())
    std::copy_n(body.author_key().begin(), k.size(), k.begin());
  return k;
}

Result<proto::Entry> SignEntry(const crypto::SigningKey& key, proto::EntryBody body) {
  body.set_version(kEntryVersion);
  body.set_author_key(std::string(key.public_key().begin(), key.public_key().end()));
  if (Status s = CheckBody(body); !s.ok())
    return s;
  std::string signed_bytes = body.SerializeAsString();
  if (signed_bytes.size() > kMaxEntryBytes) {
    return Status::InvalidArgument("entry is larger than " + std::to_string(kMaxEntryBytes) +
                                   " bytes");
  }
  crypto::Ed25519Signature sig = key.Sign(kEntrySigningContext, AsBytes(signed_bytes));
  proto::Entry e;
  e.set_signed_(std::move(signed_bytes));
  e.set_signature(std::string(sig.begin(), sig.end()));
  return e;
}

Result<VerifiedEntry> SignOwnEntry(const crypto::SigningKey& key, proto::EntryBody body) {
  CONFAB_ASSIGN_OR_RETURN(proto::Entry wire, SignEntry(key, std::move(body)));
  VerifiedEntry v;
  // Parsed back from the bytes, so the body is what every other node sees.
  if (!v.body.ParseFromString(wire.signed_()))
    return Status::Corruption("our own entry body does not parse");
  v.signed_bytes = ToBytes(AsBytes(wire.signed_()));
  v.signature = ToBytes(AsBytes(wire.signature()));
  v.id = EntryIdOf(v.signed_bytes);
  return v;
}

Result<VerifiedEntry> VerifyEntry(const proto::Entry& entry) {
  const std::string& signed_bytes = entry.signed_();
  if (signed_bytes.size() > kMaxEntryBytes) {
    return Status::InvalidArgument("entry is larger than " + std::to_string(kMaxEntryBytes) +
                                   " bytes");
  }
  VerifiedEntry v;
  if (!v.body.ParseFromString(signed_bytes)) {
    return Status::InvalidArgument("entry body does not parse");
  }
  if (Status s = CheckBody(v.body); !s.ok())
    return s;
  if (entry.signature().size() != crypto::kEd25519SignatureBytes) {
    return Status::InvalidArgument("entry signature is not 64 bytes");
  }
  if (Status s = crypto::Verify(v.author_key(), kEntrySigningContext, AsBytes(signed_bytes),
                                AsBytes(entry.signature()));
      !s.ok()) {
    return Status::AuthFailed("entry signature does not verify by its author key");
  }
  v.signed_bytes = ToBytes(AsBytes(signed_bytes));
  v.signature = ToBytes(AsBytes(entry.signature()));
  v.id = EntryIdOf(v.signed_bytes);
  return v;
}

Result<VerifiedEntry> ParseEntry(ByteView wire) {
  if (wire.size() > kMaxEntryBytes + 256) {
    return Status::InvalidArgument("entry is larger than " + std::to_string(kMaxEntryBytes) +
                                   " bytes");
  }
  proto::Entry e;
  if (!e.ParseFromArray(wire.data(), static_cast<int>(wire.size()))) {
    return Status::InvalidArgument("entry does not parse");
  }
  return VerifyEntry(e);
}

}  // namespace confab::peer::chat
