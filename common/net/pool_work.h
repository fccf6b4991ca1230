// PoolWork: one job on libuv's thread pool (uv_queue_work), for work that
// would stall the loop: file reads and writes, hashing, running a scanner
// (DESIGN.md: "Work that would stall the loop ... goes to the libuv thread
// pool and comes back as a completion").
//
//   class ReadJob : public net::PoolWork { void Work() override; void Done(Status) override; };
//   CONFAB_RETURN_IF_ERROR(net::PoolWork::Submit(loop, std::make_unique<ReadJob>(...)));
//
// Work() runs on a pool thread and may touch only what the job owns (or
// what its owner promises not to touch until Done). Done() runs on the loop
// thread afterwards, exactly once, with OK or Cancelled/the uv error; the
// job is destroyed right after it. A job whose owner may be gone by then
// holds a weak_ptr to it. A submitted job keeps the loop running until Done.
#pragma once

#include <memory>

#include "common/base/status.h"
#include "common/net/loop.h"

namespace confab::net {

class PoolWork {
 public:
  virtual ~PoolWork() = default;
  virtual void Work() noexcept = 0;
  virtual void Done(Status status) noexcept = 0;

  // Queues `job`. The uv_queue_work error (the job is then dropped, Done not
  // called).
  [[nodiscard]] static Status Submit(Loop& loop, std::unique_ptr<PoolWork> job);
};

}  // namespace confab::net
