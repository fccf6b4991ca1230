// DirectoryCache: lookup answers and revoked keys kept in confab.db across
// restarts.
#include "peer/contacts/directory_cache.h"

#include <catch2/catch.hpp>

#include "tests/unit/messaging/node_fixture.h"

namespace confab::peer {
namespace {

proto::LookupResult Found(const std::string& address, uint32_t port) {
  proto::LookupResult r;
  r.set_request_id(7);
  r.set_found(true);
  r.mutable_certificate()->set_signature("sig");
  proto::Endpoint* e = r.add_endpoints();
  e->set_address(address);
  e->set_port(port);
  r.mutable_presence()->set_name("bob");
  return r;
}

TEST_CASE("DirectoryCache keeps the last lookup answer per contact across a restart",
          "[messaging][directory]") {
  Node n;
  auto none = n.directory->Recall("bob");
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());

  REQUIRE(n.directory->Remember("bob", Found("10.0.0.1", 7651), kNow).ok());
  REQUIRE(n.directory->Remember("bob", Found("10.0.0.2", 7652), kNow + 1).ok());  // replaces
  n.Reopen();
  auto kept = n.directory->Recall("bob");
  REQUIRE(kept.ok());
  REQUIRE(kept->has_value());
  CHECK((*kept)->found());
  CHECK((*kept)->request_id() == 0);     // not an answer to anything now
  CHECK_FALSE((*kept)->has_presence());  // soft state is not kept
  REQUIRE((*kept)->endpoints_size() == 1);
  CHECK((*kept)->endpoints(0).address() == "10.0.0.2");
  CHECK((*kept)->certificate().signature() == "sig");
  CHECK(n.Count("SELECT count(*) FROM directory_cache") == 1);
}

TEST_CASE("DirectoryCache records revoked keys once and forgets the name's answer",
          "[messaging][directory]") {
  Node n;
  REQUIRE(n.directory->Remember("bob", Found("10.0.0.1", 7651), kNow).ok());
  const Bytes key(32, 0xb0);
  REQUIRE(n.directory->RecordRevocation("bob", key, kNow).ok());
  REQUIRE(n.directory->RecordRevocation("bob", key, kNow + 5).ok());  // idempotent
  n.Reopen();
  auto revoked = n.directory->RevokedKeys();
  REQUIRE(revoked.ok());
  REQUIRE(revoked->size() == 1);
  CHECK((*revoked)[0].name == "bob");
  CHECK((*revoked)[0].identity_key == key);
  CHECK((*revoked)[0].revoked_ms == kNow);
  auto kept = n.directory->Recall("bob");
  REQUIRE(kept.ok());
  CHECK_FALSE(kept->has_value());
}

TEST_CASE("DirectoryCache refuses bad names, keys and answers not found",
          "[messaging][directory][error]") {
  Node n;
  proto::LookupResult missing;
  missing.set_found(false);
  CHECK(n.directory->Remember("bob", missing, kNow).code() == Status::Code::kInvalidArgument);
  CHECK(n.directory->Remember("", Found("10.0.0.1", 1), kNow).code() ==
        Status::Code::kInvalidArgument);
  CHECK(n.directory->RecordRevocation("bob", Bytes(31, 1), kNow).code() ==
        Status::Code::kInvalidArgument);
  CHECK(n.directory->Recall("Not A Name!").status().code() == Status::Code::kInvalidArgument);
  REQUIRE(n.db->Exec("INSERT INTO directory_cache VALUES ('carol', x'ff01', 0)").ok());
  CHECK(n.directory->Recall("carol").status().code() == Status::Code::kCorruption);
}

}  // namespace
}  // namespace confab::peer
