#include "common/config/config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/config/duration.h"

namespace confab::config {
namespace {

using Value = Config::Value;
using ValueMap = std::map<std::string, Value, std::less<>>;

std::string_view TypeName(Value::Type type) {
  switch (type) {
    case Value::Type::kString:
      return "a string";
    case Value::Type::kInteger:
      return "an integer";
    case Value::Type::kFloat:
      return "a float";
    case Value::Type::kBool:
      return "a boolean";
    case Value::Type::kStringList:
      return "an array of strings";
    case Value::Type::kOther:
      break;
  }
  return "another type";
}

std::string_view NodeTypeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::array:
      return "an array that is not all strings";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "an unsupported value";
  }
}

Value ToValue(const toml::node& node, const toml::source_region& where) {
  Value v;
  v.line = where.begin.line;
  v.column = where.begin.column;
  if (const auto* s = node.as_string()) {
    v.type = Value::Type::kString;
    v.text = s->get();
  } else if (const auto* i = node.as_integer()) {
    v.type = Value::Type::kInteger;
    v.integer = i->get();
  } else if (const auto* f = node.as_floating_point()) {
    v.type = Value::Type::kFloat;
    v.real = f->get();
  } else if (const auto* b = node.as_boolean()) {
    v.type = Value::Type::kBool;
    v.boolean = b->get();
  } else if (const auto* a = node.as_array();
             a != nullptr && (a->empty() || a->is_homogeneous(toml::node_type::string))) {
    v.type = Value::Type::kStringList;
    for (const toml::node& e : *a)
      v.list.emplace_back(e.as_string()->get());
  } else {
    v.type = Value::Type::kOther;
    v.text = NodeTypeName(node.type());
  }
  return v;
}

// Flattens nested tables into dotted keys. Each leaf is placed at its key's
// position, which is where a reader looks for a misspelling.
void Flatten(const toml::table& table, const std::string& prefix, ValueMap& out) {
  for (auto&& [key, node] : table) {
    std::string name =
        prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    if (const auto* sub = node.as_table()) {
      Flatten(*sub, name, out);
      continue;
    }
    const toml::source_region& where = key.source().begin.line != 0 ? key.source() : node.source();
    out.emplace(std::move(name), ToValue(node, where));
  }
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string Quote(std::string_view s) {
  return "'" + std::string(s) + "'";
}

}  // namespace

Result<Config> Config::Parse(std::string_view text, std::string_view source) {
  try {
    toml::table table = toml::parse(text, source);
    ValueMap values;
    Flatten(table, "", values);
    return Config(std::string(source), std::move(values));
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << source << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
        << e.description();
    return Status::InvalidArgument(msg.str());
  } catch (const std::exception& e) {
    // toml++ throws nothing else we know of; keep the promise regardless.
    return Status::InvalidArgument(std::string(source) + ": " + e.what());
  }
}

Result<Config> Config::Load(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    return Status::NotFound("config file " + path + " does not exist");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::IoError("cannot open config file " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad())
    return Status::IoError("cannot read config file " + path);
  return Parse(text.str(), path);
}

Result<Config> Config::Load(const std::string& path, std::span<const std::string_view> known_keys) {
  CONFAB_ASSIGN_OR_RETURN(Config config, Load(path));
  CONFAB_RETURN_IF_ERROR(config.CheckKnownKeys(known_keys));
  return config;
}

Status Config::CheckKnownKeys(std::span<const std::string_view> known_keys) const {
  std::vector<std::pair<const std::string*, const Value*>> unknown;
  for (const auto& [key, value] : values_) {
    if (std::find(known_keys.begin(), known_keys.end(), key) == known_keys.end())
      unknown.emplace_back(&key, &value);
  }
  if (unknown.empty())
    return Status::Ok();
  std::sort(unknown.begin(), unknown.end(), [](const auto& a, const auto& b) {
    return std::pair(a.second->line, a.second->column) <
           std::pair(b.second->line, b.second->column);
  });
  std::string msg;
  for (const auto& [key, value] : unknown) {
    if (!msg.empty())
      msg += "; ";
    msg += source_ + ":" + std::to_string(value->line) + ":" + std::to_string(value->column) +
           ": unknown key " + Quote(*key);
    std::string_view best;
    size_t best_distance = 3;  // suggest only near misses
    for (std::string_view k : known_keys) {
      size_t d = EditDistance(*key, k);
      if (d < best_distance && d < k.size()) {
        best = k;
        best_distance = d;
      }
    }
    if (!best.empty())
      msg += " (did you mean " + Quote(best) + "?)";
  }
  return Status::InvalidArgument(msg);
}

Status Config::Error(std::string_view key, const Value& value, std::string_view what) const {
  return Status::InvalidArgument(source_ + ":" + std::to_string(value.line) + ":" +
                                 std::to_string(value.column) + ": " + Quote(key) + " " +
                                 std::string(what));
}

Status Config::WrongType(std::string_view key, const Value& value, std::string_view wanted) const {
  std::string_view actual = value.type == Value::Type::kOther ? value.text : TypeName(value.type);
  return Error(key, value, "must be " + std::string(wanted) + ", not " + std::string(actual));
}

Result<std::string> Config::GetString(std::string_view key, std::string_view default_value) const {
  auto it = values_.find(key);
  if (it == values_.end())
    return std::string(default_value);
  if (it->second.type != Value::Type::kString)
    return WrongType(key, it->second, "a string");
  return it->second.text;
}

