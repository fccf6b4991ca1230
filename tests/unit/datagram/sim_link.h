// A deterministic simulated network for the datagram tests: two Connections
// joined by two one-way links with a rate limit (drop-tail queue),
// propagation delay, random loss, duplication and reordering, all in virtual
// time driven by a seeded RNG. Optionally every packet is sealed and opened
// by real PacketProtectors, so the crypto path runs too.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <utility>

#include <catch2/catch.hpp>

#include "common/crypto/noise.h"
#include "common/datagram/connection.h"
#include "common/datagram/packet_protector.h"

namespace confab::datagram::testing {

struct LinkSpec {
  double rate_bits_per_s = 0;  // 0: unlimited
  uint64_t delay_us = 0;
  double loss = 0;
  double duplicate = 0;
  double reorder = 0;  // chance a packet takes reorder_extra_us longer
  uint64_t reorder_extra_us = 0;
  size_t queue_bytes = 1 << 30;  // drop-tail limit of the rate limiter's queue
  size_t mtu_bytes = 0;          // larger packets are dropped; 0: no limit
};

// One direction. Packets enter with Send and leave with PopDue.
class SimLink {
 public:
  SimLink(LinkSpec spec, uint64_t seed) : spec_(spec), rng_(seed) {}

  void Send(uint64_t now_us, Bytes packet) {
    ++sent_;
    if (spec_.mtu_bytes != 0 && packet.size() > spec_.mtu_bytes) {
      ++too_big_;
      return;
    }
    if (Chance(spec_.loss)) {
      ++dropped_;
      return;
    }
    uint64_t leaves_us = now_us;
    if (spec_.rate_bits_per_s > 0) {
      const uint64_t start = std::max(now_us, link_free_us_);
      const double backlog_bytes =
          static_cast<double>(start - now_us) * spec_.rate_bits_per_s / 8e6;
      if (backlog_bytes > static_cast<double>(spec_.queue_bytes)) {
        ++dropped_;
        return;
      }
      const auto serialize_us =
          static_cast<uint64_t>(static_cast<double>(packet.size()) * 8e6 / spec_.rate_bits_per_s);
      link_free_us_ = start + serialize_us;
      leaves_us = link_free_us_;
    }
    uint64_t arrives_us = leaves_us + spec_.delay_us;
    if (Chance(spec_.reorder))
      arrives_us += spec_.reorder_extra_us;
    if (Chance(spec_.duplicate))
      in_flight_.emplace(arrives_us + 1, packet);
    in_flight_.emplace(arrives_us, std::move(packet));
  }

  uint64_t NextArrivalUs() const {
    return in_flight_.empty() ? UINT64_MAX : in_flight_.begin()->first;
  }
  // The next packet due at or before now_us, if any.
  bool PopDue(uint64_t now_us, Bytes& out) {
    if (in_flight_.empty() || in_flight_.begin()->first > now_us)
      return false;
    out = std::move(in_flight_.begin()->second);
    in_flight_.erase(in_flight_.begin());
    return true;
  }
  uint64_t sent() const { return sent_; }
  uint64_t dropped() const { return dropped_; }
  uint64_t too_big() const { return too_big_; }
  void set_mtu_bytes(size_t bytes) { spec_.mtu_bytes = bytes; }

 private:
  bool Chance(double p) { return p > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

  LinkSpec spec_;
  std::mt19937_64 rng_;
  uint64_t link_free_us_ = 0;
  std::multimap<uint64_t, Bytes> in_flight_;
  uint64_t sent_ = 0;
  uint64_t dropped_ = 0;
  uint64_t too_big_ = 0;
};

// Two protectors that share keys as a finished handshake would give them.
inline std::pair<std::unique_ptr<PacketProtector>, std::unique_ptr<PacketProtector>>
MakeProtectorPair(uint64_t now_us = 0) {
  crypto::noise::CipherKey k1, k2;
  for (size_t i = 0; i < k1.size(); ++i) {
    k1.data()[i] = static_cast<uint8_t>(i);
    k2.data()[i] = static_cast<uint8_t>(0x80 + i);
  }
  crypto::noise::CipherState a_send, a_recv, b_send, b_recv;
  a_send.InitializeKey(k1);
  b_recv.InitializeKey(k1);
  b_send.InitializeKey(k2);
  a_recv.InitializeKey(k2);
  return {std::make_unique<PacketProtector>(a_send, a_recv, 1, 2, now_us),
          std::make_unique<PacketProtector>(b_send, b_recv, 2, 1, now_us)};
}

// Endpoints A and B and the links A->B and B->A, in virtual time.
class SimNetwork {
 public:
  SimNetwork(LinkSpec a_to_b, LinkSpec b_to_a, uint64_t seed, bool encrypt = false,
             ConnectionConfig config = {})
      : a_(config, 0), b_(config, 0), ab_(a_to_b, seed), ba_(b_to_a, seed * 7919 + 1) {
    if (encrypt) {
      auto [pa, pb] = MakeProtectorPair();
      pa_ = std::move(pa);
      pb_ = std::move(pb);
    }
  }

