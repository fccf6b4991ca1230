#include "peer/transfer/file_io.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "tests/unit/skip.h"

namespace confab::peer::transfer {
namespace {

struct Dir {
  explicit Dir(const std::string& under = std::filesystem::temp_directory_path().string()) {
    std::string t = under + "/confab-fio-XXXXXX";
    path = ::mkdtemp(t.data()) != nullptr ? t : "";
  }
  ~Dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string File(const std::string& name) const { return path + "/" + name; }
  std::string path;
};

Bytes Pattern(size_t size) {
  Bytes b(size);
  for (size_t i = 0; i < size; ++i)
    b[i] = static_cast<uint8_t>(i * 31 + i / 65536);
  return b;
}

void Write(const std::string& path, const Bytes& data) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

Bytes Digest(const Bytes& data) {
  StreamHash h;
  h.Update(data);
  return h.Final();
}

// Sends `path` from `offset` into `sink` the way the two sides do.
Bytes Stream(const std::string& path, uint64_t size, uint64_t offset, SinkFile& sink) {
  auto source = OpenSource(path, size, offset);
  REQUIRE(source.ok());
  for (;;) {
    auto batch = ReadNext(**source, 300000);
    REQUIRE(batch.ok());
    for (auto [start, length] : batch->frames) {
      REQUIRE(batch->buffer[start] == kFrameData);
      REQUIRE(length - 1 <= kChunkDataBytes);
      REQUIRE(WriteSink(sink, ByteView(batch->buffer.data() + start + 1, length - 1), false).ok());
    }
    if (batch->eof)
      break;
  }
  return (*source)->digest;
}

TEST_CASE("Streaming a file gives both sides the same digest, also after a resume",
          "[transfer][file]") {
  Dir dir;
  const Bytes data = Pattern(1'000'003);
  Write(dir.File("src"), data);
  const std::string part = dir.File("q.part");
  {
    auto sink = OpenSink(part, 0);
    REQUIRE(sink.ok());
    // The first 400000 bytes, synced, then the sender "dies".
    REQUIRE(WriteSink(**sink, ByteView(data.data(), 400000), true).ok());
    REQUIRE(WriteSink(**sink, ByteView(data.data() + 400000, 1000), false).ok());
    CHECK((*sink)->synced == 400000);
  }
  // The durable offset is 400000: the unsynced tail is cut off.
  auto sink = OpenSink(part, 400000);
  REQUIRE(sink.ok());
  CHECK((*sink)->written == 400000);
  const Bytes sender_digest = Stream(dir.File("src"), data.size(), 400000, **sink);
  CHECK(sender_digest == Digest(data));
  FinishOutcome out = FinishSink(**sink, sender_digest, "", dir.File("out"), "a.bin");
  CHECK(out.state == State::kCompleted);
  CHECK(out.digest == Digest(data));
  CHECK(out.path == dir.File("out") + "/a.bin");
  CHECK_FALSE(std::filesystem::exists(part));
  CHECK(std::filesystem::file_size(out.path) == data.size());
}

TEST_CASE("A digest mismatch keeps the file in quarantine", "[transfer][file][error]") {
  Dir dir;
  const Bytes data = Pattern(5000);
  auto sink = OpenSink(dir.File("q.part"), 0);
  REQUIRE(sink.ok());
  REQUIRE(WriteSink(**sink, data, false).ok());
  Bytes wrong = Digest(data);
  wrong[0] ^= 1;
  FinishOutcome out = FinishSink(**sink, wrong, "", dir.File("out"), "a.bin");
  CHECK(out.state == State::kFailed);
  CHECK(out.reason.find("digest mismatch") != std::string::npos);
  CHECK(std::filesystem::exists(dir.File("q.part")));
  CHECK_FALSE(std::filesystem::exists(dir.File("out") + "/a.bin"));
}

TEST_CASE("The scanner's exit status decides: 1 infected, other failures stay quarantined",
          "[transfer][file]") {
  Dir dir;
  const Bytes data = Pattern(100);
  for (auto [command, state, words] :
       {std::tuple{"false {}", State::kQuarantined, "infected"},
        std::tuple{"ls /nonexistent-confab {}", State::kQuarantined, "scan failed (exit 2)"},
        std::tuple{"/nonexistent/scanner {}", State::kQuarantined, "scan failed"},
        std::tuple{"true {}", State::kCompleted, ""}}) {
    const std::string part = dir.File("q.part");
    auto sink = OpenSink(part, 0);
    REQUIRE(sink.ok());
    REQUIRE(WriteSink(**sink, data, false).ok());
    FinishOutcome out = FinishSink(**sink, Digest(data), command, dir.File("out"), "a.bin");
    INFO(command);
    CHECK(out.state == state);
    CHECK(out.reason.find(words) != std::string::npos);
    if (state == State::kCompleted)
      CHECK(out.path == dir.File("out") + "/a.bin");
    (void)unlink(part.c_str());
  }
}

TEST_CASE("A release never replaces an existing file", "[transfer][file]") {
  Dir dir;
  std::filesystem::create_directories(dir.File("out"));
  Write(dir.File("out") + "/a.bin", Bytes(3, 1));
  Write(dir.File("out") + "/a (1).bin", Bytes(3, 2));
  const Bytes data = Pattern(100);
  auto sink = OpenSink(dir.File("q.part"), 0);
  REQUIRE(sink.ok());
  REQUIRE(WriteSink(**sink, data, false).ok());
  FinishOutcome out = FinishSink(**sink, Digest(data), "", dir.File("out"), "a.bin");
  CHECK(out.state == State::kCompleted);
  CHECK(out.path == dir.File("out") + "/a (2).bin");
  CHECK(std::filesystem::file_size(dir.File("out") + "/a.bin") == 3);
}

TEST_CASE("A release into another filesystem copies, then never replaces", "[transfer][file]") {
  Dir dir;
  // /dev/shm is a tmpfs, so linking from the quarantine fails with EXDEV.
  struct stat here {
  }, shm{};
  if (stat(dir.path.c_str(), &here) != 0 || stat("/dev/shm", &shm) != 0 ||
      here.st_dev == shm.st_dev)
    CONFAB_SKIP("no second filesystem at /dev/shm (beside " + dir.path + ")");
  Dir out("/dev/shm");
  Write(out.File("a.bin"), Bytes(3, 1));
  const Bytes data = Pattern(100'000);
  auto sink = OpenSink(dir.File("q.part"), 0);
  REQUIRE(sink.ok());
  REQUIRE(WriteSink(**sink, data, false).ok());
  FinishOutcome result = FinishSink(**sink, Digest(data), "", out.path, "a.bin");
  CHECK(result.reason == "");
  CHECK(result.state == State::kCompleted);
  CHECK(result.path == out.File("a (1).bin"));
  CHECK(std::filesystem::file_size(out.File("a.bin")) == 3);
  CHECK(std::filesystem::file_size(out.File("a (1).bin")) == data.size());
  CHECK_FALSE(std::filesystem::exists(dir.File("q.part")));
  // No hidden copy is left behind.
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(out.path))
    ++entries;
  CHECK(entries == 2);
}

TEST_CASE("A source that changed size since the offer is refused", "[transfer][file][error]") {
  Dir dir;
  Write(dir.File("src"), Pattern(100));
  CHECK(OpenSource(dir.File("src"), 99, 0).status().code() == Status::Code::kFailedPrecondition);
  CHECK(OpenSource(dir.File("missing"), 1, 0).status().code() == Status::Code::kIoError);
  CHECK(OpenSource(dir.path, 1, 0).status().code() == Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace confab::peer::transfer

namespace confab::peer::transfer {
namespace {

TEST_CASE("Aligned batches bypass the page cache and the file comes out the same",
          "[transfer][file]") {
  Dir dir;
  const Bytes data = Pattern(3 * 1024 * 1024 + 1234);
  auto sink = OpenSink(dir.File("q.part"), 0);
  REQUIRE(sink.ok());
  const bool direct = (*sink)->direct_fd >= 0;
  AlignedBuffer first(1 << 20);
  first.Append(ByteView(data.data(), 1 << 20));
  REQUIRE(WriteSink(**sink, first.view(), false).ok());  // aligned: direct
  // An odd piece from unaligned memory, then an aligned buffer at an
  // unaligned file offset (a resume can leave one): both go buffered where
  // they must.
  REQUIRE(WriteSink(**sink, ByteView(data.data() + (1 << 20), 5000), false).ok());
  AlignedBuffer rest(2 << 20);
  rest.Append(ByteView(data.data() + (1 << 20) + 5000, data.size() - (1 << 20) - 5000));
  REQUIRE(WriteSink(**sink, rest.view(), true).ok());
  CHECK((*sink)->written == data.size());
  CHECK((*sink)->synced == data.size());
  CHECK(((*sink)->direct_fd >= 0) == direct);
  FinishOutcome out = FinishSink(**sink, Digest(data), "", dir.File("out"), "a.bin");
  REQUIRE(out.state == State::kCompleted);
  std::ifstream f(out.path, std::ios::binary);
  Bytes back((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  CHECK(back == data);
}

TEST_CASE("An aligned buffer grows and keeps its contents", "[transfer][file]") {
  AlignedBuffer b(10);
  const Bytes data = Pattern(10000);
  b.Append(ByteView(data.data(), 7));
  b.Append(ByteView(data.data() + 7, data.size() - 7));
  CHECK(b.size() == data.size());
  CHECK(Bytes(b.view().begin(), b.view().end()) == data);
  CHECK(reinterpret_cast<uintptr_t>(b.view().data()) % kDirectAlign == 0);
}

}  // namespace
}  // namespace confab::peer::transfer
