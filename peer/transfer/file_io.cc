#include "peer/transfer/file_io.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <sodium.h>

#include "common/base/check.h"
#include "peer/transfer/policy.h"

extern char** environ;

namespace confab::peer::transfer {
namespace {

constexpr size_t kHashBlockBytes = 1 << 20;

Status Errno(const std::string& what) {
  return Status::IoError(what + ": " + std::strerror(errno));
}

// Hashes [from, to) of `fd`.
Status HashRange(int fd, uint64_t from, uint64_t to, StreamHash& hash, const std::string& path) {
  Bytes block(kHashBlockBytes);
  while (from < to) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(block.size(), to - from));
    const ssize_t n = pread(fd, block.data(), want, static_cast<off_t>(from));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return Errno("reading " + path);
    if (n == 0)
      return Status::FailedPrecondition(path + " is shorter than expected");
    hash.Update(ByteView(block.data(), static_cast<size_t>(n)));
    from += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

// The scan command's exit status, or -1 if it could not run.
int RunScan(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

Bytes StreamHash::Final() {
  Bytes out(kDigestBytes);
  blake3_hasher_finalize(&state_, out.data(), out.size());
  return out;
}

SourceFile::~SourceFile() {
  if (fd >= 0)
    close(fd);
}

SinkFile::~SinkFile() {
  if (fd >= 0)
    close(fd);
  if (direct_fd >= 0)
    close(direct_fd);
}

AlignedBuffer::AlignedBuffer(size_t capacity) {
  capacity_ = (capacity + kDirectAlign - 1) / kDirectAlign * kDirectAlign;
  data_ = static_cast<uint8_t*>(std::aligned_alloc(kDirectAlign, capacity_));
  CONFAB_CHECK(data_ != nullptr);
}

AlignedBuffer::~AlignedBuffer() {
  std::free(data_);
}

void AlignedBuffer::Append(ByteView data) {
  if (size_ + data.size() > capacity_) {
    const size_t grown = (std::max(capacity_ * 2, size_ + data.size()) + kDirectAlign - 1) /
                         kDirectAlign * kDirectAlign;
    auto* bigger = static_cast<uint8_t*>(std::aligned_alloc(kDirectAlign, grown));
    CONFAB_CHECK(bigger != nullptr);
    if (size_ > 0)
      std::memcpy(bigger, data_, size_);
    std::free(data_);
    data_ = bigger;
    capacity_ = grown;
  }
  if (!data.empty())
    std::memcpy(data_ + size_, data.data(), data.size());
  size_ += data.size();
}

Result<std::shared_ptr<SourceFile>> OpenSource(const std::string& path, uint64_t size,
                                               uint64_t offset) {
  auto file = std::make_shared<SourceFile>();
  file->fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (file->fd < 0)
    return Errno("opening " + path);
  struct stat st {};
  if (fstat(file->fd, &st) != 0)
    return Errno("stat " + path);
  if (!S_ISREG(st.st_mode))
    return Status::InvalidArgument(path + " is not a regular file");
  file->size = static_cast<uint64_t>(st.st_size);
  if (file->size != size)
    return Status::FailedPrecondition(path + " changed size since it was offered");
  if (offset > size)
    return Status::InvalidArgument("resume offset beyond the end of the file");
  (void)posix_fadvise(file->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  CONFAB_RETURN_IF_ERROR(HashRange(file->fd, 0, offset, file->hash, path));
  file->position = offset;
  if (file->position == file->size)
    file->digest = file->hash.Final();
  return file;
}

Result<ReadBatch> ReadNext(SourceFile& file, size_t max_bytes) {
  ReadBatch batch;
  const uint64_t left = file.size - file.position;
  const size_t want = static_cast<size_t>(std::min<uint64_t>(left, max_bytes));
  const size_t frames = (want + kChunkDataBytes - 1) / kChunkDataBytes;
  batch.buffer.resize(want + frames);
  size_t at = 0;
  size_t remaining = want;
  while (remaining > 0) {
    const size_t n = std::min(remaining, kChunkDataBytes);
    batch.buffer[at] = kFrameData;
    size_t got = 0;
    while (got < n) {
      const ssize_t r = pread(file.fd, batch.buffer.data() + at + 1 + got, n - got,
                              static_cast<off_t>(file.position + got));
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return Errno("reading the file");
      if (r == 0)
        return Status::FailedPrecondition("the file shrank while being sent");
      got += static_cast<size_t>(r);
    }
    file.hash.Update(ByteView(batch.buffer.data() + at + 1, n));
    file.position += n;
    batch.frames.emplace_back(at, n + 1);
    batch.bytes += n;
    at += n + 1;
    remaining -= n;
  }
  if (file.position == file.size) {
    batch.eof = true;
    if (file.digest.empty())
      file.digest = file.hash.Final();
  }
  return batch;
}

Result<std::shared_ptr<SinkFile>> OpenSink(const std::string& path, uint64_t offset) {
  auto file = std::make_shared<SinkFile>();
  file->path = path;
  file->fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (file->fd < 0)
    return Errno("opening " + path);
  struct stat st {};
  if (fstat(file->fd, &st) != 0)
    return Errno("stat " + path);
  const uint64_t keep = std::min<uint64_t>(offset, static_cast<uint64_t>(st.st_size));
  if (ftruncate(file->fd, static_cast<off_t>(keep)) != 0)
    return Errno("truncating " + path);
  CONFAB_RETURN_IF_ERROR(HashRange(file->fd, 0, keep, file->hash, path));
  file->written = file->synced = keep;
  file->direct_fd = open(path.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);  // -1: buffered only
  return file;
}

Status WriteSink(SinkFile& file, ByteView data, bool sync) {
  size_t done = 0;
  // Writes data[done, done + n) at its file offset through `fd`; 0 or errno.
  auto write_through = [&](int fd, size_t n) -> int {
    const size_t end = done + n;
    while (done < end) {
      const ssize_t w =
          pwrite(fd, data.data() + done, end - done, static_cast<off_t>(file.written + done));
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return errno;
      done += static_cast<size_t>(w);
    }
    return 0;
  };
  auto failed = [&](int error) {
    return Status::IoError("writing " + file.path + ": " + std::strerror(error));
  };
  if (file.direct_fd >= 0) {
    // Up to the next 4 KiB boundary of the file through the page cache,
    // then the aligned middle directly (when the memory is aligned too).
    const size_t head =
        std::min(data.size(), (kDirectAlign - file.written % kDirectAlign) % kDirectAlign);
    if (int error = write_through(file.fd, head); error != 0)
      return failed(error);
    const size_t body = (data.size() - done) / kDirectAlign * kDirectAlign;
    const bool aligned = reinterpret_cast<uintptr_t>(data.data() + done) % kDirectAlign == 0;
    if (body > 0 && aligned) {
      const size_t start = done;
      if (int error = write_through(file.direct_fd, body); error != 0) {
        if (error != EINVAL)
          return failed(error);
        // The file system took the open but not the write: buffered from
        // now on, starting again where this write began.
        close(file.direct_fd);
        file.direct_fd = -1;
        done = start;
      }
    }
  }
  if (int error = write_through(file.fd, data.size() - done); error != 0)
    return failed(error);
  file.hash.Update(data);
  // Start writeback of this batch now (without waiting), so that the periodic
  // fdatasync finds little left to flush and does not stall the stream.
  (void)sync_file_range(file.fd, static_cast<off_t>(file.written), static_cast<off_t>(data.size()),
                        SYNC_FILE_RANGE_WRITE);
  file.written += data.size();
  if (sync) {
    if (fdatasync(file.fd) != 0)
      return Errno("fsync " + file.path);
    file.synced = file.written;
  }
  return Status::Ok();
}

namespace {

// fsync(2) of a directory, so that a name just linked into it is durable.
void SyncDirectory(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return;
  (void)fsync(fd);
  close(fd);
}

// Copies `from` to a new hidden file in `dir` and fsyncs it; its path.
Result<std::string> DurableCopyInto(const std::string& from, const std::string& dir) {
  uint8_t random[8];
  randombytes_buf(random, sizeof random);
  std::string hidden = dir + "/.confab-release-";
  for (uint8_t b : random) {
    static const char kHex[] = "0123456789abcdef";
    hidden += kHex[b >> 4];
    hidden += kHex[b & 15];
  }
  std::error_code ec;
  if (!std::filesystem::copy_file(from, hidden, ec) || ec)
    return Status::IoError("copying into " + dir + ": " + ec.message());
  const int fd = open(hidden.c_str(), O_RDONLY | O_CLOEXEC);
  const bool synced = fd >= 0 && fsync(fd) == 0;
  if (fd >= 0)
    close(fd);
  if (!synced) {
    unlink(hidden.c_str());
    return Errno("fsync " + hidden);
  }
  return hidden;
}

}  // namespace

FinishOutcome FinishSink(SinkFile& file, ByteView expected, const std::string& scan_command,
                         const std::string& dest_dir, const std::string& name) {
  FinishOutcome out;
  if (fdatasync(file.fd) != 0) {
    out.reason = Errno("fsync " + file.path).ToString();
    return out;
  }
  file.synced = file.written;
  out.digest = file.hash.Final();
  if (expected.size() != out.digest.size() ||
      sodium_memcmp(expected.data(), out.digest.data(), out.digest.size()) != 0) {
    out.state = State::kFailed;
    out.reason = "digest mismatch: the file stays in quarantine";
    return out;
  }
  out.state = State::kQuarantined;
  if (!scan_command.empty()) {
    const int status = RunScan(ScanArgv(scan_command, file.path));
    if (status == 1) {
      out.reason = "infected: the scan command found something; the file stays in quarantine";
      return out;
    }
    if (status != 0) {
      out.reason =
          "the scan failed (exit " + std::to_string(status) + "); the file stays in quarantine";
      return out;
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(dest_dir, ec);
  if (ec) {
    out.reason = "cannot create " + dest_dir + ": " + ec.message();
    return out;
  }
  // A hard link never replaces an existing name, so the numbered names are
  // tried in turn. A download directory on another filesystem (EXDEV) gets
  // a durable copy first, under a hidden name beside the target, which is
  // then linked the same way.
  std::string source = file.path;
  std::string copy;  // the hidden copy in dest_dir, if one was made
  for (int n = 0; n < 1000; ++n) {
    const std::string target = dest_dir + "/" + NumberedName(name, n);
    if (link(source.c_str(), target.c_str()) == 0) {
      SyncDirectory(dest_dir);  // the new name survives a crash
      if (!copy.empty())
        unlink(copy.c_str());
      unlink(file.path.c_str());
      out.state = State::kCompleted;
      out.path = target;
      out.reason.clear();
      return out;
    }
    if (errno == EXDEV && copy.empty()) {
      Result<std::string> copied = DurableCopyInto(file.path, dest_dir);
      if (!copied.ok()) {
        out.reason = copied.status().ToString() + "; the file stays in quarantine";
        return out;
      }
      source = copy = *copied;
      --n;  // the same name again, from the copy
      continue;
    }
    if (errno != EEXIST) {
      out.reason = Errno("releasing to " + target).ToString();
      if (!copy.empty())
        unlink(copy.c_str());
      return out;
    }
  }
  if (!copy.empty())
    unlink(copy.c_str());
  out.reason = "no free name for " + name + " in " + dest_dir;
  return out;
}

}  // namespace confab::peer::transfer
