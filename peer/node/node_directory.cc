// The node's directory cache (peer/contacts/directory_cache.h): lookup
// answers kept for reaching known contacts while the tracker is down, and
// the stored revocation list.
#include <spdlog/spdlog.h>

#include "common/base/wall_clock.h"
#include "peer/node/node.h"

namespace confab::peer {

void Node::OnLookupVerified(const std::string& name, const proto::LookupResult& result) {
  if (Status kept = directory_->Remember(name, result, NowMs()); !kept.ok())
    spdlog::warn("keeping {}'s lookup answer: {}", name, kept.ToString());
}

std::optional<proto::LookupResult> Node::CachedLookup(const std::string& name) {
  Result<std::optional<proto::LookupResult>> kept = directory_->Recall(name);
  if (!kept.ok()) {
    spdlog::warn("reading {}'s kept lookup answer: {}", name, kept.status().ToString());
    return std::nullopt;
  }
  return std::move(*kept);
}

Status Node::LoadRevocations() {
  CONFAB_ASSIGN_OR_RETURN(std::vector<RevokedKey> revoked, directory_->RevokedKeys());
  for (const RevokedKey& r : revoked)
    port_->RefuseKey(r.name, r.identity_key);
  if (!revoked.empty())
    spdlog::info("{} revoked key(s) on record are refused", revoked.size());
  return Status::Ok();
}

}  // namespace confab::peer
