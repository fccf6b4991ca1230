#include "peer/control_client.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "peer/control_frame.h"

namespace confab::peer {
namespace {

// Closes the descriptor on every path.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0)
      close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string Errno(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

}  // namespace

Result<proto::Response> CallNode(const std::string& socket_path, const proto::Request& request,
                                 uint64_t timeout_ms) {
  sockaddr_un address{};
  if (socket_path.size() >= sizeof(address.sun_path))
    return Status::InvalidArgument("socket path too long: " + socket_path);
  Fd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0)
    return Status::IoError(Errno("socket"));
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, socket_path.data(), socket_path.size());
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    if (errno == ENOENT || errno == ECONNREFUSED)
      return Status::Unavailable("no node is running (nothing answers on " + socket_path + ")");
    return Status::IoError(Errno(("connect to " + socket_path).c_str()));
  }
  timeval timeout{};
  timeout.tv_sec = static_cast<time_t>(timeout_ms / 1000);
  timeout.tv_usec = static_cast<suseconds_t>((timeout_ms % 1000) * 1000);
  (void)setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  (void)setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));

  CONFAB_ASSIGN_OR_RETURN(Bytes frame, EncodeControlFrame(request));
  size_t written = 0;
  while (written < frame.size()) {
    const ssize_t n = send(fd.get(), frame.data() + written, frame.size() - written, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return Status::IoError(Errno("write to the node"));
    written += static_cast<size_t>(n);
  }

  ControlFrameReader reader;
  uint8_t buffer[16 * 1024];
  for (;;) {
    const ssize_t n = recv(fd.get(), buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return Status::ResourceExhausted("the node did not answer in time");
    if (n < 0)
      return Status::IoError(Errno("read from the node"));
    if (n == 0)
      return Status::Unavailable("the node closed the connection without an answer");
    CONFAB_RETURN_IF_ERROR(reader.Feed(ByteView(buffer, static_cast<size_t>(n))));
    if (std::optional<Bytes> message = reader.Take()) {
      proto::Response response;
      if (!response.ParseFromArray(message->data(), static_cast<int>(message->size())))
        return Status::Corruption("the node's answer does not parse");
      return response;
    }
  }
}

}  // namespace confab::peer
