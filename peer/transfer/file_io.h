// The blocking file work of a transfer, run on libuv's thread pool (see
// RunInPool) and never on the loop thread: reading the source with the
// running digest, writing to quarantine with the running digest and fsync,
// and the end of a receive (digest check, scan, release). Each object is
// touched by one job at a time; its owner keeps at most one job in flight.
//
// The digest is BLAKE3 (256 bits) of the whole file: about 4 GB/s on one
// core here against about 1 GB/s for libsodium's BLAKE2b, and hashing is
// what each side spends most CPU on (third_party/blake3).
// On resume both sides hash the prefix again from disk (the sender its
// source, the receiver its quarantined part), so the final digest still
// covers every byte.
#pragma once

#include <blake3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/channel/secure_channel.h"
#include "common/net/loop.h"
#include "common/net/pool_work.h"
#include "peer/transfer/transfer_store.h"

namespace confab::peer::transfer {

// The first plaintext byte of every frame on a file connection (peer.proto).
inline constexpr uint8_t kFrameControl = 0;
inline constexpr uint8_t kFrameData = 1;
// File bytes per data frame: the largest Noise plaintext minus the tag byte.
inline constexpr size_t kChunkDataBytes = channel::kMaxPlaintextBytes - 1;
inline constexpr size_t kDigestBytes = 32;

class StreamHash {
 public:
  StreamHash() { blake3_hasher_init(&state_); }
  void Update(ByteView data) { blake3_hasher_update(&state_, data.data(), data.size()); }
  Bytes Final();

 private:
  blake3_hasher state_;
};

// The sender's file.
struct SourceFile {
  ~SourceFile();
  int fd = -1;
  uint64_t size = 0;
  uint64_t position = 0;  // read and hashed so far
  StreamHash hash;
  Bytes digest;  // set when position reaches size
};

// What one read produced: data frames' plaintexts laid out back to back,
// each [kFrameData][up to kChunkDataBytes of the file].
struct ReadBatch {
  Bytes buffer;
  std::vector<std::pair<size_t, size_t>> frames;  // (start, length) in buffer
  uint64_t bytes = 0;                             // file bytes in it
  bool eof = false;                               // the digest is final
};

// Opens `path` for sending, checks it still has `size` bytes and hashes
// [0, offset) so that reading resumes at `offset`. IoError naming the path;
// FailedPrecondition if the size changed.
[[nodiscard]] Result<std::shared_ptr<SourceFile>> OpenSource(const std::string& path, uint64_t size,
                                                             uint64_t offset);
// Reads up to `max_bytes` from the current position, hashing them.
[[nodiscard]] Result<ReadBatch> ReadNext(SourceFile& file, size_t max_bytes);

// A byte buffer whose start is aligned for O_DIRECT (kDirectAlign), for
// the receiver's batches. Grows (keeping its alignment) when an Append does
// not fit.
inline constexpr size_t kDirectAlign = 4096;
class AlignedBuffer {
 public:
  explicit AlignedBuffer(size_t capacity);
  ~AlignedBuffer();
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  void Append(ByteView data);
  ByteView view() const { return ByteView(data_, size_); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// The receiver's file in quarantine. Writes go through `direct_fd`
// (O_DIRECT: no page cache, which costs this machine about 1 CPU s/GB in
// copies and writeback) for the 4 KiB-aligned middle of an aligned buffer,
// and through `fd` for anything else; -1 where the file system refuses
// O_DIRECT.
struct SinkFile {
  ~SinkFile();
  int fd = -1;
  int direct_fd = -1;
  std::string path;
  uint64_t written = 0;  // bytes on disk (and hashed)
  uint64_t synced = 0;   // of which fsynced: the durable offset
  StreamHash hash;
};

// Opens (creating, mode 0600) the quarantine file `path`, cuts it to at most
// `offset` bytes and hashes what is left: writing resumes at `written`,
// which is less than `offset` only if the file lost data.
[[nodiscard]] Result<std::shared_ptr<SinkFile>> OpenSink(const std::string& path, uint64_t offset);
// Appends `data` at `written`, hashing it; fdatasync when `sync`.
[[nodiscard]] Status WriteSink(SinkFile& file, ByteView data, bool sync);

struct FinishOutcome {
  State state = State::kFailed;  // kCompleted, kQuarantined or kFailed
  std::string reason;            // why not completed
  std::string path;              // kCompleted: the released file
  Bytes digest;                  // ours
};
// The end of a receive: fsync, the digest against `expected`, the scan
// command (argv, empty for none), then the release: a hard link into
// `dest_dir` (created if missing) under `name` or "name (n).ext", never
// replacing a file, and the quarantine copy removed. A mismatch, an
// infected file or a failed scan leaves the file in quarantine.
FinishOutcome FinishSink(SinkFile& file, ByteView expected, const std::string& scan_command,
                         const std::string& dest_dir, const std::string& name);

// Runs `work` on the thread pool, then `done` with its result on the loop
// thread (or with the pool's error). `done` usually holds a weak_ptr to its
// owner.
template <typename T>
[[nodiscard]] Status RunInPool(net::Loop& loop, std::function<Result<T>()> work,
                               std::function<void(Result<T>)> done) {
  class Job final : public net::PoolWork {
   public:
    Job(std::function<Result<T>()> w, std::function<void(Result<T>)> d)
        : work_(std::move(w)), done_(std::move(d)) {}
    void Work() noexcept override { result_ = std::make_unique<Result<T>>(work_()); }
    void Done(Status status) noexcept override {
      if (!status.ok() || !result_)
        done_(Result<T>(status.ok() ? Status::IoError("no result") : status));
      else
        done_(std::move(*result_));
    }

   private:
    std::function<Result<T>()> work_;
    std::function<void(Result<T>)> done_;
    std::unique_ptr<Result<T>> result_;
  };
  return net::PoolWork::Submit(loop, std::make_unique<Job>(std::move(work), std::move(done)));
}

}  // namespace confab::peer::transfer
