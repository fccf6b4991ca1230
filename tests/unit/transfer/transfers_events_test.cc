// Transfers tells its Observer each state a transfer enters, once: on a
// real loop and confab.db in a temporary directory, with no Dialer (so
// nothing is dialled: outgoing transfers wait).
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "peer/store/peer_database.h"
#include "peer/transfer/transfers.h"

#include "tests/unit/net/net_test_util.h"

namespace confab::peer::transfer {
namespace {

struct NoTracker final : Transfers::Delegate {};

struct Told {
  TransferEventKind kind;
  State state;
  std::string direction_peer;
  std::string error;
};

struct Recorder final : Transfers::Observer {
  void OnTransferEvent(TransferEventKind kind, const TransferView& view) override {
    const TransferRecord& r = view.record;
    told.push_back(
        {kind, r.state, (r.direction == Direction::kOut ? "to " : "from ") + r.peer, r.error});
  }
  std::vector<Told> told;
};

struct Node {
  Node() {
    std::string t = (std::filesystem::temp_directory_path() / "confab-xfer-XXXXXX").string();
    dir = ::mkdtemp(t.data()) != nullptr ? t : "";
    REQUIRE(!dir.empty());
    auto opened = OpenPeerDatabase(dir + "/confab.db");
    REQUIRE(opened.ok());
    db = std::move(*opened);
    auto book = ContactBook::Open(db.get());
    REQUIRE(book.ok());
    contacts = std::move(*book);
    file = dir + "/report.pdf";
    std::ofstream(file) << std::string(1000, 'x');
  }
  ~Node() {
    contacts.reset();
    db.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::unique_ptr<Transfers> Open() {
    TransfersParams params;
    params.self_name = "alice";
    params.quarantine_dir = dir + "/quarantine";
    auto created = Transfers::Create(*loop, std::move(params), db.get(), *contacts, &tracker);
    REQUIRE(created.ok());
    return std::move(*created);
  }
  void Close(Transfers& transfers) {
    transfers.Close();
    (void)net::testing::RunUntil(
        *loop, [] { return false; }, 20);
  }

  std::string dir, file;
  std::unique_ptr<net::Loop> loop = net::testing::MakeLoop();
  std::unique_ptr<store::Database> db;
  std::unique_ptr<ContactBook> contacts;
  NoTracker tracker;
};

TEST_CASE("Transfers tells its observer an offer made and its cancellation, each once",
          "[transfer][events]") {
  Node node;
  Recorder recorder;
  std::unique_ptr<Transfers> transfers = node.Open();
  transfers->set_observer(&recorder);

  Result<TransferId> id = transfers->Send("bob", node.file, "");
  REQUIRE(id.ok());
  REQUIRE(recorder.told.size() == 1);
  CHECK(recorder.told[0].kind == TransferEventKind::kOffered);
  CHECK(recorder.told[0].state == State::kOffered);
  CHECK(recorder.told[0].direction_peer == "to bob");

  // Trying again (the lookup fails) enters no new state: nothing new told.
  CHECK(transfers->Resume(*id).ok());
  CHECK(recorder.told.size() == 1);

  REQUIRE(transfers->Cancel(*id).ok());
  REQUIRE(recorder.told.size() == 2);
  CHECK(recorder.told[1].kind == TransferEventKind::kStopped);
  CHECK(recorder.told[1].state == State::kCancelled);
  CHECK(recorder.told[1].error == "cancelled by alice");
  CHECK(transfers->Cancel(*id).code() == Status::Code::kFailedPrecondition);
  CHECK(recorder.told.size() == 2);
  node.Close(*transfers);
}

TEST_CASE("Transfers does not tell again, after a restart, of states told before",
          "[transfer][events]") {
  Node node;
  {
    std::unique_ptr<Transfers> first = node.Open();
    REQUIRE(first->Send("bob", node.file, "").ok());
    node.Close(*first);
  }
  Recorder recorder;
  std::unique_ptr<Transfers> again = node.Open();
  again->set_observer(&recorder);
  Result<std::vector<TransferView>> all = again->List(std::nullopt);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 1);
  CHECK(all->front().record.state == State::kOffered);
  CHECK(again->Resume(all->front().record.id).ok());  // tried again, still offered
  CHECK(recorder.told.empty());
  node.Close(*again);
}

TEST_CASE("Transfers with no observer keeps working and tells nothing", "[transfer][events]") {
  Node node;
  std::unique_ptr<Transfers> transfers = node.Open();
  Result<TransferId> id = transfers->Send("bob", node.file, "");
  REQUIRE(id.ok());
  CHECK(transfers->Cancel(*id).ok());
  Recorder recorder;
  transfers->set_observer(&recorder);  // nothing active: no progress to tell
  CHECK(recorder.told.empty());
  node.Close(*transfers);
}

}  // namespace
}  // namespace confab::peer::transfer
