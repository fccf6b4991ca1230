// MemberCheck: whether a name a person typed (`confab msg bbo`, `send`,
// `contacts add`) belongs to a member of the organisation, before anything
// is queued or offered to it. Without it a typo queues a message for nobody,
// forever.
//
// A name the node already trusts (a contact, or one whose certificate it
// verified before) passes at once. Any other is looked up on the tracker;
// the answer says member, no such member, or revoked. When the tracker
// cannot be asked (link down, no answer within timeout_ms), the verdict is
// kUnknown and the caller decides: commands queue anyway and say so, since
// the tracker can deny service but must not stop a person writing.
//
// Lifetime: the loop and everything the callbacks reach outlive it. Results
// of lookups it did not ask for are not its business (OnLookupResult says
// so). Loop thread; not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/base/result.h"
#include "common/net/loop.h"
#include "common/net/timer.h"
#include "proto/tracker.pb.h"

namespace confab::peer {

inline constexpr uint64_t kMemberCheckTimeoutMs = 3000;
// At most this many checks wait on the tracker at once; beyond, kUnknown.
inline constexpr size_t kMaxPendingMemberChecks = 64;

struct MemberCheckParams {
  net::Loop& loop;
  // True for a name the node already trusts as a member.
  std::function<bool(const std::string& name)> known;
  // Asks the tracker; the answer comes to OnLookupResult with this id.
  std::function<Result<uint64_t>(const std::string& name)> lookup;
  uint64_t timeout_ms = kMemberCheckTimeoutMs;
};

class MemberCheck {
 public:
  enum class Verdict { kMember, kNoSuchMember, kRevoked, kUnknown };
  // `why` for kUnknown: what kept the tracker from answering.
  using Done = std::function<void(Verdict verdict, const std::string& why)>;

  explicit MemberCheck(MemberCheckParams params);
  ~MemberCheck();

  // Calls `done` once: at once for a known name or when the tracker cannot
  // be asked, otherwise when its answer arrives or the timeout passes. A
  // second check of a name already being asked joins the first.
  void Check(const std::string& name, Done done);

  // True if `result` answers one of our lookups (it is then consumed).
  bool OnLookupResult(const proto::LookupResult& result);

  size_t pending() const { return pending_.size(); }

 private:
  class Pending;
  void Finish(uint64_t request_id, Verdict verdict, const std::string& why);

  MemberCheckParams p_;
  std::map<uint64_t, std::unique_ptr<Pending>> pending_;  // by lookup request id
};

}  // namespace confab::peer
