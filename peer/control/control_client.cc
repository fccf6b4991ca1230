#include "peer/control/control_client.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "common/base/proto_bytes.h"
#include "peer/control/control_frame.h"

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
  Fd& operator=(Fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

std::string Errno(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

}  // namespace

namespace {

// Connects to `socket_path` with `timeout_ms` on every later read and write.
Result<int> Connect(const std::string& socket_path, uint64_t timeout_ms, Fd& fd) {
  sockaddr_un address{};
  if (socket_path.size() >= sizeof(address.sun_path))
    return Status::InvalidArgument("socket path too long: " + socket_path);
  fd = Fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
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
  return fd.get();
}

Status SendRequest(int fd, const proto::Request& request) {
  CONFAB_ASSIGN_OR_RETURN(Bytes frame, EncodeControlFrame(request));
  size_t written = 0;
  while (written < frame.size()) {
    const ssize_t n = send(fd, frame.data() + written, frame.size() - written, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return Status::IoError(Errno("write to the node"));
    written += static_cast<size_t>(n);
  }
  return Status::Ok();
}

// Reads exactly `size` bytes (nothing past them).
Status ReadExactly(int fd, uint8_t* out, size_t size) {
  size_t got = 0;
  while (got < size) {
    const ssize_t n = recv(fd, out + got, size - got, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return Status::ResourceExhausted("the node did not answer in time");
    if (n < 0)
      return Status::IoError(Errno("read from the node"));
    if (n == 0)
      return Status::Closed("the node closed the connection without an answer");
    got += static_cast<size_t>(n);
  }
  return Status::Ok();
}

// One Response frame, and not a byte more: on a subscription, Events follow.
Result<proto::Response> ReadResponse(int fd) {
  uint8_t header[kControlLengthBytes];
  CONFAB_RETURN_IF_ERROR(ReadExactly(fd, header, sizeof header));
  const size_t length = (size_t{header[0]} << 24) | (size_t{header[1]} << 16) |
                        (size_t{header[2]} << 8) | size_t{header[3]};
  if (length > kMaxControlMessageBytes)
    return Status::Corruption("the node's answer is over 1 MiB");
  Bytes body(length);
  CONFAB_RETURN_IF_ERROR(ReadExactly(fd, body.data(), body.size()));
  proto::Response response;
  if (!ParseFromBytes(body, &response))
    return Status::Corruption("the node's answer does not parse");
  return response;
}

}  // namespace

Result<proto::Response> CallNode(const std::string& socket_path, const proto::Request& request,
                                 uint64_t timeout_ms) {
  Fd fd(-1);
  CONFAB_RETURN_IF_ERROR(Connect(socket_path, timeout_ms, fd).status());
  CONFAB_RETURN_IF_ERROR(SendRequest(fd.get(), request));
  return ReadResponse(fd.get());
}

Result<int> SubscribeToNode(const std::string& socket_path, uint64_t timeout_ms) {
  Fd fd(-1);
  CONFAB_RETURN_IF_ERROR(Connect(socket_path, timeout_ms, fd).status());
  proto::Request request;
  request.mutable_subscribe_events();
  CONFAB_RETURN_IF_ERROR(SendRequest(fd.get(), request));
  CONFAB_ASSIGN_OR_RETURN(proto::Response response, ReadResponse(fd.get()));
  if (!response.ok())
    return Status::FailedPrecondition("the node refused the subscription: " + response.error());
  const timeval none{};  // Events come whenever they come
  (void)setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
  (void)setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
  return fd.Release();
}

}  // namespace confab::peer
