#include "tracker/cluster_punch.h"

#include <charconv>

namespace confab::tracker {
namespace {

constexpr size_t kMaxName = 64;

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxName)
    return false;
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return false;
  }
  return true;
}

}  // namespace

std::string PunchPayload(const ClusterPunch& p) {
  return p.target + "\n" + std::to_string(p.request_id) + "\n" + p.requester;
}

std::optional<ClusterPunch> ParsePunchPayload(std::string_view payload) {
  if (payload.size() > kMaxPunchPayloadBytes)
    return std::nullopt;
  const size_t first = payload.find('\n');
  if (first == std::string_view::npos)
    return std::nullopt;
  const size_t second = payload.find('\n', first + 1);
  if (second == std::string_view::npos)
    return std::nullopt;
  ClusterPunch p;
  const std::string_view target = payload.substr(0, first);
  const std::string_view id = payload.substr(first + 1, second - first - 1);
  const std::string_view requester = payload.substr(second + 1);
  if (!ValidName(target) || !ValidName(requester) || id.empty() || id.size() > 20)
    return std::nullopt;
  for (char c : id) {
    if (c < '0' || c > '9')
      return std::nullopt;
  }
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), p.request_id);
  if (ec != std::errc() || end != id.data() + id.size())
    return std::nullopt;
  p.target = std::string(target);
  p.requester = std::string(requester);
  return p;
}

}  // namespace confab::tracker
