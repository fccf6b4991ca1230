// The control socket's entries (proto/control.proto) built from the node's
// records, for answers and events alike.
#pragma once

#include <string>

#include "peer/chat/history_store.h"
#include "peer/chat/replicas.h"
#include "peer/contacts/contact_book.h"
#include "peer/transfer/transfers.h"
#include "proto/control.pb.h"

namespace confab::peer {

// `m` as /history and the message events show it; `self` is our name.
proto::HistoryEntry ToEntry(const StoredMessage& m, const std::string& self);
// One entry of a replicated conversation: `to` is the other person of a
// direct conversation (or us, for theirs), "#NAME" for a group.
proto::HistoryEntry ToEntry(const chat::HistoryEntry& h, const chat::ConversationInfo& c,
                            const std::string& self);
void FillContact(const Contact& c, proto::ContactEntry* e);
// One row of `confab transfers`, and the transfer events' body; `self` is
// our name (the `from` of ours, the `to` of theirs).
void FillTransfer(const transfer::TransferView& v, const std::string& self,
                  proto::TransferEntry* e);

}  // namespace confab::peer
