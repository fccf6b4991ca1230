#include "common/wire/frame_reader.h"

#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/wire/frame.h"

namespace confab::wire {
namespace {

// What reading a stream produced: the frames, then the first error (or OK).
struct Outcome {
  std::vector<Bytes> frames;
  Status status;
};

// Feeds `data` and drains every frame it completes into `*out`.
void FeedAndDrain(FrameReader& reader, ByteView data, Outcome* out) {
  if (!out->status.ok())
    return;
  out->status = reader.Feed(data);
  while (out->status.ok()) {
    Result<std::optional<Bytes>> next = reader.Next();
    if (!next.ok()) {
      out->status = next.status();
      return;
    }
    if (!next->has_value())
      return;
    out->frames.push_back(std::move(**next));
  }
}

// Reads `stream` split into chunks of at most `chunk` bytes, then Finish().
Outcome ReadInChunks(ByteView stream, size_t chunk, size_t max = kMaxFramePayloadBytes) {
  FrameReader reader(max);
  Outcome out;
  for (size_t at = 0; at < stream.size(); at += chunk)
    FeedAndDrain(reader, stream.subspan(at, std::min(chunk, stream.size() - at)), &out);
  if (out.status.ok())
    out.status = reader.Finish();
  return out;
}

Bytes Concat(const std::vector<Bytes>& parts) {
  Bytes all;
  for (const Bytes& p : parts)
    all.insert(all.end(), p.begin(), p.end());
  return all;
}

Bytes Frame(ByteView payload) {
  Result<Bytes> f = EncodeFrame(payload);
  REQUIRE(f.ok());
  return *f;
}

const std::vector<Bytes> kPayloads = {ToBytes(AsBytes("a")), ToBytes(AsBytes("hello")),
                                      Bytes(300, 0x42), ToBytes(AsBytes("xy")), Bytes(256, 0x00)};

Bytes MultiFrameStream() {
  std::vector<Bytes> frames;
  for (const Bytes& p : kPayloads)
    frames.push_back(Frame(p));
  return Concat(frames);
}

TEST_CASE("FrameReader reads many frames fed in one call", "[wire][reader]") {
  Outcome out = ReadInChunks(MultiFrameStream(), 1 << 20);
  REQUIRE(out.status.ok());
  CHECK(out.frames == kPayloads);
}

TEST_CASE("FrameReader reads a stream fed one byte at a time", "[wire][reader]") {
  Outcome out = ReadInChunks(MultiFrameStream(), 1);
  REQUIRE(out.status.ok());
  CHECK(out.frames == kPayloads);
}

TEST_CASE("FrameReader reads the same frames for every two-way split", "[wire][reader]") {
  const Bytes stream = MultiFrameStream();
  for (size_t split = 0; split <= stream.size(); ++split) {
    CAPTURE(split);
    FrameReader reader;
    Outcome out;
    FeedAndDrain(reader, ByteView(stream).first(split), &out);
    FeedAndDrain(reader, ByteView(stream).subspan(split), &out);
    REQUIRE(out.status.ok());
    REQUIRE(reader.Finish().ok());
    CHECK(out.frames == kPayloads);
  }
}

TEST_CASE("FrameReader reads the same frames for every three-way split", "[wire][reader]") {
  // Small frames keep this quadratic loop quick while still splitting each
  // header and body in every possible place.
  const Bytes stream =
      Concat({Frame(AsBytes("one")), Frame(AsBytes("2")), Frame(AsBytes("three"))});
  for (size_t a = 0; a <= stream.size(); ++a) {
    for (size_t b = a; b <= stream.size(); ++b) {
      CAPTURE(a, b);
      FrameReader reader;
      Outcome out;
      FeedAndDrain(reader, ByteView(stream).first(a), &out);
      FeedAndDrain(reader, ByteView(stream).subspan(a, b - a), &out);
      FeedAndDrain(reader, ByteView(stream).subspan(b), &out);
      REQUIRE(out.status.ok());
      REQUIRE(reader.Finish().ok());
      REQUIRE(out.frames.size() == 3);
      CHECK(AsChars(out.frames[2]) == "three");
    }
  }
}

TEST_CASE("FrameReader reads every chunk size", "[wire][reader]") {
  const Bytes stream = MultiFrameStream();
  for (size_t chunk = 1; chunk <= stream.size(); chunk += 7) {
    CAPTURE(chunk);
    Outcome out = ReadInChunks(stream, chunk);
    REQUIRE(out.status.ok());
    CHECK(out.frames == kPayloads);
  }
}

TEST_CASE("FrameReader treats empty feeds as no-ops", "[wire][reader]") {
  FrameReader reader;
  Outcome out;
  FeedAndDrain(reader, ByteView(), &out);
  const Bytes f = Frame(AsBytes("ok"));
  FeedAndDrain(reader, ByteView(f).first(1), &out);
  FeedAndDrain(reader, ByteView(), &out);
  FeedAndDrain(reader, ByteView(f).subspan(1), &out);
  REQUIRE(out.status.ok());
  REQUIRE(out.frames.size() == 1);
  CHECK(reader.Finish().ok());
}

TEST_CASE("FrameReader accepts exactly the maximum and refuses one byte more",
          "[wire][reader][error]") {
  SECTION("default limit: 65535 is the largest the header can say") {
    Bytes max(kMaxFramePayloadBytes, 0x7e);
    Outcome out = ReadInChunks(Frame(max), 4096);
    REQUIRE(out.status.ok());
    REQUIRE(out.frames.size() == 1);
    CHECK(out.frames[0] == max);
  }
  SECTION("configured limit") {
    Bytes stream = Concat({Frame(Bytes(1000, 1)), Frame(Bytes(1001, 2))});
    Outcome out = ReadInChunks(stream, 333, 1000);
    REQUIRE(out.frames.size() == 1);
    CHECK(out.status.code() == Status::Code::kCorruption);
    CHECK(out.status.message() == "frame of 1001 bytes exceeds the limit of 1000");
  }
}

TEST_CASE("FrameReader refuses an oversize frame from its header alone", "[wire][reader][error]") {
  FrameReader reader(16);
  REQUIRE(reader.Feed(Bytes{0x00, 0x11}).ok());  // 17 bytes announced, none sent
  Result<std::optional<Bytes>> next = reader.Next();
  REQUIRE_FALSE(next.ok());
  CHECK(next.status().code() == Status::Code::kCorruption);
}

TEST_CASE("FrameReader drops a peer that announces 0 bytes", "[wire][reader][error]") {
  Bytes stream = Concat({Frame(AsBytes("fine")), Bytes{0x00, 0x00}, Frame(AsBytes("never"))});
  Outcome out = ReadInChunks(stream, 1);
  REQUIRE(out.frames.size() == 1);
  CHECK(out.status.code() == Status::Code::kCorruption);
  CHECK(out.status.message() == "zero-length frame");
}

TEST_CASE("FrameReader reports a stream truncated inside a header", "[wire][reader][error]") {
  FrameReader reader;
  Outcome out;
  const Bytes stream = Concat({Frame(AsBytes("whole")), Bytes{0x00}});
  FeedAndDrain(reader, stream, &out);
  REQUIRE(out.status.ok());
  REQUIRE(out.frames.size() == 1);
  CHECK(reader.mid_frame());
  Status finish = reader.Finish();
  CHECK(finish.code() == Status::Code::kCorruption);
  CHECK(finish.message() == "stream ended inside a frame");
}

TEST_CASE("FrameReader reports a stream truncated inside a body", "[wire][reader][error]") {
  const Bytes frame = Frame(Bytes(500, 9));
  for (size_t cut = 2; cut < frame.size(); cut += 49) {
    CAPTURE(cut);
    Outcome out = ReadInChunks(ByteView(frame).first(cut), 64);
    CHECK(out.frames.empty());
    CHECK(out.status.code() == Status::Code::kCorruption);
  }
}

TEST_CASE("FrameReader ends cleanly on a frame boundary", "[wire][reader]") {
  FrameReader reader;
  CHECK_FALSE(reader.mid_frame());
  CHECK(reader.Finish().ok());
  CHECK(reader.Finish().ok());  // asking again gives the same answer
}

TEST_CASE("FrameReader refuses data after the end of the stream", "[wire][reader][error]") {
  FrameReader reader;
  REQUIRE(reader.Finish().ok());
  const Bytes f = Frame(AsBytes("late"));
  Status fed = reader.Feed(f);
  CHECK(fed.code() == Status::Code::kFailedPrecondition);
  CHECK(reader.Feed(f).ToString() == fed.ToString());
  CHECK(reader.Finish().ToString() == fed.ToString());
}

TEST_CASE("FrameReader stops at garbage and reads nothing after it", "[wire][reader][error]") {
  // Text where a header should be: "GE" announces 0x4745 = 18245 bytes.
  const std::string garbage = "GET / HTTP/1.1\r\nHost: confab\r\n\r\n";
  Outcome out = ReadInChunks(AsBytes(garbage), 5, 1024);
  CHECK(out.frames.empty());
  CHECK(out.status.code() == Status::Code::kCorruption);
}

TEST_CASE("FrameReader stays poisoned with the same error", "[wire][reader][error]") {
  FrameReader reader(8);
  REQUIRE(reader.Feed(Bytes{0x00, 0x09, 1, 2, 3}).ok());
  Result<std::optional<Bytes>> first = reader.Next();
  REQUIRE_FALSE(first.ok());
  const std::string error = first.status().ToString();
  CHECK(reader.status().ToString() == error);
  CHECK_FALSE(reader.has_pending());

  const Bytes good = Frame(AsBytes("ok"));
  CHECK(reader.Feed(good).ToString() == error);
  Result<std::optional<Bytes>> again = reader.Next();
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().ToString() == error);
  CHECK(reader.Finish().ToString() == error);
}

TEST_CASE("FrameReader refuses a new Feed before the last one is drained",
          "[wire][reader][error]") {
  FrameReader reader;
  const Bytes two = Concat({Frame(AsBytes("a")), Frame(AsBytes("b"))});
  REQUIRE(reader.Feed(two).ok());
  Result<std::optional<Bytes>> first = reader.Next();
  REQUIRE(first.ok());
  REQUIRE(first->has_value());
  CHECK(reader.has_pending());
  CHECK(reader.Feed(two).code() == Status::Code::kFailedPrecondition);
  CHECK(reader.Finish().code() == Status::Code::kFailedPrecondition);
  // A caller bug, not bad input: the reader carries on.
  Result<std::optional<Bytes>> second = reader.Next();
  REQUIRE(second.ok());
  REQUIRE(second->has_value());
  CHECK(AsChars(**second) == "b");
  Result<std::optional<Bytes>> none = reader.Next();
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  CHECK(reader.Finish().ok());
}

TEST_CASE("FrameReader returns the frames before a bad header, then the error",
          "[wire][reader][error]") {
  FrameReader reader(100);
  const Bytes stream = Concat({Frame(AsBytes("first")), Frame(AsBytes("second")), Bytes{0x01, 0x00},
                               Frame(AsBytes("never"))});
  REQUIRE(reader.Feed(stream).ok());
  CHECK(reader.has_pending());
  for (const char* expected : {"first", "second"}) {
    Result<std::optional<Bytes>> next = reader.Next();
    REQUIRE(next.ok());
    REQUIRE(next->has_value());
    CHECK(AsChars(**next) == expected);
  }
  Result<std::optional<Bytes>> bad = reader.Next();
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "frame of 256 bytes exceeds the limit of 100");
}

TEST_CASE("FrameReader reports an undrained bad header at Finish", "[wire][reader][error]") {
  FrameReader reader;
  REQUIRE(reader.Feed(Bytes{0x00, 0x00}).ok());
  CHECK(reader.Finish().message() == "zero-length frame");
  CHECK(reader.Next().status().message() == "zero-length frame");
}

TEST_CASE("FrameReader clamps a limit above what the header can express", "[wire][reader]") {
  FrameReader reader(1 << 20);
  CHECK(reader.max_payload_bytes() == kMaxFramePayloadBytes);
}

}  // namespace
}  // namespace confab::wire
