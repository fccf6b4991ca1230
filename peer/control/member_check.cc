#include "peer/control/member_check.h"

#include <utility>

namespace confab::peer {

class MemberCheck::Pending final : private net::Timer::Delegate {
 public:
  Pending(MemberCheck& owner, uint64_t request_id, std::string name)
      : owner_(owner), request_id_(request_id), name_(std::move(name)) {}

  Status Start(net::Loop& loop, uint64_t timeout_ms) {
    CONFAB_ASSIGN_OR_RETURN(timer_, net::Timer::Create(loop, this));
    return timer_->Start(timeout_ms);
  }
  const std::string& name() const { return name_; }
  void Add(Done done) { waiting_.push_back(std::move(done)); }
  // Hands every waiting callback the verdict.
  void Tell(Verdict verdict, const std::string& why) {
    for (Done& done : waiting_)
      done(verdict, why);
  }

 private:
  void OnTimer() override {
    owner_.Finish(request_id_, Verdict::kUnknown, "the tracker did not answer in time");
  }

  MemberCheck& owner_;
  const uint64_t request_id_;
  const std::string name_;
  std::vector<Done> waiting_;
  std::unique_ptr<net::Timer> timer_;
};

MemberCheck::MemberCheck(MemberCheckParams params) : p_(std::move(params)) {}
MemberCheck::~MemberCheck() = default;

void MemberCheck::Check(const std::string& name, Done done) {
  if (p_.known(name)) {
    done(Verdict::kMember, "");
    return;
  }
  for (auto& [id, pending] : pending_) {
    if (pending->name() == name) {
      pending->Add(std::move(done));
      return;
    }
  }
  if (pending_.size() >= kMaxPendingMemberChecks) {
    done(Verdict::kUnknown, "too many names are being checked at once");
    return;
  }
  Result<uint64_t> asked = p_.lookup(name);
  if (!asked.ok()) {
    done(Verdict::kUnknown, "the tracker is not reachable");
    return;
  }
  auto pending = std::make_unique<Pending>(*this, *asked, name);
  if (Status started = pending->Start(p_.loop, p_.timeout_ms); !started.ok()) {
    done(Verdict::kUnknown, std::string(started.message()));
    return;
  }
  pending->Add(std::move(done));
  pending_.emplace(*asked, std::move(pending));
}

bool MemberCheck::OnLookupResult(const proto::LookupResult& result) {
  if (pending_.count(result.request_id()) == 0)
    return false;
  if (result.found()) {
    Finish(result.request_id(), Verdict::kMember, "");
  } else if (result.no_such_member() || result.error() == "no such member") {
    Finish(result.request_id(), Verdict::kNoSuchMember, "");
  } else if (result.revoked() || result.error() == "revoked") {
    Finish(result.request_id(), Verdict::kRevoked, "");
  } else {  // the session dropped, a rate limit, the directory failing
    Finish(result.request_id(), Verdict::kUnknown,
           result.error().empty() ? "the tracker could not say" : result.error());
  }
  return true;
}

void MemberCheck::Finish(uint64_t request_id, Verdict verdict, const std::string& why) {
  auto it = pending_.find(request_id);
  if (it == pending_.end())
    return;
  // Out of the map first: a callback may start another check. The timer
  // (possibly the caller) is destroyed only after the callbacks return.
  std::unique_ptr<Pending> done = std::move(it->second);
  pending_.erase(it);
  done->Tell(verdict, why);
}

}  // namespace confab::peer
