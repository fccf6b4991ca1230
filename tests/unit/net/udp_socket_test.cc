#include "common/net/udp_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <climits>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/unit/net/net_test_util.h"

namespace confab::net {
namespace {

using testing::CloseLoop;
using testing::MakeLoop;
using testing::RunUntil;

struct Inbox final : UdpSocket::Delegate {
  std::vector<std::string> datagrams;
  std::vector<std::string> senders;
  std::vector<Status> errors;
  UdpSocket* reply_from = nullptr;  // echoes every datagram back when set
  void OnDatagram(ByteView data, const Address& from) override {
    datagrams.emplace_back(AsChars(data));
    senders.push_back(from.ToString());
    if (reply_from != nullptr)
      CHECK(reply_from->Send(ToBytes(data), from).ok());
  }
  void OnError(Status status) override { errors.push_back(status); }
};

std::unique_ptr<UdpSocket> Bind(Loop& loop, UdpSocket::Delegate* delegate) {
  Result<Address> any = Address::Parse("127.0.0.1:0");
  REQUIRE(any.ok());
  Result<std::unique_ptr<UdpSocket>> socket = UdpSocket::Create(loop, *any, delegate);
  REQUIRE(socket.ok());
  return std::move(*socket);
}

TEST_CASE("UdpSocket round trip on loopback reports the sender", "[net][udp]") {
  auto loop = MakeLoop();
  Inbox a_inbox;
  Inbox b_inbox;
  auto a = Bind(*loop, &a_inbox);
  auto b = Bind(*loop, &b_inbox);
  b_inbox.reply_from = b.get();
  Result<Address> a_address = a->local_address();
  Result<Address> b_address = b->local_address();
  REQUIRE(a_address.ok());
  REQUIRE(b_address.ok());
  CHECK(b_address->port() != 0);
  REQUIRE(a->StartReceiving().ok());
  REQUIRE(a->StartReceiving().ok());  // idempotent
  REQUIRE(b->StartReceiving().ok());

  REQUIRE(a->Send(ToBytes(AsBytes("ping")), *b_address).ok());
  REQUIRE(a->Send(Bytes(), *b_address).ok());  // zero-length datagrams are legal
  REQUIRE(RunUntil(*loop, [&] { return a_inbox.datagrams.size() == 2; }));
  CHECK(b_inbox.datagrams == std::vector<std::string>{"ping", ""});
  CHECK(b_inbox.senders[0] == a_address->ToString());
  CHECK(a_inbox.datagrams == std::vector<std::string>{"ping", ""});
  CHECK(a_inbox.senders[0] == b_address->ToString());
  CHECK(a_inbox.errors.empty());
  CHECK(b_inbox.errors.empty());
  CHECK(a->send_queue_bytes() == 0);
  CloseLoop(*loop);
}

TEST_CASE("UdpSocket refuses use after Close and frees sends in flight", "[net][udp][error]") {
  auto loop = MakeLoop();
  Inbox inbox;
  auto socket = Bind(*loop, &inbox);
  Result<Address> self = socket->local_address();
  REQUIRE(self.ok());
  // Queued, then cancelled by Close: the request must still free its bytes.
  REQUIRE(socket->Send(Bytes(1000, 7), *self).ok());
  socket->Close();
  socket->Close();
  CHECK(socket->Send(Bytes(1, 0), *self).code() == Status::Code::kFailedPrecondition);
  CHECK(socket->StartReceiving().code() == Status::Code::kFailedPrecondition);
  CHECK(socket->local_address().status().code() == Status::Code::kFailedPrecondition);
  REQUIRE(loop->Run().ok());
  CHECK(inbox.errors.empty());
  CloseLoop(*loop);
}

TEST_CASE("UdpSocket reports a port already taken", "[net][udp][error]") {
  auto loop = MakeLoop();
  Inbox inbox;
  auto first = Bind(*loop, &inbox);
  Result<Address> taken = first->local_address();
  REQUIRE(taken.ok());
  Result<std::unique_ptr<UdpSocket>> second = UdpSocket::Create(*loop, *taken, &inbox);
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == Status::Code::kUnavailable);
  CloseLoop(*loop);
}

TEST_CASE("UdpSocket may be destroyed inside its receive callback", "[net][udp]") {
  auto loop = MakeLoop();
  struct SelfDestruct final : UdpSocket::Delegate {
    std::unique_ptr<UdpSocket>* owner = nullptr;
    int received = 0;
    void OnDatagram(ByteView, const Address&) override {
      ++received;
      owner->reset();
    }
    void OnError(Status) override {}
  } delegate;
  auto receiver = Bind(*loop, &delegate);
  delegate.owner = &receiver;
  Inbox unused;
  auto sender = Bind(*loop, &unused);
  Result<Address> to = receiver->local_address();
  REQUIRE(to.ok());
  REQUIRE(receiver->StartReceiving().ok());
  for (int i = 0; i < 3; ++i)
    REQUIRE(sender->Send(Bytes(10, static_cast<uint8_t>(i)), *to).ok());
  REQUIRE(RunUntil(*loop, [&] { return receiver == nullptr; }));
  CHECK(delegate.received == 1);
  CloseLoop(*loop);
}

TEST_CASE("UdpSocket delivers a burst of many read batches whole, in order, from one buffer",
          "[net][udp]") {
  auto loop = MakeLoop();
  Inbox inbox;
  Inbox unused;
  auto receiver = Bind(*loop, &inbox);
  auto sender = Bind(*loop, &unused);
  Result<Address> to = receiver->local_address();
  Result<Address> from = sender->local_address();
  REQUIRE(to.ok());
  REQUIRE(from.ok());
  // Queued in the kernel before the receiver reads, so its reads find many
  // datagrams at once (recvmmsg hands back up to 16 per call); the sizes
  // differ so that a datagram shown through a stale chunk would not match.
  std::vector<std::string> sent;
  for (int i = 0; i < 200; ++i) {
    std::string d(1 + (i * 37) % 1452, static_cast<char>('a' + i % 26));
    d.replace(0, std::min<size_t>(d.size(), 3), std::to_string(i % 1000).substr(0, d.size()));
    sent.push_back(d);
    REQUIRE(sender->Send(ToBytes(AsBytes(d)), *to).ok());
  }
  REQUIRE(RunUntil(*loop, [&] { return sender->send_queue_bytes() == 0; }));
  REQUIRE(receiver->StartReceiving().ok());
  REQUIRE(RunUntil(*loop, [&] { return inbox.datagrams.size() == sent.size(); }));
  CHECK(inbox.datagrams == sent);
  CHECK(std::all_of(inbox.senders.begin(), inbox.senders.end(),
                    [&](const std::string& s) { return s == from->ToString(); }));
  CHECK(inbox.errors.empty());
  CloseLoop(*loop);
}

// What the kernel gives a socket nobody tuned (Linux reports it as is).
size_t KernelDefault(const char* sysctl) {
  std::ifstream in(std::string("/proc/sys/net/core/") + sysctl);
  size_t value = 0;
  in >> value;
  return value;
}

TEST_CASE("UdpSocket asks for 4 MiB buffers and reports what the kernel granted", "[net][udp]") {
  auto loop = MakeLoop();
  Inbox inbox;
  auto socket = Bind(*loop, &inbox);  // default options
  Result<UdpSocket::BufferSizes> sizes = socket->buffer_sizes();
  REQUIRE(sizes.ok());
  INFO("recv " << sizes->recv_bytes << " send " << sizes->send_bytes);
  // At least the untuned default; with the usual caps (rmem_max >= 2 MiB)
  // Linux grants twice the request, capped at twice the sysctl maximum.
  CHECK(sizes->recv_bytes >= KernelDefault("rmem_default"));
  CHECK(sizes->send_bytes >= KernelDefault("wmem_default"));
  const size_t rmem_max = KernelDefault("rmem_max");
  if (rmem_max > 0) {
    CHECK(sizes->recv_bytes >= std::min<size_t>(kDefaultUdpBufferBytes, 2 * rmem_max));
  }

  SECTION("a later request changes only what it names") {
    Result<UdpSocket::BufferSizes> smaller = socket->SetBufferSizes(64 * 1024, 0);
    REQUIRE(smaller.ok());
    CHECK(smaller->recv_bytes == 2 * 64 * 1024);  // Linux doubles it
    CHECK(smaller->send_bytes == sizes->send_bytes);
  }
  SECTION("no request leaves the kernel's default") {
    Result<Address> any = Address::Parse("127.0.0.1:0");
    auto plain = UdpSocket::Create(*loop, *any, &inbox, UdpSocketOptions{0, 0});
    REQUIRE(plain.ok());
    auto plain_sizes = (*plain)->buffer_sizes();
    REQUIRE(plain_sizes.ok());
    CHECK(plain_sizes->recv_bytes == KernelDefault("rmem_default"));
  }
  SECTION("a size the socket API cannot carry is refused") {
    CHECK(socket->SetBufferSizes(size_t{INT_MAX} + 1, 0).status().code() ==
          Status::Code::kInvalidArgument);
  }
  socket.reset();
  CloseLoop(*loop);
}

TEST_CASE("UdpSocket buffer sizes fail cleanly once closed", "[net][udp][error]") {
  auto loop = MakeLoop();
  Inbox inbox;
  auto socket = Bind(*loop, &inbox);
  socket->Close();
  CHECK(socket->SetBufferSizes(1 << 20, 1 << 20).status().code() ==
        Status::Code::kFailedPrecondition);
  CHECK(socket->buffer_sizes().status().code() == Status::Code::kFailedPrecondition);
  socket.reset();
  CloseLoop(*loop);
}

TEST_CASE("UdpSocket with dont_fragment still carries a 1452-byte datagram on loopback",
          "[net][udp]") {
  auto loop = MakeLoop();
  Inbox a_inbox;
  Inbox b_inbox;
  Result<Address> any = Address::Parse("127.0.0.1:0");
  UdpSocketOptions options;
  options.dont_fragment = true;
  auto a = UdpSocket::Create(*loop, *any, &a_inbox, options);
  REQUIRE(a.ok());
  auto b = Bind(*loop, &b_inbox);
  REQUIRE(b->StartReceiving().ok());
  // The option as the kernel holds it, on the descriptor bound to a's port.
  const uint16_t a_port = (*a)->local_address()->port();
  std::optional<int> mode;
  for (int fd = 0; fd < 1024 && !mode; ++fd) {
    sockaddr_in bound{};
    socklen_t length = sizeof(bound);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0 ||
        bound.sin_family != AF_INET || ntohs(bound.sin_port) != a_port)
      continue;
    int value = -1;
    socklen_t value_length = sizeof(value);
    if (::getsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &value, &value_length) == 0)
      mode = value;
  }
  REQUIRE(mode.has_value());
  CHECK(*mode == IP_PMTUDISC_PROBE);
  REQUIRE((*a)->Send(Bytes(1452, 0x5a), *b->local_address()).ok());
  REQUIRE(RunUntil(*loop, [&] { return b_inbox.datagrams.size() == 1; }));
  CHECK(b_inbox.datagrams[0].size() == 1452);
  CHECK(a_inbox.errors.empty());
  a->reset();
  b.reset();
  CloseLoop(*loop);
}

