#include "common/net/fd_reader.h"

#include <new>
#include <string>

namespace confab::net {
namespace {

constexpr size_t kReadBufferBytes = 64 * 1024;

}  // namespace

Result<std::unique_ptr<FdReader>> FdReader::Create(Loop& loop, int fd, Delegate* delegate) {
  CONFAB_RETURN_IF_ERROR(loop.CheckOpen());
  const uv_handle_type type = uv_guess_handle(fd);
  std::unique_ptr<FdReader> reader(new FdReader(delegate));
  const std::string what = "reading fd " + std::to_string(fd);
  switch (type) {
    case UV_TTY:
      CONFAB_RETURN_IF_ERROR(reader->tty_.Init(
          reader.get(), [&](uv_tty_t* h) { return uv_tty_init(loop.get(), h, fd, 1); },
          "uv_tty_init"));
      break;
    case UV_NAMED_PIPE:
    case UV_TCP:
    case UV_UDP:
      CONFAB_RETURN_IF_ERROR(reader->pipe_.Init(
          reader.get(), [&](uv_pipe_t* h) { return uv_pipe_init(loop.get(), h, 0); },
          "uv_pipe_init"));
      // On failure the unique_ptr closes the initialised handle.
      CONFAB_RETURN_IF_ERROR(FromUv(uv_pipe_open(reader->pipe_.get(), fd), what));
      break;
    default:
      return Status::InvalidArgument(what + ": not a pipe, socket or terminal");
  }
  CONFAB_RETURN_IF_ERROR(FromUv(uv_read_start(reader->stream(), &AllocCb, &ReadCb), what));
  return reader;
}

void FdReader::Close() {
  if (pipe_.open()) {
    uv_read_stop(pipe_.stream());
    pipe_.Close();
  }
  if (tty_.open()) {
    uv_read_stop(tty_.stream());
    tty_.Close();
  }
}

void FdReader::OnHandleClosed() noexcept {
  pipe_.Forget();
  tty_.Forget();
}

void FdReader::AllocCb(uv_handle_t* /*handle*/, size_t /*suggested*/, uv_buf_t* buf) noexcept {
  // A null base makes libuv report UV_ENOBUFS to ReadCb (Part C #10).
  char* base = new (std::nothrow) char[kReadBufferBytes];
  *buf = uv_buf_init(base, base == nullptr ? 0 : kReadBufferBytes);
}

void FdReader::ReadCb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
  // Freed on every path, after the upcall, whatever the upcall destroys.
  std::unique_ptr<char[]> owned(buf->base);
  FdReader* self = internal::OwnerOf<FdReader>(stream);
  if (self == nullptr)
    return;
  if (nread > 0) {
    self->delegate_->OnRead(
        ByteView(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread)));
    return;
  }
  if (nread == 0)
    return;  // EAGAIN (Part C #9)
  Status end =
      nread == UV_EOF ? Status::Closed("end of input") : FromUv(static_cast<int>(nread), "read");
  self->Close();
  self->delegate_->OnEnd(std::move(end));  // last: it may destroy the reader
}

}  // namespace confab::net
