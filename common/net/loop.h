// Loop: owns one uv_loop_t. One loop per thread; every confab::net object is
// created on a Loop and used only on that loop's thread.
//
// Shutdown (STYLE.md A4.6, Part C #11): Close() asks every handle still open
// to close (through its owner, which hears about it as if it had called its
// own Close, so e.g. a TcpConnection's delegate gets OnClosed), runs the loop
// until the close callbacks have run, then calls uv_loop_close(), which
// must return 0. A non-OK Close() therefore means a leak: a handle or request
// that nobody closed. Tests assert that it is OK.
//
// Every handle on the loop must belong to a confab::net object: Close() finds
// their owners through handle->data.
#pragma once

#include <cstdint>
#include <memory>

#include <uv.h>

#include "common/base/result.h"
#include "common/base/status.h"

namespace confab::net {

class Loop {
 public:
  enum class RunMode {
    kDefault,  // until nothing is active or Stop() is called
    kOnce,     // one iteration, blocking for I/O if there is nothing to do
    kNoWait,   // one iteration, never blocking
  };

  // IoError (or similar) if uv_loop_init fails.
  static Result<std::unique_ptr<Loop>> Create();
  // Calls Close() if the owner did not. If that fails the uv_loop_t is logged
  // and deliberately leaked: freeing memory libuv still links to is worse.
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // FailedPrecondition if called re-entrantly (from a callback of this
  // loop) or after Close(); libuv does not support nested runs.
  Status Run(RunMode mode = RunMode::kDefault);
  // Makes Run() return after the current iteration.
  void Stop();
  // True while there are active handles or requests.
  bool alive() const;
  // The loop's cached clock (updated at the start of each iteration).
  uint64_t now_ms() const;

  // See above. OK once the loop is closed (again OK if called again).
  // FailedPrecondition from inside Run(). Otherwise the uv_loop_close error
  // (Unavailable: EBUSY), after which the loop stays usable and Close() may
  // be retried.
  Status Close();

  // True from the start of Close(); the net factories then refuse to create
  // handles (FailedPrecondition), so a delegate's OnClosed cannot start new
  // work that would keep the closing loop running.
  bool closing() const { return closing_; }
  // FailedPrecondition when closing() is true; what factories call first.
  Status CheckOpen() const;

  // For the net classes. Null after Close().
  uv_loop_t* get() const { return loop_; }

 private:
  Loop() = default;
  static void WalkCb(uv_handle_t* handle, void* arg) noexcept;

  uv_loop_t* loop_ = nullptr;  // heap: libuv's own lifetime rules apply to it
  bool running_ = false;
  bool closing_ = false;
};

}  // namespace confab::net
