// Internal: how every confab::net class owns its one uv handle (STYLE.md A4
// and Part C). Not for use outside common/net.
//
//  - The uv_*_t lives on the heap, apart from its owner, and is freed only in
//    its close callback (Part C #1): the owner may be destroyed at any time,
//    including from inside one of its own callbacks.
//  - handle->data holds the owner as a HandleOwner* while the owner lives.
//    Destruction clears it before uv_close, and every static callback returns
//    at once when it is null (Part C #3).
//  - Close is idempotent and uv_close is never called twice (Part C #2).
//  - Loop::Close finds handles still open through handle->data and asks
//    their owner to close them, so owners never hold a freed handle.
#pragma once

#include <type_traits>

#include <uv.h>

#include "common/base/check.h"
#include "common/base/status.h"
#include "common/net/uv_status.h"

namespace confab::net::internal {

class HandleOwner {
 public:
  virtual ~HandleOwner() = default;
  // Loop::Close found this owner's handle still open: start closing it as a
  // Close() from the owner's user would.
  virtual void CloseForLoop() noexcept = 0;
  // The handle's close callback ran; the memory is already freed. Called
  // from a fresh stack, so the owner may upcall (and be destroyed) here.
  virtual void OnHandleClosed() noexcept = 0;
};

// The owner of a uv handle's data pointer, or null once the owner is gone.
// `H` is any uv handle type (they all start with uv_handle_t's fields).
template <typename T, typename H>
T* OwnerOf(const H* handle) {
  void* data = handle->data;
  return data == nullptr ? nullptr : static_cast<T*>(static_cast<HandleOwner*>(data));
}

// One heap-allocated uv handle of type H, member of its owner. H may also be
// uv_stream_t, for an owner that picks the kind of stream at run time (a
// pipe or a terminal): Init then names the concrete type, which the close
// callback frees.
template <typename H>
class OwnedHandle {
 public:
  OwnedHandle() = default;
  ~OwnedHandle() { Detach(); }
  OwnedHandle(const OwnedHandle&) = delete;
  OwnedHandle& operator=(const OwnedHandle&) = delete;

  // Allocates the handle as a `Concrete` (H itself unless H is uv_stream_t)
  // and runs `init` (e.g. uv_tcp_init) on it. On error the handle was never
  // linked into the loop, so it is deleted directly.
  template <typename Concrete = H, typename InitFn>
  Status Init(HandleOwner* owner, InitFn init, const char* what) {
    static_assert(std::is_same_v<Concrete, H> || std::is_same_v<H, uv_stream_t>,
                  "only an OwnedHandle<uv_stream_t> holds another type than its own");
    CONFAB_DCHECK(handle_ == nullptr);
    auto* handle = new Concrete();
    const int rc = init(handle);
    if (rc < 0) {
      delete handle;
      return FromUv(rc, what);
    }
    handle->data = owner;
    handle_ = reinterpret_cast<H*>(handle);
    close_cb_ = &CloseCb<Concrete>;
    return Status::Ok();
  }

  H* get() const { return handle_; }
  // The handle as the concrete type Init allocated.
  template <typename Concrete>
  Concrete* as() const {
    return reinterpret_cast<Concrete*>(handle_);
  }
  uv_handle_t* base() const { return reinterpret_cast<uv_handle_t*>(handle_); }
  uv_stream_t* stream() const { return reinterpret_cast<uv_stream_t*>(handle_); }
  // Initialised and not closing: the only state in which uv calls are made.
  bool open() const { return handle_ != nullptr && !closing_; }

  // Starts closing; the owner hears OnHandleClosed from the close callback.
  void Close() {
    if (!open())
      return;
    closing_ = true;
    uv_close(base(), close_cb_);
  }

  // Called by the owner from OnHandleClosed: the memory is gone.
  void Forget() { handle_ = nullptr; }

 private:
  // For the owner's destructor: no more upcalls, and the handle frees itself.
  void Detach() {
    if (handle_ == nullptr)
      return;
    handle_->data = nullptr;
    if (!closing_)
      uv_close(base(), close_cb_);
    handle_ = nullptr;
  }

  template <typename Concrete>
  static void CloseCb(uv_handle_t* handle) noexcept {
    HandleOwner* owner = static_cast<HandleOwner*>(handle->data);
    delete reinterpret_cast<Concrete*>(handle);
    if (owner != nullptr)
      owner->OnHandleClosed();
  }

  H* handle_ = nullptr;
  uv_close_cb close_cb_ = nullptr;  // frees the type Init allocated
  bool closing_ = false;
};

}  // namespace confab::net::internal
