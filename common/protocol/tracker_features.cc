#include "common/protocol/tracker_features.h"

namespace confab::protocol {

bool HasFeature(const proto::SessionWelcome& welcome, std::string_view feature) {
  for (const std::string& f : welcome.features()) {
    if (f == feature)
      return true;
  }
  return false;
}

Status RelayOffered(const proto::SessionWelcome& welcome) {
  if (welcome.protocol_version() < kTrackerRelayVersion)
    return Status::FailedPrecondition("relay: the tracker is too old");
  if (!HasFeature(welcome, kFeatureRelay))
    return Status::FailedPrecondition("relay: disabled on the tracker");
  return Status::Ok();
}

Status MailboxOffered(const proto::SessionWelcome& welcome) {
  if (welcome.protocol_version() < kTrackerMailboxVersion)
    return Status::FailedPrecondition("mailbox: the tracker is too old");
  if (!HasFeature(welcome, kFeatureMailbox))
    return Status::FailedPrecondition("mailbox: disabled on the tracker");
  return Status::Ok();
}

}  // namespace confab::protocol
