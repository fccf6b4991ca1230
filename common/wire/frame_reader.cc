#include "common/wire/frame_reader.h"

#include <algorithm>
#include <string>
#include <utility>

#include "common/base/check.h"

namespace confab::wire {

FrameReader::FrameReader(size_t max_payload_bytes)
    : max_payload_bytes_(std::min(max_payload_bytes, kMaxFramePayloadBytes)) {
  CONFAB_DCHECK(max_payload_bytes_ > 0);
}

Status FrameReader::Poison(Status status) {
  status_ = std::move(status);
  // A poisoned reader holds no peer data.
  ready_.clear();
  pending_error_ = Status::Ok();
  body_ = Bytes();
  return status_;
}

Status FrameReader::Feed(ByteView data) {
  if (!status_.ok())
    return status_;
  if (finished_)
    return Poison(Status::FailedPrecondition("data after the end of the stream"));
  if (has_pending())
    return Status::FailedPrecondition("Feed before the previous frames were drained with Next");
  while (!data.empty()) {
    Status consumed = Consume(&data);
    if (!consumed.ok()) {
      // Report it after the frames that preceded it, as a byte-at-a-time
      // reader would; nothing after the bad header is looked at.
      pending_error_ = std::move(consumed);
      body_ = Bytes();
      break;
    }
  }
  return Status::Ok();
}

Status FrameReader::Consume(ByteView* data) {
  if (header_have_ < kFrameHeaderBytes) {
    const size_t take = std::min(kFrameHeaderBytes - header_have_, data->size());
    std::copy_n(data->begin(), take, header_ + header_have_);
    header_have_ += take;
    *data = data->subspan(take);
    if (header_have_ < kFrameHeaderBytes)
      return Status::Ok();
    body_size_ = (size_t{header_[0]} << 8) | header_[1];
    // Checked before allocating anything for the body.
    if (body_size_ == 0)
      return Status::Corruption("zero-length frame");
    if (body_size_ > max_payload_bytes_) {
      return Status::Corruption("frame of " + std::to_string(body_size_) +
                                " bytes exceeds the limit of " +
                                std::to_string(max_payload_bytes_));
    }
    // Exactly one frame's worth: growing by doubling could overshoot the
    // memory bound promised in the header.
    body_ = Bytes();
    body_.reserve(body_size_);
  }
  const size_t take = std::min(body_size_ - body_.size(), data->size());
  body_.insert(body_.end(), data->begin(), data->begin() + static_cast<ptrdiff_t>(take));
  *data = data->subspan(take);
  if (body_.size() == body_size_) {
    header_have_ = 0;
    ready_.push_back(std::move(body_));
    body_ = Bytes();  // a moved-from vector is valid but unspecified
  }
  return Status::Ok();
}

Result<std::optional<Bytes>> FrameReader::Next() {
  if (!status_.ok())
    return status_;
  if (!ready_.empty()) {
    Bytes frame = std::move(ready_.front());
    ready_.pop_front();
    return std::optional<Bytes>(std::move(frame));
  }
  if (!pending_error_.ok())
    return Poison(pending_error_);
  return std::optional<Bytes>();
}

Status FrameReader::Finish() {
  if (!status_.ok())
    return status_;
  if (!ready_.empty())
    return Status::FailedPrecondition("Finish before the queued frames were drained with Next");
  if (!pending_error_.ok())
    return Poison(pending_error_);
  finished_ = true;
  if (mid_frame())
    return Poison(Status::Corruption("stream ended inside a frame"));
  return Status::Ok();
}

}  // namespace confab::wire