TEST_CASE("UdpSocket sends a batch of 100 datagrams in order with two sendmmsg calls",
          "[net][udp]") {
  auto loop = MakeLoop();
  Inbox a_inbox;
  Inbox b_inbox;
  auto a = Bind(*loop, &a_inbox);
  auto b = Bind(*loop, &b_inbox);
  Result<Address> b_address = b->local_address();
  REQUIRE(b_address.ok());
  REQUIRE(b->StartReceiving().ok());
  std::vector<Bytes> batch;
  for (int i = 0; i < 100; ++i)
    batch.push_back(ToBytes(AsBytes("datagram " + std::to_string(i))));
  REQUIRE(a->SendBatch(batch, *b_address).ok());
  REQUIRE(RunUntil(*loop, [&] { return b_inbox.datagrams.size() == 100; }));
  for (int i = 0; i < 100; ++i)
    CHECK(b_inbox.datagrams[i] == "datagram " + std::to_string(i));
#if defined(__linux__)
  // 64 + 36, straight from our buffers, which the caller keeps.
  CHECK(a->batched_calls() == 2);
  CHECK(a->batched_datagrams() == 100);
  CHECK(AsChars(batch[99]) == "datagram 99");
#endif
  CHECK(a_inbox.errors.empty());
  CloseLoop(*loop);
}

TEST_CASE("UdpSocket drops a datagram the kernel refuses in a batch and still sends the rest",
          "[net][udp][error]") {
  auto loop = MakeLoop();
  Inbox a_inbox;
  Inbox b_inbox;
  auto a = Bind(*loop, &a_inbox);
  auto b = Bind(*loop, &b_inbox);
  Result<Address> b_address = b->local_address();
  REQUIRE(b_address.ok());
  REQUIRE(b->StartReceiving().ok());
  std::vector<Bytes> batch;
  batch.push_back(ToBytes(AsBytes("first")));
  batch.emplace_back(70'000, uint8_t{0x41});  // above UDP's 65,507: EMSGSIZE
  batch.push_back(ToBytes(AsBytes("third")));
  const Status st = a->SendBatch(batch, *b_address);
  CHECK_FALSE(st.ok());
  REQUIRE(RunUntil(*loop, [&] { return b_inbox.datagrams.size() == 2; }));
  CHECK(b_inbox.datagrams == std::vector<std::string>{"first", "third"});
  CHECK(a_inbox.errors.empty());  // returned, not upcalled
  CloseLoop(*loop);
}

}  // namespace
}  // namespace confab::net
