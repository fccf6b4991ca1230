// Config: a TOML file turned into a typed, validated view.
//
//   constexpr std::string_view kKnown[] = {"listen", "org", "invite.ttl"};
//   CONFAB_ASSIGN_OR_RETURN(config::Config cfg, config::Config::Load(path, kKnown));
//   CONFAB_ASSIGN_OR_RETURN(std::string listen, cfg.GetString("listen", "0.0.0.0:7650"));
//   CONFAB_ASSIGN_OR_RETURN(auto ttl, cfg.GetDuration("invite.ttl", std::chrono::days(7)));
//
// Keys are dotted paths: `ttl` under `[invite]` is "invite.ttl". Every error
// is an InvalidArgument whose message starts with "file:line:column: " and
// names the key, so ops can fix the file without reading code. No toml++
// exception leaves this module, and toml++ does not appear in this header.
//
// A Config is an immutable value: cheap enough to copy, safe to read from
// several threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/result.h"
#include "common/base/status.h"

namespace confab::config {

class Config {
 public:
  // Reads and parses `path`. NotFound if the file does not exist, IoError
  // if it cannot be read, InvalidArgument ("path:line:column: reason") if it
  // is not valid TOML.
  [[nodiscard]] static Result<Config> Load(const std::string& path);
  // Load, then CheckKnownKeys(known_keys): the form every program should
  // use, so that a misspelt key is an error rather than a silent default.
  [[nodiscard]] static Result<Config> Load(const std::string& path,
                                           std::span<const std::string_view> known_keys);
  // Parses TOML text; `source` names it in messages (a path, "<flags>").
  [[nodiscard]] static Result<Config> Parse(std::string_view text, std::string_view source);

  // InvalidArgument listing every key not in `known_keys`, each with its
  // line and column and, when one is close, the known key it was probably
  // meant to be: "tracker.toml:3:1: unknown key 'lisen' (did you mean 'listen'?)".
  [[nodiscard]] Status CheckKnownKeys(std::span<const std::string_view> known_keys) const;

  // Each getter returns `default_value` when the key is absent, and
  // InvalidArgument when it is present with the wrong type or out of range.
  [[nodiscard]] Result<std::string> GetString(std::string_view key,
                                              std::string_view default_value) const;
  // Accepts a TOML integer in [min, max].
  [[nodiscard]] Result<int64_t> GetInt(std::string_view key, int64_t default_value, int64_t min,
                                       int64_t max) const;
  [[nodiscard]] Result<bool> GetBool(std::string_view key, bool default_value) const;
  // Accepts a string in the syntax of duration.h ("7d", "1h30m"), in
  // [min, max]. A bare integer is refused: "7" could mean days or seconds.
  [[nodiscard]] Result<std::chrono::seconds> GetDuration(
      std::string_view key, std::chrono::seconds default_value,
      std::chrono::seconds min = std::chrono::seconds(0),
      std::chrono::seconds max = std::chrono::seconds::max()) const;
  // Accepts an array of strings (possibly empty).
  [[nodiscard]] Result<std::vector<std::string>> GetStringList(
      std::string_view key, std::vector<std::string> default_value) const;

  bool Has(std::string_view key) const { return values_.find(key) != values_.end(); }
  // Every key present, sorted.
  std::vector<std::string> Keys() const;
  const std::string& source() const { return source_; }

  // One leaf of the file. Public so config.cc's parser can build it; not
  // part of the interface callers should rely on.
  struct Value {
    enum class Type { kString, kInteger, kFloat, kBool, kStringList, kOther };
    Type type = Type::kOther;
    std::string text;  // kString; for kOther, the TOML type's name
    int64_t integer = 0;
    double real = 0;
    bool boolean = false;
    std::vector<std::string> list;
    uint32_t line = 0;
    uint32_t column = 0;
  };

 private:
  Config(std::string source, std::map<std::string, Value, std::less<>> values)
      : source_(std::move(source)), values_(std::move(values)) {}

  // "source:line:column: 'key' <what>"
  Status Error(std::string_view key, const Value& value, std::string_view what) const;
  Status WrongType(std::string_view key, const Value& value, std::string_view wanted) const;

  std::string source_;
  std::map<std::string, Value, std::less<>> values_;
};

// Builds a TOML document for commands that write a config (`confab-tracker
// init` writing tracker.toml). Dotted keys become tables. Strings are quoted
// and escaped by toml++, so a value can never inject another key.
class Writer {
 public:
  Writer& SetString(std::string_view key, std::string_view value);
  Writer& SetInt(std::string_view key, int64_t value);
  Writer& SetBool(std::string_view key, bool value);
  // Written as FormatDuration(value), which GetDuration reads back.
  Writer& SetDuration(std::string_view key, std::chrono::seconds value);

  // The document, preceded by `comment` with each line prefixed "# ".
  // Keys appear sorted within each table.
  [[nodiscard]] Result<std::string> Render(std::string_view comment) const;

 private:
  struct Entry {
    std::string key;
    Config::Value value;
  };
  std::vector<Entry> entries_;
};

// Writes `contents` to `path` atomically (a temporary file in the same
// directory, fsync, rename), creating it with `mode`. A crash leaves either
// the old file or the new one, never half of one. IoError on failure.
[[nodiscard]] Status WriteFileAtomically(const std::string& path, std::string_view contents,
                                         uint32_t mode);

}  // namespace confab::config
