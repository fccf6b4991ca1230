// Schema migrations keyed by SQLite's `PRAGMA user_version`.
//
// A schema is a list of SQL scripts; script i (from 0) takes the database
// from version i to version i+1. Scripts are only ever appended: once
// released, a script is never edited, because databases in the field have
// already run it.
//
//   constexpr std::string_view kSchema[] = {
//       "CREATE TABLE members (...);",       // version 1
//       "ALTER TABLE members ADD ...;",      // version 2
//   };
//   CONFAB_RETURN_IF_ERROR(store::Migrate(*db, kSchema));
#pragma once

#include <span>
#include <string_view>

#include "common/base/status.h"

namespace confab::store {

class Database;

// Applies every script the database has not yet run, in order, and sets
// user_version to scripts.size(), all inside one transaction: a failing
// script leaves the database at its old version with nothing applied.
// FailedPrecondition, naming both versions, when the database is newer than
// `scripts` (written by a later confab; opening it could lose data).
// A database at the current version is left untouched.
[[nodiscard]] Status Migrate(Database& db, std::span<const std::string_view> scripts);

}  // namespace confab::store