  Connection& a() { return a_; }
  Connection& b() { return b_; }
  uint64_t now_us() const { return now_us_; }
  const SimLink& a_to_b() const { return ab_; }
  const SimLink& b_to_a() const { return ba_; }
  SimLink& a_to_b() { return ab_; }
  SimLink& b_to_a() { return ba_; }
  // The payload buffer both ends get from NextPacket; the default,
  // max_payload_bytes(), leaves path MTU discovery off.
  void set_payload_buffer_bytes(size_t bytes) { payload_buffer_bytes_ = bytes; }
  uint64_t rejected() const { return rejected_; }

  // Runs until `done()` or `limit_us` of virtual time. `app` runs after every
  // event (write, read, check). Returns done().
  bool Run(const std::function<void()>& app, const std::function<bool()>& done, uint64_t limit_us) {
    while (!done() && now_us_ < limit_us) {
      app();
      Pump(a_, pa_.get(), ab_);
      Pump(b_, pb_.get(), ba_);
      uint64_t next = std::min(
          {a_.NextDeadlineUs(), b_.NextDeadlineUs(), ab_.NextArrivalUs(), ba_.NextArrivalUs()});
      if (next == UINT64_MAX)
        break;  // nothing will ever happen again
      now_us_ = std::max(now_us_, next);
      Deliver(ba_, a_, pa_.get());
      Deliver(ab_, b_, pb_.get());
      if (a_.NextDeadlineUs() <= now_us_)
        a_.OnTimeout(now_us_);
      if (b_.NextDeadlineUs() <= now_us_)
        b_.OnTimeout(now_us_);
    }
    return done();
  }

 private:
  void Pump(Connection& c, PacketProtector* p, SimLink& link) {
    Bytes payload(payload_buffer_bytes_ != 0 ? payload_buffer_bytes_
                                             : c.config().max_payload_bytes());
    while (std::optional<Connection::Outgoing> out = c.NextPacket(now_us_, payload)) {
      Bytes packet;
      if (p != nullptr) {
        packet.resize(out->size + kDataOverheadBytes);
        Result<size_t> sealed = p->Seal(out->number, ByteView(payload.data(), out->size), packet);
        REQUIRE(sealed.ok());
      } else {
        // Unencrypted: the number travels in front of the payload.
        packet.resize(8 + out->size);
        for (int i = 0; i < 8; ++i)
          packet[i] = static_cast<uint8_t>(out->number >> (8 * i));
        std::copy(payload.begin(), payload.begin() + static_cast<ptrdiff_t>(out->size),
                  packet.begin() + 8);
      }
      link.Send(now_us_, std::move(packet));
    }
  }

  void Deliver(SimLink& link, Connection& c, PacketProtector* p) {
    Bytes packet;
    while (link.PopDue(now_us_, packet)) {
      if (p != nullptr) {
        Result<PacketProtector::Opened> opened = p->Open(packet);
        if (!opened.ok()) {
          ++rejected_;  // duplicates the link made: the replay window drops them
          continue;
        }
        (void)c.OnPacket(now_us_, opened->counter, opened->payload);
      } else {
        uint64_t number = 0;
        for (int i = 7; i >= 0; --i)
          number = (number << 8) | packet[i];
        (void)c.OnPacket(now_us_, number, ByteView(packet).subspan(8));
      }
    }
  }

  Connection a_;
  Connection b_;
  SimLink ab_;
  SimLink ba_;
  std::unique_ptr<PacketProtector> pa_;
  std::unique_ptr<PacketProtector> pb_;
  uint64_t now_us_ = 0;
  uint64_t rejected_ = 0;
  size_t payload_buffer_bytes_ = 0;
};

// The byte at `offset` of a test file: varied, and wrong if bytes shift.
inline uint8_t PatternByte(uint64_t offset) {
  const uint64_t x = (offset + 1) * 0x9E3779B97F4A7C15ULL;
  return static_cast<uint8_t>(x >> 56);
}

}  // namespace confab::datagram::testing
