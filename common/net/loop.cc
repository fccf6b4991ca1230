#include "common/net/loop.h"

#include <spdlog/spdlog.h>

#include "common/net/handle.h"
#include "common/net/uv_status.h"

namespace confab::net {

Result<std::unique_ptr<Loop>> Loop::Create() {
  std::unique_ptr<Loop> loop(new Loop());
  loop->loop_ = new uv_loop_t();
  const int rc = uv_loop_init(loop->loop_);
  if (rc < 0) {
    delete loop->loop_;
    loop->loop_ = nullptr;
    return FromUv(rc, "uv_loop_init");
  }
  return loop;
}

Loop::~Loop() {
  if (loop_ == nullptr)
    return;
  const Status closed = Close();
  if (!closed.ok())
    spdlog::error("{}; leaking the loop rather than freeing memory libuv still uses",
                  closed.ToString());
}

Status Loop::Run(RunMode mode) {
  if (loop_ == nullptr)
    return Status::FailedPrecondition("Run on a closed loop");
  if (running_)
    return Status::FailedPrecondition("Run called from inside the loop");
  const uv_run_mode uv_mode = mode == RunMode::kOnce     ? UV_RUN_ONCE
                              : mode == RunMode::kNoWait ? UV_RUN_NOWAIT
                                                         : UV_RUN_DEFAULT;
  running_ = true;
  uv_run(loop_, uv_mode);
  running_ = false;
  return Status::Ok();
}

void Loop::Stop() {
  if (loop_ != nullptr)
    uv_stop(loop_);
}

bool Loop::alive() const {
  return loop_ != nullptr && uv_loop_alive(loop_) != 0;
}

uint64_t Loop::now_ms() const {
  return loop_ == nullptr ? 0 : uv_now(loop_);
}

Status Loop::CheckOpen() const {
  if (closing_ || loop_ == nullptr)
    return Status::FailedPrecondition("the loop is closing");
  return Status::Ok();
}

void Loop::WalkCb(uv_handle_t* handle, void* /*arg*/) noexcept {
  // A handle already closing has its close callback queued (Part C #2).
  if (uv_is_closing(handle))
    return;
  if (handle->data != nullptr) {
    static_cast<internal::HandleOwner*>(handle->data)->CloseForLoop();
  } else {
    // Not ours (ours clear data only while closing); its memory is its
    // creator's business, but it must not keep the loop from closing.
    uv_close(handle, nullptr);
  }
}

Status Loop::Close() {
  if (loop_ == nullptr)
    return Status::Ok();
  if (running_)
    return Status::FailedPrecondition("Loop::Close called from inside the loop");
  closing_ = true;
  running_ = true;
  // Runs the close callbacks, and the write, connect and shutdown callbacks
  // that closing cancels, so their requests are freed too. Again if a
  // callback called Stop() (uv_run then returns non-zero with work left);
  // the factories refuse new handles meanwhile, so this ends.
  do {
    uv_walk(loop_, &WalkCb, nullptr);
  } while (uv_run(loop_, UV_RUN_DEFAULT) != 0);
  running_ = false;
  const int rc = uv_loop_close(loop_);
  if (rc != 0)
    return FromUv(rc, "uv_loop_close (a handle or request is still open)");
  delete loop_;
  loop_ = nullptr;
  return Status::Ok();
}

}  // namespace confab::net
