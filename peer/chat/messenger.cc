#include "peer/chat/messenger.h"

#include <algorithm>
#include <limits>
#include <set>
#include <string>

#include "common/base/member_name.h"

namespace confab::peer {
namespace {

Status CheckText(std::string_view text) {
  if (text.empty())
    return Status::InvalidArgument("a message needs some text");
  if (text.size() > kMaxTextBytes)
    return Status::InvalidArgument("a message's text is at most " + std::to_string(kMaxTextBytes) +
                                   " bytes");
  if (!IsValidUtf8(text))
    return Status::InvalidArgument("a message's text must be UTF-8");
  return Status::Ok();
}

Status CheckNotBlocked(ContactBook& contacts, std::string_view name) {
  CONFAB_ASSIGN_OR_RETURN(bool blocked, contacts.IsBlocked(name));
  if (blocked)
    return Status::PermissionDenied(std::string(name) + " is blocked");
  return Status::Ok();
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<uint8_t>(text[i]);
    size_t extra = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (text.size() - i <= extra)
      return false;
    for (size_t k = 1; k <= extra; ++k) {
      auto cc = static_cast<uint8_t>(text[i + k]);
      if ((cc & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += extra + 1;
  }
  return true;
}

Result<StoredMessage> Messenger::Compose(std::string_view to, std::string_view text,
                                         int64_t now_ms) {
  const std::string one[] = {std::string(text)};
  CONFAB_ASSIGN_OR_RETURN(std::vector<StoredMessage> stored, ComposeBatch(to, one, now_ms));
  return std::move(stored.front());
}

Result<std::vector<StoredMessage>> Messenger::ComposeBatch(std::string_view to,
                                                           std::span<const std::string> texts,
                                                           int64_t now_ms) {
  CONFAB_RETURN_IF_ERROR(CheckCanWrite(to, texts));
  return history_.AppendOutgoingBatch(to, texts, now_ms);
}

Status Messenger::CheckCanWrite(std::string_view to, std::span<const std::string> texts) {
  CONFAB_RETURN_IF_ERROR(ValidateMemberName(to));
  if (texts.empty())
    return Status::InvalidArgument("no messages to send");
  if (texts.size() > kMaxComposeBatch)
    return Status::InvalidArgument("at most " + std::to_string(kMaxComposeBatch) +
                                   " messages at once");
  for (const std::string& text : texts)
    CONFAB_RETURN_IF_ERROR(CheckText(text));
  Result<Contact> contact = contacts_.Get(to);
  if (contact.ok()) {
    if (contact->blocked)
      return Status::PermissionDenied(std::string(to) + " is blocked");
    if (!contact->pending_key.empty()) {
      return Status::AuthFailed(std::string(to) +
                                "'s identity key has changed; accept the change before sending");
    }
  } else if (contact.status().code() != Status::Code::kNotFound) {
    return contact.status();
  }
  return Status::Ok();
}

Result<std::vector<StoredMessage>> Messenger::PendingFor(std::string_view contact) {
  CONFAB_RETURN_IF_ERROR(ValidateMemberName(contact));
  return history_.Outbox(contact);
}

Result<std::vector<StoredMessage>> Messenger::PendingFor(std::string_view contact,
                                                         uint64_t after_seq, size_t limit) {
  CONFAB_RETURN_IF_ERROR(ValidateMemberName(contact));
  return history_.Outbox(contact, after_seq, limit);
}

Result<int64_t> Messenger::MarkSent(std::string_view contact, std::span<const MessageId> ids,
                                    int64_t now_ms) {
  CONFAB_RETURN_IF_ERROR(ValidateMemberName(contact));
  const MessageState from[] = {MessageState::kQueued};
  // Lazy: "sent" only informs `confab history`. If a power loss undoes it,
  // the message is queued again and resent; the receiver acks the retry and
  // stores it once (ids), so nothing is lost or shown twice.
  return history_.UpdateOutgoingState(contact, ids, from, MessageState::kSent, now_ms,
                                      HistoryStore::Sync::kLazy);
}

Result<int64_t> Messenger::MarkSentThrough(std::string_view contact, uint64_t after_seq,
                                           uint64_t through_seq, int64_t now_ms) {
  CONFAB_RETURN_IF_ERROR(ValidateMemberName(contact));
  // Lazy, as MarkSent.
  return history_.UpdateOutgoingStateBySeq(contact, after_seq, through_seq, MessageState::kQueued,
                                           MessageState::kSent, now_ms, HistoryStore::Sync::kLazy);
}

Result<int64_t> Messenger::OnAck(std::string_view from, const proto::Ack& ack, int64_t now_ms) {
  CONFAB_RETURN_IF_ERROR(ValidateMemberName(from));
  std::vector<MessageId> ids;
  ids.reserve(static_cast<size_t>(ack.ids_size()));
  for (const std::string& raw : ack.ids()) {
    if (raw.size() != kMessageIdBytes)
      continue;  // an id we never issued; nothing to mark
    MessageId id;
    std::copy(raw.begin(), raw.end(), id.begin());
    ids.push_back(id);
  }
  if (ids.empty())
    return 0;  // e.g. the empty Ack a dialer with nothing to send opens with
  // An ack may overtake MarkSent (the write completed, the ack came back,
  // and only then did the node note it), so queued counts too.
  const MessageState states[] = {MessageState::kQueued, MessageState::kSent};
  // Lazy, like MarkSent: the message itself is durable at the receiver
  // before any ack is sent. If a power loss here undoes "delivered", the
  // message is resent, acknowledged again and stored there once; the one
  // fsync saved is on the critical path of every round trip.
  return history_.UpdateOutgoingState(from, ids, states, MessageState::kDelivered, now_ms,
                                      HistoryStore::Sync::kLazy);
}

Result<ReceiveResult> Messenger::Receive(std::string_view from,
                                         std::span<const proto::ChatMessage> batch,
                                         int64_t now_ms) {
  CONFAB_RETURN_IF_ERROR(ValidateMemberName(from));
  CONFAB_RETURN_IF_ERROR(CheckNotBlocked(contacts_, from));
  std::vector<IncomingMessage> incoming;
  incoming.reserve(batch.size());
  for (const proto::ChatMessage& chat : batch) {
    if (chat.id().size() != kMessageIdBytes)
      return Status::InvalidArgument("a message id is 16 bytes");
    if (chat.seq() == 0 || chat.seq() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return Status::InvalidArgument("a message seq is 1 to 2^63-1");
    CONFAB_RETURN_IF_ERROR(CheckText(chat.text()));
    IncomingMessage in;
    std::copy(chat.id().begin(), chat.id().end(), in.id.begin());
    in.seq = chat.seq();
    in.sent_ms = chat.sent_unix_ms();
    in.text = chat.text();
    incoming.push_back(in);
  }
  CONFAB_ASSIGN_OR_RETURN(std::vector<bool> fresh, history_.AppendIncoming(from, incoming, now_ms));

  // Only now, with the batch committed, may anything be acknowledged.
  ReceiveResult result;
  std::set<MessageId> acked;
  for (size_t i = 0; i < incoming.size(); ++i) {
    const IncomingMessage& in = incoming[i];
    if (acked.insert(in.id).second)
      result.ack.add_ids(in.id.data(), in.id.size());
    if (!fresh[i])
      continue;
    StoredMessage m;
    m.id = in.id;
    m.conversation = std::string(from);
    m.direction = Direction::kIn;
    m.seq = in.seq;
    m.sent_ms = in.sent_ms;
    m.received_ms = now_ms;
    m.state = MessageState::kReceived;
    m.state_ms = now_ms;
    m.text = std::string(in.text);
    result.fresh.push_back(std::move(m));
  }
  return result;
}

Result<std::vector<StoredMessage>> Messenger::History(std::string_view contact, int64_t since_ms,
                                                      size_t limit) {
  CONFAB_RETURN_IF_ERROR(ValidateMemberName(contact));
  return history_.Conversation(contact, since_ms, limit);
}

proto::ChatMessage Messenger::ToWire(const StoredMessage& message) {
  proto::ChatMessage chat;
  chat.set_id(message.id.data(), message.id.size());
  chat.set_seq(message.seq);
  chat.set_sent_unix_ms(message.sent_ms);
  chat.set_text(message.text);
  return chat;
}

}  // namespace confab::peer
