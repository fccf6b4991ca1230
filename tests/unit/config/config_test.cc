#include "common/config/config.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

namespace confab::config {
namespace {

using Code = Status::Code;
using std::chrono::seconds;

constexpr std::string_view kKnown[] = {
    "listen", "org", "max_members", "verbose", "invite.ttl", "metrics.listen", "blocked"};

constexpr std::string_view kTracker = R"(# tracker.toml
org = "example"
listen = "127.0.0.1:7650"
max_members = 500
verbose = true
blocked = ["exe", "scr"]

[invite]
ttl = "3d"
)";

Config MustParse(std::string_view text) {
  auto c = Config::Parse(text, "tracker.toml");
  REQUIRE(c.ok());
  return std::move(c).value();
}

std::string Message(const Status& s) {
  return std::string(s.message());
}

class TempDir {
 public:
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "confab-config-XXXXXX").string();
    path_ = ::mkdtemp(t.data()) != nullptr ? t : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

TEST_CASE("Config reads typed values and falls back to defaults", "[config]") {
  Config c = MustParse(kTracker);
  CHECK(c.CheckKnownKeys(kKnown).ok());
  CHECK(*c.GetString("org", "") == "example");
  CHECK(*c.GetString("listen", "0.0.0.0:7650") == "127.0.0.1:7650");
  CHECK(*c.GetString("metrics.listen", "") == "");
  CHECK(*c.GetInt("max_members", 100, 1, 100000) == 500);
  CHECK(*c.GetInt("absent", 100, 1, 100000) == 100);
  CHECK(*c.GetBool("verbose", false));
  CHECK(*c.GetDuration("invite.ttl", seconds(1)) == seconds(3 * 86400));
  CHECK(*c.GetDuration("absent", seconds(60)) == seconds(60));
  CHECK(*c.GetStringList("blocked", {}) == std::vector<std::string>{"exe", "scr"});
  CHECK(c.Has("invite.ttl"));
  CHECK_FALSE(c.Has("invite"));
  CHECK(c.Keys().size() == 6);
  CHECK(c.source() == "tracker.toml");
}

TEST_CASE("Config::Load reads a file and checks its keys", "[config]") {
  TempDir dir;
  std::ofstream(dir.File("tracker.toml")) << kTracker;
  auto c = Config::Load(dir.File("tracker.toml"), kKnown);
  REQUIRE(c.ok());
  CHECK(*c->GetString("org", "") == "example");
}

// Tests of the error paths in Config follow.

TEST_CASE("Config reports an unknown key with its line and a suggestion", "[config][error]") {
  Config c = MustParse("org = \"x\"\nlisen = \"1.2.3.4:1\"\n[invite]\nttll = \"1d\"\n");
  Status s = c.CheckKnownKeys(kKnown);
  CHECK(s.code() == Code::kInvalidArgument);
  CHECK(Message(s) ==
        "tracker.toml:2:1: unknown key 'lisen' (did you mean 'listen'?); "
        "tracker.toml:4:1: unknown key 'invite.ttll' (did you mean 'invite.ttl'?)");
  Config far = MustParse("completely_different = 1\n");
  CHECK(Message(far.CheckKnownKeys(kKnown)) ==
        "tracker.toml:1:1: unknown key 'completely_different'");
}

TEST_CASE("Config refuses garbage with file, line and column", "[config][error]") {
  const char* garbage[] = {
      "org = \n",                    // missing value
      "org = \"x\"\norg = \"y\"\n",  // duplicate key
      "\x01\x02\xff\xfe binary",     // not text
      "[invite\nttl = 1\n",          // unterminated table header
      "listen = 'unterminated\n",    // unterminated string
  };
  for (const char* text : garbage) {
    INFO(text);
    auto c = Config::Parse(text, "tracker.toml");
    REQUIRE_FALSE(c.ok());
    CHECK(c.status().code() == Code::kInvalidArgument);
    CHECK(Message(c.status()).rfind("tracker.toml:", 0) == 0);
  }
  auto dup = Config::Parse("org = \"x\"\norg = \"y\"\n", "t.toml");
  CHECK(Message(dup.status()).rfind("t.toml:2:", 0) == 0);
}

TEST_CASE("Config::Load on a missing or garbage file", "[config][error]") {
  TempDir dir;
  auto missing = Config::Load(dir.File("nope.toml"));
  CHECK(missing.status().code() == Code::kNotFound);
  std::ofstream(dir.File("bad.toml"), std::ios::binary) << "\x7f"
                                                        << "ELF\x02\x01\x01 garbage";
  auto bad = Config::Load(dir.File("bad.toml"), kKnown);
  CHECK(bad.status().code() == Code::kInvalidArgument);
  CHECK(Message(bad.status()).rfind(dir.File("bad.toml") + ":1:", 0) == 0);
  std::ofstream(dir.File("typo.toml")) << "lisen = \"x\"\n";
  auto typo = Config::Load(dir.File("typo.toml"), kKnown);
  CHECK(typo.status().code() == Code::kInvalidArgument);
  CHECK(Message(typo.status()).find("unknown key 'lisen'") != std::string::npos);
}

TEST_CASE("Config getters refuse the wrong type and out-of-range values", "[config][error]") {
  Config c = MustParse(
      "listen = 7650\nmax_members = 0\nverbose = \"yes\"\nblocked = [1, 2]\n"
      "[invite]\nttl = 7\n[metrics]\nlisten = \"7x\"\n");
  CHECK(Message(c.GetString("listen", "").status()) ==
        "tracker.toml:1:1: 'listen' must be a string, not an integer");
  CHECK(Message(c.GetInt("max_members", 1, 1, 100).status()) ==
        "tracker.toml:2:1: 'max_members' is 0, must be between 1 and 100");
  CHECK(Message(c.GetBool("verbose", false).status()) ==
        "tracker.toml:3:1: 'verbose' must be true or false, not a string");
  CHECK(c.GetStringList("blocked", {}).status().code() == Code::kInvalidArgument);
  CHECK(Message(c.GetDuration("invite.ttl", seconds(1)).status()).find("must be a duration") !=
        std::string::npos);
  CHECK(Message(c.GetDuration("metrics.listen", seconds(1)).status())
            .find("tracker.toml:8:1: 'metrics.listen' bad duration \"7x\"") == 0);
  CHECK(c.GetInt("listen", 0, 0, 7000).status().code() == Code::kInvalidArgument);
  Config d = MustParse("ttl = \"30s\"\nwhen = 1979-05-27\n");
  CHECK(Message(d.GetDuration("ttl", seconds(1), seconds(60), seconds(86400)).status()) ==
        "tracker.toml:1:1: 'ttl' is 30s, must be between 1m and 1d");
  CHECK(Message(d.GetDuration("ttl", seconds(1), seconds(60)).status()) ==
        "tracker.toml:1:1: 'ttl' is 30s, must be at least 1m");
  CHECK(Message(d.GetString("when", "").status()) ==
        "tracker.toml:2:1: 'when' must be a string, not a date");
}

TEST_CASE("Writer renders a document that Config reads back", "[config]") {
  Writer w;
  w.SetString("org", "ex\"ample\n# not = a key")
      .SetString("listen", "0.0.0.0:7650")
      .SetInt("max_members", 42)
      .SetBool("verbose", false)
      .SetDuration("invite.ttl", seconds(7 * 86400));
  auto text = w.Render("written by confab-tracker init\n\nedit and restart");
  REQUIRE(text.ok());
  CHECK(text->rfind("# written by confab-tracker init\n#\n# edit and restart\n", 0) == 0);
  Config c = MustParse(*text);
  CHECK(c.CheckKnownKeys(kKnown).ok());
  CHECK(*c.GetString("org", "") == "ex\"ample\n# not = a key");
  CHECK(*c.GetInt("max_members", 0, 0, 100) == 42);
  CHECK_FALSE(*c.GetBool("verbose", true));
  CHECK(*c.GetDuration("invite.ttl", seconds(0)) == seconds(7 * 86400));
}

TEST_CASE("Writer refuses conflicting or empty keys", "[config][error]") {
  CHECK(Writer().SetString("a", "x").SetString("a", "y").Render("").status().code() ==
        Code::kInvalidArgument);
  CHECK(Writer().SetString("a", "x").SetString("a.b", "y").Render("").status().code() ==
        Code::kInvalidArgument);
  CHECK(Writer().SetString("a..b", "x").Render("").status().code() == Code::kInvalidArgument);
  CHECK(Writer().SetString("", "x").Render("").status().code() == Code::kInvalidArgument);
}

TEST_CASE("WriteFileAtomically writes with the given mode and replaces", "[config]") {
  TempDir dir;
  const std::string path = dir.File("tracker.toml");
  REQUIRE(WriteFileAtomically(path, "a = 1\n", 0600).ok());
  REQUIRE(WriteFileAtomically(path, "a = 2\n", 0600).ok());
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto c = Config::Load(path);
  REQUIRE(c.ok());
  CHECK(*c->GetInt("a", 0, 0, 9) == 2);
  CHECK(std::distance(std::filesystem::directory_iterator(dir.File("")),
                      std::filesystem::directory_iterator{}) == 1);  // no temporary left
  CHECK(WriteFileAtomically(dir.File("no/such/dir/x"), "", 0600).code() == Code::kIoError);
}

}  // namespace
}  // namespace confab::config
