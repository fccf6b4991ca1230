#include "common/base/status.h"

#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "common/base/result.h"

namespace confab {
namespace {

TEST_CASE("Status is OK by default and says so", "[base]") {
  Status s;
  CHECK(s.ok());
  CHECK(s.code() == Status::Code::kOk);
  CHECK(s.message().empty());
  CHECK(s.ToString() == "OK");
}

TEST_CASE("A failed Status keeps its code and message through copies", "[base]") {
  Status s = Status::Corruption("frame of 70000 bytes");
  Status copy = s;
  CHECK_FALSE(copy.ok());
  CHECK(copy.code() == Status::Code::kCorruption);
  CHECK(copy.message() == "frame of 70000 bytes");
  CHECK(copy.ToString() == "Corruption: frame of 70000 bytes");
}

TEST_CASE("WithContext prefixes the message and leaves OK alone", "[base]") {
  CHECK(Status::Ok().WithContext("reading key").ok());
  Status s = Status::IoError("no such file").WithContext("identity.key");
  CHECK(s.code() == Status::Code::kIoError);
  CHECK(s.message() == "identity.key: no such file");
}

Status FailsWhen(bool fail) {
  return fail ? Status::Unavailable("down") : Status::Ok();
}
Status Chain(bool fail) {
  CONFAB_RETURN_IF_ERROR(FailsWhen(fail));
  return Status::NotFound("reached the end");
}

TEST_CASE("CONFAB_RETURN_IF_ERROR returns the first error", "[base]") {
  CHECK(Chain(true).code() == Status::Code::kUnavailable);
  CHECK(Chain(false).code() == Status::Code::kNotFound);
}

Result<int> Half(int x) {
  if (x % 2 != 0)
    return Status::InvalidArgument("odd");
  return x / 2;
}
Result<int> Quarter(int x) {
  CONFAB_ASSIGN_OR_RETURN(int half, Half(x));
  CONFAB_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

TEST_CASE("Result holds a value or an error, never both", "[base]") {
  Result<int> good = Half(8);
  REQUIRE(good.ok());
  CHECK(*good == 4);
  CHECK(good.status().ok());
  Result<int> bad = Half(7);
  CHECK_FALSE(bad.ok());
  CHECK(bad.status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("CONFAB_ASSIGN_OR_RETURN propagates errors and moves values", "[base]") {
  CHECK(*Quarter(8) == 2);
  CHECK(Quarter(6).status().message() == "odd");
  Result<std::unique_ptr<std::string>> owned = std::make_unique<std::string>("moved");
  std::unique_ptr<std::string> taken = std::move(owned).value();
  CHECK(*taken == "moved");
}

}  // namespace
}  // namespace confab
