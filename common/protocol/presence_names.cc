#include "common/protocol/presence_names.h"

namespace confab::protocol {

std::string_view PresenceStatusName(proto::PresenceStatus status) {
  switch (status) {
    case proto::PRESENCE_ONLINE:
      return "online";
    case proto::PRESENCE_AWAY:
      return "away";
    case proto::PRESENCE_BUSY:
      return "busy";
    case proto::PRESENCE_INVISIBLE:
      return "invisible";
    default:
      return "offline";
  }
}

std::optional<proto::PresenceStatus> ParseSettableStatus(std::string_view word) {
  for (proto::PresenceStatus s : {proto::PRESENCE_ONLINE, proto::PRESENCE_AWAY,
                                  proto::PRESENCE_BUSY, proto::PRESENCE_INVISIBLE}) {
    if (word == PresenceStatusName(s))
      return s;
  }
  return std::nullopt;
}

bool ShowsOnline(proto::PresenceStatus status) {
  return status == proto::PRESENCE_ONLINE || status == proto::PRESENCE_AWAY ||
         status == proto::PRESENCE_BUSY;
}

}  // namespace confab::protocol
