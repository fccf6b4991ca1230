#include "common/channel/secure_channel.h"

#include <string>

#include <catch2/catch.hpp>

#include "common/crypto/noise_primitives.h"

#include "tests/unit/skip.h"

namespace confab::channel {
namespace {

namespace noise = crypto::noise;

struct Keys {
  noise::KeyPair initiator = noise::GenerateKeyPair();
  noise::KeyPair responder = noise::GenerateKeyPair();
};

InitiatorParams Params(const Keys& keys, proto::Purpose purpose, std::string payload) {
  InitiatorParams p;
  p.purpose = purpose;
  p.local_static = keys.initiator.private_key;
  p.remote_static = keys.responder.public_key;
  p.payload = ToBytes(AsBytes(payload));
  if (purpose == proto::PURPOSE_JOIN)
    p.psk.emplace();
  return p;
}

std::unique_ptr<SecureChannel> Responder(const Keys& keys,
                                         std::set<proto::Purpose> purposes = {
                                             proto::PURPOSE_TRACKER, proto::PURPOSE_JOIN}) {
  ResponderParams r;
  r.local_static = keys.responder.private_key;
  r.purposes = std::move(purposes);
  return SecureChannel::Respond(std::move(r));
}

// Feeds `bytes` and returns the one event they complete.
Event One(SecureChannel& channel, ByteView bytes) {
  REQUIRE(channel.Feed(bytes).ok());
  auto event = channel.Next();
  REQUIRE(event.ok());
  REQUIRE(event->has_value());
  auto none = channel.Next();
  REQUIRE(none.ok());
  REQUIRE_FALSE(none->has_value());
  return std::move(**event);
}

struct Pair {
  std::unique_ptr<SecureChannel> initiator;
  std::unique_ptr<SecureChannel> responder;
};

Pair Establish(const Keys& keys, proto::Purpose purpose = proto::PURPOSE_TRACKER) {
  Bytes frame1;
  auto init = SecureChannel::Initiate(Params(keys, purpose, "hello"), &frame1);
  REQUIRE(init.ok());
  auto responder = Responder(keys);
  Event hello = One(*responder, frame1);
  CHECK(hello.kind == Event::Kind::kHello);
  CHECK(hello.purpose == purpose);
  CHECK(hello.remote_static == keys.initiator.public_key);
  CHECK(AsChars(hello.payload) == "hello");
  std::optional<Psk> psk;
  if (purpose == proto::PURPOSE_JOIN)
    psk.emplace();
  auto frame2 = responder->Accept(AsBytes("welcome"), psk);
  REQUIRE(frame2.ok());
  Event welcome = One(**init, *frame2);
  CHECK(welcome.kind == Event::Kind::kWelcome);
  CHECK(AsChars(welcome.payload) == "welcome");
  CHECK((*init)->established());
  CHECK(responder->established());
  CHECK(ToHex((*init)->handshake_hash()) == ToHex(responder->handshake_hash()));
  return {std::move(init).value(), std::move(responder)};
}

TEST_CASE("Two channels handshake and exchange messages both ways", "[channel]") {
  Keys keys;
  Pair p = Establish(keys);
  auto frame = p.initiator->Seal(AsBytes("ping"));
  REQUIRE(frame.ok());
  Event e = One(*p.responder, *frame);
  CHECK(e.kind == Event::Kind::kMessage);
  CHECK(AsChars(e.payload) == "ping");
  auto back = p.responder->Seal(AsBytes("pong"));
  REQUIRE(back.ok());
  CHECK(AsChars(One(*p.initiator, *back).payload) == "pong");
}

TEST_CASE("A join handshake binds the psk the responder derives from message 1", "[channel]") {
  Keys keys;
  Pair p = Establish(keys, proto::PURPOSE_JOIN);
  CHECK(p.initiator->purpose() == proto::PURPOSE_JOIN);

  // The same exchange with a psk the responder does not share fails.
  Bytes frame1;
  InitiatorParams params = Params(keys, proto::PURPOSE_JOIN, "secret inside");
  params.psk->data()[0] = 1;
  auto init = SecureChannel::Initiate(std::move(params), &frame1);
  REQUIRE(init.ok());
  auto responder = Responder(keys);
  One(*responder, frame1);
  auto frame2 = responder->Accept(AsBytes("welcome"), Psk());
  REQUIRE(frame2.ok());
  REQUIRE((*init)->Feed(*frame2).ok());
  auto event = (*init)->Next();
  CHECK(event.status().code() == Status::Code::kAuthFailed);
}

TEST_CASE("Many messages in one read, and one message split byte by byte", "[channel]") {
  Keys keys;
  Pair p = Establish(keys);
  Bytes batch;
  for (int i = 0; i < 50; ++i) {
    REQUIRE(p.initiator->SealAppend(AsBytes("m" + std::to_string(i)), &batch).ok());
  }
  REQUIRE(p.responder->Feed(batch).ok());
  for (int i = 0; i < 50; ++i) {
    auto e = p.responder->Next();
    REQUIRE(e.ok());
    REQUIRE(e->has_value());
    CHECK(AsChars((*e)->payload) == "m" + std::to_string(i));
  }
  auto frame = p.initiator->Seal(AsBytes("split"));
  REQUIRE(frame.ok());
  for (size_t i = 0; i + 1 < frame->size(); ++i) {
    REQUIRE(p.responder->Feed(ByteView(frame->data() + i, 1)).ok());
    auto e = p.responder->Next();
    REQUIRE(e.ok());
    CHECK_FALSE(e->has_value());
  }
  CHECK(AsChars(One(*p.responder, ByteView(&frame->back(), 1)).payload) == "split");
}

TEST_CASE("A flipped, replayed or reordered transport frame poisons the channel",
          "[channel][error]") {
  Keys keys;
  Pair p = Establish(keys);
  auto first = p.initiator->Seal(AsBytes("first"));
  auto second = p.initiator->Seal(AsBytes("second"));
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  SECTION("flipped") {
    (*first)[5] ^= 0x40;
    REQUIRE(p.responder->Feed(*first).ok());
    CHECK(p.responder->Next().status().code() == Status::Code::kAuthFailed);
  }
  SECTION("replayed") {
    One(*p.responder, *first);
    REQUIRE(p.responder->Feed(*first).ok());
    CHECK(p.responder->Next().status().code() == Status::Code::kAuthFailed);
  }
  SECTION("reordered") {
    REQUIRE(p.responder->Feed(*second).ok());
    CHECK(p.responder->Next().status().code() == Status::Code::kAuthFailed);
  }
  CHECK(p.responder->state() == SecureChannel::State::kFailed);
  CHECK_FALSE(p.responder->Feed(*second).ok());
  CHECK_FALSE(p.responder->Next().ok());
}

TEST_CASE("A responder refuses garbage, a foreign purpose and a wrong static key",
          "[channel][error]") {
  Keys keys;
  SECTION("garbage frame") {
    auto responder = Responder(keys);
    Bytes garbage = {0x00, 0x04, 0xde, 0xad, 0xbe, 0xef};
    REQUIRE(responder->Feed(garbage).ok());
    CHECK(responder->Next().status().code() == Status::Code::kCorruption);
  }
  SECTION("purpose not served") {
    Bytes frame1;
    REQUIRE(SecureChannel::Initiate(Params(keys, proto::PURPOSE_CHAT, ""), &frame1).ok());
    auto responder = Responder(keys, {proto::PURPOSE_TRACKER});
    REQUIRE(responder->Feed(frame1).ok());
    CHECK(responder->Next().status().code() == Status::Code::kPermissionDenied);
  }
  SECTION("initiator expected another responder key") {
    Keys other;
    Bytes frame1;
    InitiatorParams params = Params(keys, proto::PURPOSE_TRACKER, "");
    params.remote_static = other.responder.public_key;
    REQUIRE(SecureChannel::Initiate(std::move(params), &frame1).ok());
    auto responder = Responder(keys);
    REQUIRE(responder->Feed(frame1).ok());
    CHECK(responder->Next().status().code() == Status::Code::kAuthFailed);
  }
  SECTION("data pipelined before the reply") {
    Bytes frame1;
    REQUIRE(SecureChannel::Initiate(Params(keys, proto::PURPOSE_TRACKER, ""), &frame1).ok());
    auto responder = Responder(keys);
    One(*responder, frame1);
    Bytes extra = {0x00, 0x01, 0x00};
    REQUIRE(responder->Feed(extra).ok());
    CHECK(responder->Next().status().code() == Status::Code::kFailedPrecondition);
  }
}

TEST_CASE("A tampered purpose breaks the handshake", "[channel][error]") {
  Keys keys;
  Bytes frame1;
  REQUIRE(SecureChannel::Initiate(Params(keys, proto::PURPOSE_CHAT, ""), &frame1).ok());
  proto::HandshakeInit init;
  REQUIRE(init.ParseFromArray(frame1.data() + 2, static_cast<int>(frame1.size() - 2)));
  init.set_purpose(proto::PURPOSE_TRACKER);
  std::string rewritten = init.SerializeAsString();
  auto frame = wire::EncodeFrame(AsBytes(rewritten));
  REQUIRE(frame.ok());
  auto responder = Responder(keys);
  REQUIRE(responder->Feed(*frame).ok());
  CHECK(responder->Next().status().code() == Status::Code::kAuthFailed);
}

TEST_CASE("Sealing is refused before the handshake and over the frame limit", "[channel][error]") {
  Keys keys;
  Bytes frame1;
  auto init = SecureChannel::Initiate(Params(keys, proto::PURPOSE_TRACKER, ""), &frame1);
  REQUIRE(init.ok());
  CHECK((*init)->Seal(AsBytes("early")).status().code() == Status::Code::kFailedPrecondition);
  Pair p = Establish(keys);
  Bytes big(kMaxPlaintextBytes + 1, 0x61);
  CHECK(p.initiator->Seal(big).status().code() == Status::Code::kInvalidArgument);
  Bytes max(kMaxPlaintextBytes, 0x61);
  auto frame = p.initiator->Seal(max);
  REQUIRE(frame.ok());
  CHECK(One(*p.responder, *frame).payload.size() == kMaxPlaintextBytes);
  CHECK(SecureChannel::Initiate(Params(keys, proto::PURPOSE_CHAT, "x"), &frame1).ok());
  InitiatorParams no_psk = Params(keys, proto::PURPOSE_JOIN, "");
  no_psk.psk.reset();
  CHECK(SecureChannel::Initiate(std::move(no_psk), &frame1).status().code() ==
        Status::Code::kInvalidArgument);
}

TEST_CASE("Both directions rekey after the same count and keep working", "[channel]") {
  Keys keys;
  constexpr uint64_t kEvery = 1000;
  Bytes frame1;
  InitiatorParams params = Params(keys, proto::PURPOSE_TRACKER, "");
  params.rekey_after_messages = kEvery;
  auto init = SecureChannel::Initiate(std::move(params), &frame1);
  REQUIRE(init.ok());
  ResponderParams r;
  r.local_static = keys.responder.private_key;
  r.purposes = {proto::PURPOSE_TRACKER};
  r.rekey_after_messages = kEvery;
  Pair p{std::move(init).value(), SecureChannel::Respond(std::move(r))};
  One(*p.responder, frame1);
  auto frame2 = p.responder->Accept({});
  REQUIRE(frame2.ok());
  One(*p.initiator, *frame2);
  // Run just past one rekey boundary in one direction, checking in batches
  // (a REQUIRE per message would dominate the run time).
  auto drain = [&](const Bytes& bytes) {
    if (!p.responder->Feed(bytes).ok())
      return false;
    for (;;) {
      auto e = p.responder->Next();
      if (!e.ok())
        return false;
      if (!e->has_value())
        return true;
    }
  };
  Bytes batch;
  bool sealed = true;
  for (uint64_t i = 0; i < 3 * kEvery + 3; ++i) {
    sealed = sealed && p.initiator->SealAppend({}, &batch).ok();
    if (batch.size() > (1 << 14)) {
      REQUIRE(sealed);
      REQUIRE(drain(batch));
      batch.clear();
    }
  }
  REQUIRE(sealed);
  REQUIRE(drain(batch));
  auto frame = p.initiator->Seal(AsBytes("after rekey"));
  REQUIRE(frame.ok());
  CHECK(AsChars(One(*p.responder, *frame).payload) == "after rekey");
  auto back = p.responder->Seal(AsBytes("the other way"));
  REQUIRE(back.ok());
  CHECK(AsChars(One(*p.initiator, *back).payload) == "the other way");

  // A side that rekeyed at a different count can no longer read.
  Bytes frame_a;
  InitiatorParams early = Params(keys, proto::PURPOSE_TRACKER, "");
  early.rekey_after_messages = 2;
  auto a = SecureChannel::Initiate(std::move(early), &frame_a);
  REQUIRE(a.ok());
  auto b = Responder(keys);  // the protocol's count
  One(*b, frame_a);
  auto reply = b->Accept({});
  REQUIRE(reply.ok());
  One(**a, *reply);
  for (int i = 0; i < 2; ++i) {
    auto f = (*a)->Seal(AsBytes("x"));
    REQUIRE(f.ok());
    One(*b, *f);
  }
  auto after = (*a)->Seal(AsBytes("y"));
  REQUIRE(after.ok());
  REQUIRE(b->Feed(*after).ok());
  CHECK(b->Next().status().code() == Status::Code::kAuthFailed);
}

}  // namespace
}  // namespace confab::channel

