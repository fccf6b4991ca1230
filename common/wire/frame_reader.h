// FrameReader: turns a TCP byte stream, split however the kernel likes, back
// into the frames of frame.h. Sans-I/O and incremental, as LevelDB's
// log::Reader: the caller feeds bytes and pulls frames (a drained queue, not
// a callback, so no upcall can destroy the reader under its own feet).
//
//   CONFAB_RETURN_IF_ERROR(reader.Feed(data));   // copies what it needs
//   for (;;) {
//     CONFAB_ASSIGN_OR_RETURN(std::optional<Bytes> frame, reader.Next());
//     if (!frame) break;                          // input used up
//     CONFAB_RETURN_IF_ERROR(Handle(*frame));
//   }
//   ...and at EOF: CONFAB_RETURN_IF_ERROR(reader.Finish());
//
// Errors. A frame that announces more than the limit, or zero bytes (see
// frame.h for why), is Corruption: the peer sent something no confab peer
// sends, and DESIGN.md says such a peer is disconnected. We use Corruption and
// not ResourceExhausted because the limit is part of the protocol, not a local
// resource that might free up later; retrying cannot help. Ending the stream
// inside a frame is Corruption too. Errors are reported in stream order: the
// frames that came before the bad bytes are still returned by Next(), then
// the error, so the result never depends on how the stream was split. Once
// reported, an error poisons the reader: every later Feed, Next and Finish
// returns the same Status, so a caller that ignores one error cannot
// resynchronise on garbage.
//
// Memory: apart from the complete frames of the last Feed, waiting to be
// pulled (Feed refuses more until they are), the reader holds at most one
// unfinished frame: kFrameHeaderBytes + max_payload_bytes, however much is fed.
//
// Not thread-safe; one reader per connection, used on the loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/base/status.h"
#include "common/wire/frame.h"

namespace confab::wire {

class FrameReader {
 public:
  // Frames longer than `max_payload_bytes` are refused. Values above
  // kMaxFramePayloadBytes are clamped to it (the header cannot say more);
  // 0 would refuse every frame and is a caller bug (debug-checked).
  explicit FrameReader(size_t max_payload_bytes = kMaxFramePayloadBytes);

  FrameReader(const FrameReader&) = delete;
  FrameReader& operator=(const FrameReader&) = delete;

  // Takes the next bytes of the stream, any split; `data` is not retained.
  // Complete frames are queued for Next() and an unfinished tail is kept.
  // Bad bytes are not reported here but by Next(), after the frames before
  // them. Returns:
  //  - the poisoning Status if an error has been reported;
  //  - FailedPrecondition if Next() has not drained the previous Feed (a
  //    caller bug; it does not poison the reader);
  //  - FailedPrecondition "data after the end of the stream" after Finish(),
  //    which poisons the reader.
  Status Feed(ByteView data);

  // The next complete frame, owned by the caller; nullopt once the frames
  // fed so far are drained (an unfinished frame is kept for the next Feed);
  // Corruption on an oversize or zero-length frame (poisons).
  Result<std::optional<Bytes>> Next();

  // Declares the end of the stream (the socket saw EOF). OK if it ended on a
  // frame boundary; Corruption "stream ended inside a frame" otherwise, or
  // the bad-frame error Next() had yet to report (both poison).
  // FailedPrecondition, without poisoning, if frames are still queued.
  // Calling it again returns the same answer.
  Status Finish();

  // True while part of a frame (header or body) has been read but not the
  // rest: what Finish() calls truncation.
  bool mid_frame() const { return header_have_ > 0; }
  // True while Next() has frames (or an error) left to return.
  bool has_pending() const { return !ready_.empty() || !pending_error_.ok(); }
  // The first error, or OK.
  const Status& status() const { return status_; }
  size_t max_payload_bytes() const { return max_payload_bytes_; }

 private:
  Status Poison(Status status);
  // Consumes a prefix of `*data`: header bytes, or body bytes, queueing the
  // frame they complete. Returns a bad header's error.
  Status Consume(ByteView* data);

  const size_t max_payload_bytes_;
  std::deque<Bytes> ready_;  // complete frames not yet returned by Next()
  Status pending_error_;     // found by Feed, reported by Next after ready_
  uint8_t header_[kFrameHeaderBytes] = {};
  size_t header_have_ = 0;  // header bytes of the current frame seen so far
  size_t body_size_ = 0;    // valid once header_have_ == kFrameHeaderBytes
  Bytes body_;              // the current frame's payload so far
  bool finished_ = false;
  Status status_;  // sticky once not OK
};

}  // namespace confab::wire
