#include "common/net/fd_reader.h"

#include <string>
#include <utility>

namespace confab::net {

// Nothing is written, so the marks never matter. The stream's delegate is
// set in the body, once this is a whole StreamDelegate.
FdReader::FdReader(Delegate* delegate)
    : UvStream(nullptr, State::kOpen, internal::kDefaultHighWaterBytes,
               internal::kDefaultLowWaterBytes),
      delegate_(delegate) {
  set_delegate(this);
  set_end_message("end of input");
}

Result<std::unique_ptr<FdReader>> FdReader::Create(Loop& loop, int fd, Delegate* delegate) {
  CONFAB_RETURN_IF_ERROR(loop.CheckOpen());
  const uv_handle_type type = uv_guess_handle(fd);
  std::unique_ptr<FdReader> reader(new FdReader(delegate));
  const std::string what = "reading fd " + std::to_string(fd);
  switch (type) {
    case UV_TTY:
      CONFAB_RETURN_IF_ERROR(reader->InitHandle<uv_tty_t>(
          [&](uv_tty_t* h) { return uv_tty_init(loop.get(), h, fd, 1); }, "uv_tty_init"));
      break;
    case UV_NAMED_PIPE:
    case UV_TCP:
    case UV_UDP:
      CONFAB_RETURN_IF_ERROR(reader->InitHandle<uv_pipe_t>(
          [&](uv_pipe_t* h) { return uv_pipe_init(loop.get(), h, 0); }, "uv_pipe_init"));
      // On failure the unique_ptr closes the initialised handle.
      CONFAB_RETURN_IF_ERROR(FromUv(uv_pipe_open(reader->handle<uv_pipe_t>(), fd), what));
      break;
    default:
      return Status::InvalidArgument(what + ": not a pipe, socket or terminal");
  }
  CONFAB_RETURN_IF_ERROR(reader->StartReading().WithContext(what));
  return reader;
}

void FdReader::Close() {
  closed_by_owner_ = true;
  UvStream::Close();
}

void FdReader::OnClosed(Status status) {
  if (!closed_by_owner_)
    delegate_->OnEnd(std::move(status));  // last: it may destroy the reader
}

}  // namespace confab::net
