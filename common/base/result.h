// Result<T>: either a T or a failed Status (std::expected arrives in C++23).
//
//   Result<Frame> r = reader.Next();
//   if (!r.ok()) return r.status();
//   Use(*r);
#pragma once

#include <cassert>
#include <optional>
#include <utility>

#include "common/base/status.h"

namespace confab {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "a Result built from a Status must hold an error");
    if (status_.ok())
      status_ = Status::FailedPrecondition("Result built from an OK Status");
  }

  bool ok() const { return value_.has_value(); }
  // OK when a value is held, else the error.
  const Status& status() const { return status_; }

  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

// Assigns the value of a Result expression to `lhs`, or returns its error.
#define CONFAB_ASSIGN_OR_RETURN(lhs, expr) \
  CONFAB_ASSIGN_OR_RETURN_IMPL_(CONFAB_CONCAT_(confab_result_, __LINE__), lhs, expr)
#define CONFAB_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok())                                      \
    return tmp.status();                              \
  lhs = std::move(tmp).value()
#define CONFAB_CONCAT_(a, b) CONFAB_CONCAT_INNER_(a, b)
#define CONFAB_CONCAT_INNER_(a, b) a##b

}  // namespace confab