Result<int64_t> Config::GetInt(std::string_view key, int64_t default_value, int64_t min,
                               int64_t max) const {
  auto it = values_.find(key);
  if (it == values_.end())
    return default_value;
  const Value& v = it->second;
  if (v.type != Value::Type::kInteger)
    return WrongType(key, v, "an integer");
  if (v.integer < min || v.integer > max)
    return Error(key, v,
                 "is " + std::to_string(v.integer) + ", must be between " + std::to_string(min) +
                     " and " + std::to_string(max));
  return v.integer;
}

Result<bool> Config::GetBool(std::string_view key, bool default_value) const {
  auto it = values_.find(key);
  if (it == values_.end())
    return default_value;
  if (it->second.type != Value::Type::kBool)
    return WrongType(key, it->second, "true or false");
  return it->second.boolean;
}

Result<std::chrono::seconds> Config::GetDuration(std::string_view key,
                                                 std::chrono::seconds default_value,
                                                 std::chrono::seconds min,
                                                 std::chrono::seconds max) const {
  auto it = values_.find(key);
  if (it == values_.end())
    return default_value;
  const Value& v = it->second;
  if (v.type != Value::Type::kString)
    return WrongType(key, v, "a duration string such as \"7d\" or \"30m\"");
  Result<std::chrono::seconds> d = ParseDuration(v.text);
  if (!d.ok())
    return Error(key, v, d.status().message());
  if (*d < min || *d > max) {
    std::string range = max == std::chrono::seconds::max()
                            ? "at least " + FormatDuration(min)
                            : "between " + FormatDuration(min) + " and " + FormatDuration(max);
    return Error(key, v, "is " + v.text + ", must be " + range);
  }
  return d;
}

Result<std::vector<std::string>> Config::GetStringList(
    std::string_view key, std::vector<std::string> default_value) const {
  auto it = values_.find(key);
  if (it == values_.end())
    return default_value;
  if (it->second.type != Value::Type::kStringList)
    return WrongType(key, it->second, "an array of strings");
  return it->second.list;
}

std::vector<std::string> Config::Keys() const {
  std::vector<std::string> keys;
  for (const auto& entry : values_)
    keys.push_back(entry.first);
  return keys;
}

Writer& Writer::SetString(std::string_view key, std::string_view value) {
  Entry e{std::string(key), {}};
  e.value.type = Config::Value::Type::kString;
  e.value.text = value;
  entries_.push_back(std::move(e));
  return *this;
}

Writer& Writer::SetInt(std::string_view key, int64_t value) {
  Entry e{std::string(key), {}};
  e.value.type = Config::Value::Type::kInteger;
  e.value.integer = value;
  entries_.push_back(std::move(e));
  return *this;
}

Writer& Writer::SetBool(std::string_view key, bool value) {
  Entry e{std::string(key), {}};
  e.value.type = Config::Value::Type::kBool;
  e.value.boolean = value;
  entries_.push_back(std::move(e));
  return *this;
}

Writer& Writer::SetDuration(std::string_view key, std::chrono::seconds value) {
  return SetString(key, FormatDuration(value));
}

Result<std::string> Writer::Render(std::string_view comment) const {
  try {
    toml::table root;
    for (const Entry& e : entries_) {
      toml::table* table = &root;
      std::string_view rest = e.key;
      for (size_t dot; (dot = rest.find('.')) != std::string_view::npos;
           rest.remove_prefix(dot + 1)) {
        std::string_view part = rest.substr(0, dot);
        if (part.empty())
          return Status::InvalidArgument("config key " + Quote(e.key) + " has an empty part");
        toml::node* node = table->get(part);
        if (node == nullptr)
          node = &table->insert(part, toml::table{}).first->second;
        table = node->as_table();
        if (table == nullptr)
          return Status::InvalidArgument("config key " + Quote(e.key) + " is under a value");
      }
      if (rest.empty() || table->contains(rest))
        return Status::InvalidArgument("config key " + Quote(e.key) + " is empty or set twice");
      switch (e.value.type) {
        case Config::Value::Type::kString:
          table->insert(rest, e.value.text);
          break;
        case Config::Value::Type::kInteger:
          table->insert(rest, e.value.integer);
          break;
        case Config::Value::Type::kBool:
          table->insert(rest, e.value.boolean);
          break;
        default:
          return Status::InvalidArgument("config key " + Quote(e.key) + " has no value");
      }
    }
    std::ostringstream out;
    std::istringstream lines{std::string(comment)};
    for (std::string line; std::getline(lines, line);)
      out << (line.empty() ? "#" : "# " + line) << "\n";
    if (!comment.empty())
      out << "\n";
    out << root << "\n";
    return out.str();
  } catch (const std::exception& e) {
    return Status::ResourceExhausted(std::string("render config: ") + e.what());
  }
}

Status WriteFileAtomically(const std::string& path, std::string_view contents, uint32_t mode) {
  std::string tmp = path + ".tmp.XXXXXX";
  int fd = ::mkstemp(tmp.data());
  if (fd < 0)
    return Status::IoError("create temporary file for " + path + ": " + std::strerror(errno));
  auto fail = [&](std::string_view what) {
    Status s = Status::IoError(std::string(what) + " " + tmp + ": " + std::strerror(errno));
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  };
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0)
    return fail("chmod");
  for (size_t done = 0; done < contents.size();) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return fail("write");
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0)
    return fail("fsync");
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return Status::IoError("close " + tmp + ": " + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = Status::IoError("rename " + tmp + " to " + path + ": " + std::strerror(errno));
    ::unlink(tmp.c_str());
    return s;
  }
  // The rename is durable only once the directory entry is on disk.
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

}  // namespace confab::config
