#include "peer/transfer/policy.h"

#include <algorithm>
#include <cctype>

namespace confab::peer::transfer {
namespace {

constexpr size_t kMaxNameBytes = 200;

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Cuts `text` to at most `limit` bytes without splitting a UTF-8 sequence.
std::string CutUtf8(std::string_view text, size_t limit) {
  if (text.size() <= limit)
    return std::string(text);
  size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
    --end;
  return std::string(text.substr(0, end));
}

}  // namespace

const std::string_view kPolicyKeys[7] = {
    "transfers.max_send_rate",       "transfers.download_dir", "transfers.max_size",
    "transfers.blocked_extensions",  "transfers.scan_command", "transfers.auto_accept_from",
    "transfers.auto_accept_max_size"};

Result<ReceivePolicy> LoadReceivePolicy(const config::Config& config, const std::string& home) {
  ReceivePolicy p;
  CONFAB_ASSIGN_OR_RETURN(p.download_dir,
                          config.GetString("transfers.download_dir", home + "/downloads"));
  if (p.download_dir.empty() || p.download_dir[0] != '/')
    return Status::InvalidArgument(config.source() + ": transfers.download_dir must be absolute");
  CONFAB_ASSIGN_OR_RETURN(int64_t max_size,
                          config.GetInt("transfers.max_size", int64_t{1} << 40, 0, INT64_MAX));
  p.max_size = static_cast<uint64_t>(max_size);
  CONFAB_ASSIGN_OR_RETURN(std::vector<std::string> blocked,
                          config.GetStringList("transfers.blocked_extensions",
                                               {"exe", "scr", "com", "pif", "bat", "cmd", "vbs",
                                                "js", "jar", "msi", "ps1", "hta", "lnk"}));
  for (const std::string& ext : blocked) {
    std::string e = Lower(ext);
    if (!e.empty() && e[0] == '.')
      e.erase(0, 1);
    p.blocked_extensions.insert(e);
  }
  CONFAB_ASSIGN_OR_RETURN(p.scan_command, config.GetString("transfers.scan_command", ""));
  if (!p.scan_command.empty() && p.scan_command.find("{}") == std::string::npos)
    return Status::InvalidArgument(config.source() +
                                   ": transfers.scan_command must name the file as {}");
  CONFAB_ASSIGN_OR_RETURN(std::vector<std::string> from,
                          config.GetStringList("transfers.auto_accept_from", {}));
  p.auto_accept_from = {from.begin(), from.end()};
  CONFAB_ASSIGN_OR_RETURN(int64_t auto_max,
                          config.GetInt("transfers.auto_accept_max_size", 0, 0, INT64_MAX));
  p.auto_accept_max_size = static_cast<uint64_t>(auto_max);
  CONFAB_ASSIGN_OR_RETURN(int64_t rate, config.GetInt("transfers.max_send_rate", 0, 0, INT64_MAX));
  p.max_send_rate = static_cast<uint64_t>(rate);
  return p;
}

std::string SanitiseName(std::string_view name) {
  const size_t slash = name.find_last_of("/\\");
  if (slash != std::string_view::npos)
    name = name.substr(slash + 1);
  std::string clean;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f)
      continue;
    clean.push_back(c);
  }
  const size_t start = clean.find_first_not_of(". ");
  clean = start == std::string::npos ? "" : clean.substr(start);
  while (!clean.empty() && (clean.back() == ' ' || clean.back() == '.'))
    clean.pop_back();
  if (clean.size() > kMaxNameBytes) {
    const std::string ext = ExtensionOf(clean);
    const size_t keep = ext.size() < 20 ? ext.size() + 1 : 0;
    clean = CutUtf8(clean, kMaxNameBytes - keep) + (keep ? "." + ext : "");
  }
  return clean.empty() ? "file" : clean;
}

std::string ExtensionOf(std::string_view name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0)
    return "";
  return Lower(name.substr(dot + 1));
}

OfferVerdict CheckOffer(const ReceivePolicy& policy, const std::string& peer,
                        std::string_view sanitised_name, uint64_t size) {
  if (size > policy.max_size) {
    return {OfferDecision::kRefuse, "too large: " + std::to_string(size) + " bytes, the limit is " +
                                        std::to_string(policy.max_size)};
  }
  const std::string ext = ExtensionOf(sanitised_name);
  if (!ext.empty() && policy.blocked_extensions.count(ext) != 0)
    return {OfferDecision::kRefuse, "blocked extension: ." + ext};
  if (policy.auto_accept_from.count(peer) != 0 && size <= policy.auto_accept_max_size)
    return {OfferDecision::kAutoAccept, ""};
  return {OfferDecision::kAsk, ""};
}

std::vector<std::string> ScanArgv(const std::string& scan_command, const std::string& file) {
  std::vector<std::string> argv;
  size_t i = 0;
  while (i < scan_command.size()) {
    while (i < scan_command.size() && scan_command[i] == ' ')
      ++i;
    size_t end = scan_command.find(' ', i);
    if (end == std::string::npos)
      end = scan_command.size();
    if (end > i) {
      std::string word = scan_command.substr(i, end - i);
      for (size_t at = word.find("{}"); at != std::string::npos; at = word.find("{}", at)) {
        word.replace(at, 2, file);
        at += file.size();
      }
      argv.push_back(std::move(word));
    }
    i = end;
  }
  return argv;
}

std::string NumberedName(std::string_view name, int n) {
  if (n == 0)
    return std::string(name);
  const size_t dot = name.rfind('.');
  const bool has_ext = dot != std::string_view::npos && dot != 0;
  const std::string_view stem = has_ext ? name.substr(0, dot) : name;
  const std::string_view ext = has_ext ? name.substr(dot) : std::string_view();
  return std::string(stem) + " (" + std::to_string(n) + ")" + std::string(ext);
}

}  // namespace confab::peer::transfer
