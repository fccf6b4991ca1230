// Application traffic for the simulated-network tests: a file of a known
// pattern on the file stream and numbered chat messages on the chat stream,
// each checked at the receiver for exactly-once, in-order delivery.
#pragma once

#include <cstdint>
#include <vector>

#include "common/datagram/connection.h"

#include "tests/unit/datagram/sim_link.h"

namespace confab::datagram::testing {

// Writes `size` pattern bytes from `from` and reads them at `to`.
class FileFlow {
 public:
  FileFlow(Connection& from, Connection& to, uint64_t size) : from_(from), to_(to), size_(size) {}

  void Step() {
    uint8_t chunk[16384];
    while (written_ < size_ && from_.writable(kFileStream) > 0) {
      const size_t n =
          std::min<uint64_t>({sizeof(chunk), size_ - written_, from_.writable(kFileStream)});
      for (size_t i = 0; i < n; ++i)
        chunk[i] = PatternByte(written_ + i);
      written_ += from_.Write(kFileStream, ByteView(chunk, n));
    }
    while (to_.readable(kFileStream) > 0) {
      const size_t n = to_.Read(kFileStream, chunk);
      for (size_t i = 0; i < n; ++i) {
        if (chunk[i] != PatternByte(received_ + i))
          ++mismatches_;
      }
      received_ += n;
    }
  }
  bool done() const { return received_ == size_; }
  uint64_t received() const { return received_; }
  uint64_t mismatches() const { return mismatches_; }

 private:
  Connection& from_;
  Connection& to_;
  uint64_t size_;
  uint64_t written_ = 0;
  uint64_t received_ = 0;
  uint64_t mismatches_ = 0;
};

// Chat messages: a 2-byte length, an 8-byte sequence number and filler.
// The receiver checks that sequence numbers arrive 0, 1, 2, ... exactly once,
// and records how long each took in virtual time.
class ChatFlow {
 public:
  ChatFlow(Connection& from, Connection& to, const SimNetwork& net, uint32_t count,
           uint64_t interval_us)
      : from_(from), to_(to), net_(net), count_(count), interval_us_(interval_us) {}

  void Step() {
    while (sent_ < count_ && net_.now_us() >= next_send_us_ && from_.writable(kChatStream) >= 64) {
      uint8_t msg[64] = {0, 62};
      for (int i = 0; i < 8; ++i)
        msg[2 + i] = static_cast<uint8_t>(static_cast<uint64_t>(sent_) >> (8 * i));
      const uint64_t now = net_.now_us();
      for (int i = 0; i < 8; ++i)
        msg[10 + i] = static_cast<uint8_t>(now >> (8 * i));
      REQUIRE(from_.Write(kChatStream, ByteView(msg, sizeof(msg))) == sizeof(msg));
      ++sent_;
      next_send_us_ = now + interval_us_;
    }
    uint8_t buf[4096];
    while (to_.readable(kChatStream) > 0) {
      const size_t n = to_.Read(kChatStream, buf);
      pending_.insert(pending_.end(), buf, buf + n);
    }
    while (pending_.size() >= 64) {
      uint64_t seq = 0, sent_at = 0;
      for (int i = 7; i >= 0; --i) {
        seq = (seq << 8) | pending_[2 + i];
        sent_at = (sent_at << 8) | pending_[10 + i];
      }
      if (seq != received_ || pending_[0] != 0 || pending_[1] != 62)
        ++out_of_order_;
      ++received_;
      max_latency_us_ = std::max(max_latency_us_, net_.now_us() - sent_at);
      pending_.erase(pending_.begin(), pending_.begin() + 64);
    }
  }
  bool done() const { return received_ == count_; }
  uint32_t received() const { return received_; }
  uint32_t out_of_order() const { return out_of_order_; }
  uint64_t max_latency_us() const { return max_latency_us_; }

 private:
  Connection& from_;
  Connection& to_;
  const SimNetwork& net_;
  uint32_t count_;
  uint64_t interval_us_;
  uint32_t sent_ = 0;
  uint64_t next_send_us_ = 0;
  uint32_t received_ = 0;
  uint32_t out_of_order_ = 0;
  uint64_t max_latency_us_ = 0;
  std::vector<uint8_t> pending_;
};

}  // namespace confab::datagram::testing
