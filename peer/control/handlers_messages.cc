// MessageHandlers: `confab msg`, `confab history`, `confab export`, `confab outbox`.
#include <algorithm>
#include <utility>

#include "common/base/member_name.h"
#include "common/base/wall_clock.h"
#include "peer/control/control_frame.h"
#include "peer/control/control_handlers.h"
#include "peer/control/control_response.h"
#include "peer/control/entries.h"

namespace confab::peer {

Result<std::vector<chat::HistoryEntry>> MessageHandlers::Queue(const std::string& to,
                                                               std::span<const std::string> texts) {
  if (to == p_.self_name)
    return Status::InvalidArgument("you cannot message yourself");
  CONFAB_RETURN_IF_ERROR(p_.messenger.CheckCanWrite(to, texts));
  CONFAB_ASSIGN_OR_RETURN(Bytes conversation, p_.replicas.EnsureDirect(to));
  CONFAB_ASSIGN_OR_RETURN(std::vector<chat::HistoryEntry> queued,
                          p_.replicas.ComposeBatch(conversation, texts, NowMs()));
  p_.correspondents.Follow(to);
  p_.sessions.DeliverSoon(to);
  p_.retry.Arm();
  chat::ConversationInfo info;
  info.id = conversation;
  info.peer = to;
  p_.feed.OnEntries(info, queued);
  return queued;
}

proto::Response MessageHandlers::Send(const proto::SendRequest& request) {
  const std::string texts[] = {request.text()};
  Result<std::vector<chat::HistoryEntry>> queued = Queue(request.to(), texts);
  if (!queued.ok())
    return Failure(queued.status());
  proto::Response response;
  response.set_ok(true);
  response.set_message_id(ToHex(queued->front().entry.id));
  return response;
}

proto::Response MessageHandlers::SendBatch(const proto::SendBatchRequest& request) {
  const std::vector<std::string> texts(request.texts().begin(), request.texts().end());
  Result<std::vector<chat::HistoryEntry>> queued = Queue(request.to(), texts);
  if (!queued.ok())
    return Failure(queued.status());
  proto::Response response;
  response.set_ok(true);
  for (const chat::HistoryEntry& h : *queued)
    response.add_message_ids(ToHex(h.entry.id));
  return response;
}

proto::Response MessageHandlers::History(const proto::HistoryRequest& request) {
  if (Status valid = ValidateMemberName(request.contact()); !valid.ok())
    return Failure(valid);
  if (request.contact() == p_.self_name)
    return Failure(Status::InvalidArgument("there is no conversation with yourself"));
  const size_t limit = request.limit() == 0 ? 100 : request.limit();
  Result<Bytes> conversation = p_.replicas.EnsureDirect(request.contact());
  if (!conversation.ok())
    return Failure(conversation.status());
  Result<std::vector<chat::HistoryEntry>> all = p_.replicas.History(*conversation);
  if (!all.ok())
    return Failure(all.status());
  std::vector<const chat::HistoryEntry*> shown;
  for (const chat::HistoryEntry& h : *all) {
    if (h.entry.kind == proto::ENTRY_TEXT && h.entry.received_ms >= request.since_unix_ms())
      shown.push_back(&h);
  }
  if (shown.size() > limit)
    shown.erase(shown.begin(), shown.end() - static_cast<std::ptrdiff_t>(limit));
  if (request.mark_read()) {
    if (Status marked = p_.history.MarkRead(request.contact()); !marked.ok())
      return Failure(marked);
  }
  chat::ConversationInfo info;
  info.id = *conversation;
  info.peer = request.contact();
  proto::Response response;
  response.set_ok(true);
  for (const chat::HistoryEntry* h : shown)
    *response.add_history() = ToEntry(*h, info, p_.self_name);
  // Over the control socket's limit the answer could not be sent at all, and
  // the CLI would see a closed connection; say what to do instead.
  if (response.ByteSizeLong() + 64 > kMaxControlMessageBytes) {
    return Failure(Status::ResourceExhausted(
        "that history is too large for one answer; ask for fewer with --limit or --since"));
  }
  return response;
}

proto::Response MessageHandlers::Export(const proto::ExportRequest& request) {
  // Every conversation, direct and group, migrated and signed entries alike.
  Result<std::vector<chat::ConversationInfo>> all = p_.replicas.Conversations();
  if (!all.ok())
    return Failure(all.status());
  std::vector<std::pair<int64_t, proto::HistoryEntry>> rows;
  for (const chat::ConversationInfo& c : *all) {
    Result<std::vector<chat::HistoryEntry>> h = p_.replicas.History(c.id);
    if (!h.ok())
      return Failure(h.status());
    for (const chat::HistoryEntry& e : *h) {
      if (e.entry.kind == proto::ENTRY_TEXT && e.entry.received_ms >= request.since_unix_ms())
        rows.emplace_back(e.entry.received_ms, ToEntry(e, c, p_.self_name));
    }
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  proto::Response response;
  for (auto& [at, e] : rows)
    *response.add_history() = std::move(e);
  response.set_ok(true);
  if (response.ByteSizeLong() + 64 > kMaxControlMessageBytes) {
    return Failure(Status::ResourceExhausted(
        "the history is too large for one answer; export it in parts with --since"));
  }
  return response;
}

proto::Response MessageHandlers::Outbox(const proto::OutboxRequest& request) {
  // As many as one answer carries; `confab outbox` says when there are more.
  constexpr size_t kMaxListed = 1000;
  proto::Response response;
  if (request.action() == proto::OutboxRequest::ACTION_DROP) {
    Result<chat::HistoryEntry> dropped = p_.replicas.DropQueued(request.id(), NowMs());
    if (!dropped.ok())
      return Failure(dropped.status());
    Result<chat::ConversationInfo> info = p_.replicas.Info(dropped->entry.conversation);
    if (!info.ok())
      return Failure(info.status());
    *response.add_history() = ToEntry(*dropped, *info, p_.self_name);
    response.set_ok(true);
    return response;
  }
  Result<std::vector<chat::HistoryEntry>> waiting = p_.replicas.Outbox();
  if (!waiting.ok())
    return Failure(waiting.status());
  for (const chat::HistoryEntry& h : *waiting) {
    if (static_cast<size_t>(response.history_size()) >= kMaxListed)
      break;
    Result<chat::ConversationInfo> info = p_.replicas.Info(h.entry.conversation);
    if (!info.ok())
      return Failure(info.status());
    *response.add_history() = ToEntry(h, *info, p_.self_name);
  }
  response.set_ok(true);
  if (response.ByteSizeLong() + 64 > kMaxControlMessageBytes) {
    return Failure(Status::ResourceExhausted(
        "the outbox is too large for one answer; see `confab history NAME` per contact"));
  }
  return response;
}

}  // namespace confab::peer
