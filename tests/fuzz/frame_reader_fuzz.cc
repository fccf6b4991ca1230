// Fuzzes wire::FrameReader with the stream split into fuzzer-chosen chunks.
//
// Input layout: byte 0 picks the payload limit, byte 1 seeds the chunk sizes,
// the rest is the byte stream. Invariants checked on every input:
//  - every frame is non-empty and within the limit;
//  - re-encoding the frames read gives back a prefix of the stream, and the
//    whole stream when Finish() is OK;
//  - once an error is reported, every call keeps returning it;
//  - the result does not depend on the split (compared with one big Feed).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "common/wire/frame.h"
#include "common/wire/frame_reader.h"

namespace {

using confab::Bytes;
using confab::ByteView;
using confab::Status;
using confab::wire::FrameReader;

#define FUZZ_CHECK(cond)                                     \
  do {                                                       \
    if (!(cond)) {                                           \
      std::fprintf(stderr, "invariant failed: %s\n", #cond); \
      std::abort();                                          \
    }                                                        \
  } while (0)

struct Outcome {
  std::vector<Bytes> frames;
  Status status;  // first error from Feed/Next/Finish, or OK
};

// Drains the reader; false once an error was reported.
bool Drain(FrameReader& reader, Outcome* out) {
  for (;;) {
    confab::Result<std::optional<Bytes>> next = reader.Next();
    if (!next.ok()) {
      out->status = next.status();
      return false;
    }
    if (!next->has_value())
      return true;
    out->frames.push_back(std::move(**next));
  }
}

Outcome Read(ByteView stream, size_t max, uint8_t chunk_seed) {
  FrameReader reader(max);
  Outcome out;
  uint32_t state = chunk_seed * 2654435761u + 1;
  size_t at = 0;
  while (at < stream.size()) {
    // Chunk sizes from 1 to 1024, skewed small so headers get split often.
    state = state * 1103515245u + 12345u;
    size_t chunk = chunk_seed == 0 ? stream.size() : 1 + (state >> 16) % ((state & 1) ? 4 : 1024);
    chunk = std::min(chunk, stream.size() - at);
    Status fed = reader.Feed(stream.subspan(at, chunk));
    FUZZ_CHECK(fed.ok());  // we always drain, so only a reported error could fail it
    at += chunk;
    if (!Drain(reader, &out))
      break;
  }
  if (out.status.ok())
    out.status = reader.Finish();
  if (!out.status.ok()) {
    // Poisoned: the same error from every entry point.
    const std::string error = out.status.ToString();
    FUZZ_CHECK(reader.Feed(stream).ToString() == error);
    FUZZ_CHECK(reader.Next().status().ToString() == error);
    FUZZ_CHECK(reader.Finish().ToString() == error);
    FUZZ_CHECK(!reader.has_pending());
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2)
    return 0;
  // Limits from 1 to 65535, biased towards small ones so oversize is common.
  const size_t max = data[0] < 128 ? data[0] + 1u : (size_t{data[0]} << 8) | 0xffu;
  const uint8_t chunk_seed = data[1];
  const ByteView stream(data + 2, size - 2);

  const Outcome out = Read(stream, max, chunk_seed);
  Bytes reencoded;
  for (const Bytes& frame : out.frames) {
    FUZZ_CHECK(!frame.empty() && frame.size() <= max);
    FUZZ_CHECK(confab::wire::AppendFrame(frame, &reencoded, max).ok());
  }
  FUZZ_CHECK(reencoded.size() <= stream.size());
  FUZZ_CHECK(std::equal(reencoded.begin(), reencoded.end(), stream.begin()));
  if (out.status.ok())
    FUZZ_CHECK(reencoded.size() == stream.size());

  // Splitting must not change the answer.
  const Outcome whole = Read(stream, max, 0);
  FUZZ_CHECK(whole.frames == out.frames);
  FUZZ_CHECK(whole.status.ToString() == out.status.ToString());
  return 0;
}