namespace confab::channel {
namespace {

TEST_CASE("A responder with a small frame limit refuses a bigger frame", "[channel][error]") {
  Keys keys;
  ResponderParams r;
  r.local_static = keys.responder.private_key;
  r.purposes = {proto::PURPOSE_TRACKER};
  r.max_frame_payload = 1024;
  auto responder = SecureChannel::Respond(std::move(r));
  Bytes header = {0x04, 0x01};  // announces 1025 bytes
  REQUIRE(responder->Feed(header).ok());
  CHECK(responder->Next().status().code() == Status::Code::kCorruption);
}

}  // namespace
}  // namespace confab::channel

namespace confab::channel {
namespace {

TEST_CASE("A file channel may use AESGCM where AES-NI is present", "[channel][cipher]") {
  if (Status aes = noise::CheckCipherAvailable(noise::CipherKind::kAesGcm); !aes.ok())
    CONFAB_SKIP("no AES-GCM on this CPU: " + aes.ToString());
  Keys keys;
  InitiatorParams p = Params(keys, proto::PURPOSE_FILE, "cert");
  p.cipher = proto::CIPHER_AESGCM;
  Bytes frame1;
  auto init = SecureChannel::Initiate(std::move(p), &frame1);
  REQUIRE(init.ok());
  auto responder = Responder(keys, {proto::PURPOSE_FILE});
  Event hello = One(*responder, frame1);
  CHECK(hello.purpose == proto::PURPOSE_FILE);
  auto frame2 = responder->Accept(AsBytes("ok"));
  REQUIRE(frame2.ok());
  CHECK(One(**init, *frame2).kind == Event::Kind::kWelcome);
  auto data = (*init)->Seal(AsBytes("file bytes"));
  REQUIRE(data.ok());
  CHECK(AsChars(One(*responder, *data).payload) == "file bytes");
}

TEST_CASE("AESGCM is refused for anything but a file channel", "[channel][cipher][error]") {
  Keys keys;
  InitiatorParams p = Params(keys, proto::PURPOSE_CHAT, "cert");
  p.cipher = proto::CIPHER_AESGCM;
  Bytes frame1;
  auto init = SecureChannel::Initiate(std::move(p), &frame1);
  REQUIRE_FALSE(init.ok());
  CHECK(init.status().code() == Status::Code::kPermissionDenied);

  // A hello that names AESGCM for chat (built by hand) is refused too.
  InitiatorParams file = Params(keys, proto::PURPOSE_FILE, "cert");
  auto ok = SecureChannel::Initiate(std::move(file), &frame1);
  REQUIRE(ok.ok());
  proto::HandshakeInit hello;
  REQUIRE(hello.ParseFromArray(frame1.data() + 2, static_cast<int>(frame1.size() - 2)));
  hello.set_purpose(proto::PURPOSE_CHAT);
  hello.set_cipher(proto::CIPHER_AESGCM);
  Bytes payload(hello.ByteSizeLong());
  hello.SerializeToArray(payload.data(), static_cast<int>(payload.size()));
  auto forged = wire::EncodeFrame(payload);
  REQUIRE(forged.ok());
  auto responder = Responder(keys, {proto::PURPOSE_CHAT, proto::PURPOSE_FILE});
  REQUIRE(responder->Feed(*forged).ok());
  auto event = responder->Next();
  REQUIRE_FALSE(event.ok());
  CHECK(event.status().code() == Status::Code::kPermissionDenied);
}

}  // namespace
}  // namespace confab::channel
