// MessageHandlers: `confab msg`, `confab history`, `confab export`, `confab outbox`.
#include <utility>

#include "common/base/member_name.h"
#include "common/base/wall_clock.h"
#include "peer/control/control_frame.h"
#include "peer/control/control_handlers.h"
#include "peer/control/control_response.h"
#include "peer/control/entries.h"

namespace confab::peer {

Result<std::vector<StoredMessage>> MessageHandlers::Queue(const std::string& to,
                                                          std::span<const std::string> texts) {
  if (to == p_.self_name)
    return Status::InvalidArgument("you cannot message yourself");
  CONFAB_ASSIGN_OR_RETURN(std::vector<StoredMessage> queued,
                          p_.messenger.ComposeBatch(to, texts, NowMs()));
  p_.correspondents.Follow(to);
  p_.sessions.DeliverSoon(to);
  p_.retry.Arm();
  p_.feed.OnMessages(queued);
  return queued;
}

proto::Response MessageHandlers::Send(const proto::SendRequest& request) {
  const std::string texts[] = {request.text()};
  Result<std::vector<StoredMessage>> queued = Queue(request.to(), texts);
  if (!queued.ok())
    return Failure(queued.status());
  proto::Response response;
  response.set_ok(true);
  response.set_message_id(ToHex(queued->front().id));
  return response;
}

proto::Response MessageHandlers::SendBatch(const proto::SendBatchRequest& request) {
  const std::vector<std::string> texts(request.texts().begin(), request.texts().end());
  Result<std::vector<StoredMessage>> queued = Queue(request.to(), texts);
  if (!queued.ok())
    return Failure(queued.status());
  proto::Response response;
  response.set_ok(true);
  for (const StoredMessage& m : *queued)
    response.add_message_ids(ToHex(m.id));
  return response;
}

proto::Response MessageHandlers::History(const proto::HistoryRequest& request) {
  if (Status valid = ValidateMemberName(request.contact()); !valid.ok())
    return Failure(valid);
  const size_t limit = request.limit() == 0 ? 100 : request.limit();
  Result<std::vector<StoredMessage>> messages =
      p_.messenger.History(request.contact(), request.since_unix_ms(), limit);
  if (!messages.ok())
    return Failure(messages.status());
  if (request.mark_read()) {
    if (Status marked = p_.history.MarkRead(request.contact()); !marked.ok())
      return Failure(marked);
  }
  proto::Response response;
  response.set_ok(true);
  for (const StoredMessage& m : *messages)
    *response.add_history() = ToEntry(m, p_.self_name);
  // Over the control socket's limit the answer could not be sent at all, and
  // the CLI would see a closed connection; say what to do instead.
  if (response.ByteSizeLong() + 64 > kMaxControlMessageBytes) {
    return Failure(Status::ResourceExhausted(
        "that history is too large for one answer; ask for fewer with --limit or --since"));
  }
  return response;
}

proto::Response MessageHandlers::Export(const proto::ExportRequest& request) {
  proto::Response response;
  Status done = p_.history.Export(request.since_unix_ms(), [&](const StoredMessage& m) {
    *response.add_history() = ToEntry(m, p_.self_name);
    return Status::Ok();
  });
  if (!done.ok())
    return Failure(done);
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
    Result<StoredMessage> dropped = p_.messenger.DropQueued(request.id());
    if (!dropped.ok())
      return Failure(dropped.status());
    *response.add_history() = ToEntry(*dropped, p_.self_name);
    response.set_ok(true);
    return response;
  }
  Result<std::vector<StoredMessage>> waiting = p_.messenger.Outbox(kMaxListed);
  if (!waiting.ok())
    return Failure(waiting.status());
  for (const StoredMessage& m : *waiting)
    *response.add_history() = ToEntry(m, p_.self_name);
  response.set_ok(true);
  if (response.ByteSizeLong() + 64 > kMaxControlMessageBytes) {
    return Failure(Status::ResourceExhausted(
        "the outbox is too large for one answer; see `confab history NAME` per contact"));
  }
  return response;
}

}  // namespace confab::peer
