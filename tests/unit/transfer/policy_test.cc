#include "peer/transfer/policy.h"

#include <catch2/catch.hpp>

namespace confab::peer::transfer {
namespace {

ReceivePolicy Load(std::string_view toml) {
  auto cfg = config::Config::Parse(toml, "config.toml");
  REQUIRE(cfg.ok());
  auto policy = LoadReceivePolicy(*cfg, "/home/me/.confab");
  REQUIRE(policy.ok());
  return *policy;
}

TEST_CASE("Names from a sender lose paths, control characters and leading dots",
          "[transfer][policy]") {
  CHECK(SanitiseName("../../etc/passwd") == "passwd");
  CHECK(SanitiseName("/etc/shadow") == "shadow");
  CHECK(SanitiseName("..\\..\\windows\\win.ini") == "win.ini");
  CHECK(SanitiseName("a\x07"
                     "b\x1b[31m.txt") == "ab[31m.txt");
  CHECK(SanitiseName("line\nbreak.txt") == "linebreak.txt");
  CHECK(SanitiseName("del\x7f.txt") == "del.txt");
  CHECK(SanitiseName("..") == "file");
  CHECK(SanitiseName("") == "file");
  CHECK(SanitiseName("dir/") == "file");
  CHECK(SanitiseName(".bashrc") == "bashrc");
  CHECK(SanitiseName(" . hidden.txt") == "hidden.txt");
  CHECK(SanitiseName("trailing.txt. ") == "trailing.txt");
  CHECK(SanitiseName("résumé.pdf") == "résumé.pdf");
}

TEST_CASE("A long name is cut on a UTF-8 boundary and keeps its extension", "[transfer][policy]") {
  std::string name;
  for (int i = 0; i < 150; ++i)
    name += "é";  // 2 bytes each
  name += ".tar.gz";
  const std::string clean = SanitiseName(name);
  CHECK(clean.size() <= 200);
  CHECK(clean.substr(clean.size() - 3) == ".gz");
  // No half of a two-byte sequence before the dot.
  const std::string stem = clean.substr(0, clean.size() - 3);
  CHECK(stem.size() % 2 == 0);
}

TEST_CASE("Extensions are compared without case", "[transfer][policy]") {
  CHECK(ExtensionOf("setup.EXE") == "exe");
  CHECK(ExtensionOf("archive.tar.gz") == "gz");
  CHECK(ExtensionOf("README") == "");
  CHECK(ExtensionOf("file.") == "");
}

TEST_CASE("Offers are refused over the size limit or with a blocked extension",
          "[transfer][policy]") {
  ReceivePolicy p = Load(
      "[transfers]\nmax_size = 1000\nblocked_extensions = [\".Exe\", \"js\"]\n"
      "auto_accept_from = [\"alice\"]\nauto_accept_max_size = 100\n");
  CHECK(p.blocked_extensions == std::set<std::string>{"exe", "js"});
  CHECK(CheckOffer(p, "bob", "a.txt", 1001).decision == OfferDecision::kRefuse);
  CHECK(CheckOffer(p, "bob", "a.txt", 1001).reason.find("too large") != std::string::npos);
  CHECK(CheckOffer(p, "bob", "A.EXE", 10).decision == OfferDecision::kRefuse);
  CHECK(CheckOffer(p, "alice", "x.js", 10).decision == OfferDecision::kRefuse);
  CHECK(CheckOffer(p, "bob", "a.txt", 10).decision == OfferDecision::kAsk);
  CHECK(CheckOffer(p, "alice", "a.txt", 100).decision == OfferDecision::kAutoAccept);
  CHECK(CheckOffer(p, "alice", "a.txt", 101).decision == OfferDecision::kAsk);
}

TEST_CASE("The default policy asks for everything and blocks executables", "[transfer][policy]") {
  ReceivePolicy p = Load("");
  CHECK(p.download_dir == "/home/me/.confab/downloads");
  CHECK(p.scan_command.empty());
  CHECK(p.auto_accept_from.empty());
  CHECK(CheckOffer(p, "alice", "a.txt", 10).decision == OfferDecision::kAsk);
  CHECK(CheckOffer(p, "alice", "a.exe", 10).decision == OfferDecision::kRefuse);
}

TEST_CASE("A bad policy names the key", "[transfer][policy][error]") {
  for (std::string_view bad :
       {"[transfers]\nscan_command = \"clamscan\"\n", "[transfers]\ndownload_dir = \"relative\"\n",
        "[transfers]\nmax_size = -1\n", "[transfers]\nauto_accept_from = \"alice\"\n"}) {
    auto cfg = config::Config::Parse(bad, "config.toml");
    REQUIRE(cfg.ok());
    auto policy = LoadReceivePolicy(*cfg, "/h");
    CHECK_FALSE(policy.ok());
    CHECK(policy.status().message().find("config.toml") != std::string::npos);
  }
}

TEST_CASE("The scan command runs without a shell, the file in place of {}", "[transfer][policy]") {
  CHECK(ScanArgv("clamscan --no-summary -d /db {}", "/q/a b;rm -rf.part") ==
        std::vector<std::string>{"clamscan", "--no-summary", "-d", "/db", "/q/a b;rm -rf.part"});
  CHECK(ScanArgv("  scan   --file={}  ", "/x") == std::vector<std::string>{"scan", "--file=/x"});
}

TEST_CASE("Numbered names keep the extension", "[transfer][policy]") {
  CHECK(NumberedName("a.txt", 0) == "a.txt");
  CHECK(NumberedName("a.txt", 2) == "a (2).txt");
  CHECK(NumberedName("README", 1) == "README (1)");
  CHECK(NumberedName("archive.tar.gz", 1) == "archive.tar (1).gz");
}

}  // namespace
}  // namespace confab::peer::transfer
