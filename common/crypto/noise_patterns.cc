#include "common/crypto/noise_patterns.h"

#include <algorithm>
#include <array>
#include <charconv>

namespace confab::crypto::noise {
namespace {

struct PatternText {
  std::string_view name;
  std::string_view text;  // the spec's notation, messages separated by ';'
};

// Copied from the Noise specification, revision 34: section 7.4 (one-way)
// and section 7.5 (interactive, fundamental). "..." ends the pre-messages.
constexpr std::array<PatternText, 15> kPatterns = {{
    // 7.4 one-way
    {"N", "<- s; ...; -> e, es"},
    {"K", "-> s; <- s; ...; -> e, es, ss"},
    {"X", "<- s; ...; -> e, es, s, ss"},
    // 7.5 interactive
    {"NN", "-> e; <- e, ee"},
    {"NK", "<- s; ...; -> e, es; <- e, ee"},
    {"NX", "-> e; <- e, ee, s, es"},
    {"XN", "-> e; <- e, ee; -> s, se"},
    {"XK", "<- s; ...; -> e, es; <- e, ee; -> s, se"},
    {"XX", "-> e; <- e, ee, s, es; -> s, se"},
    {"KN", "-> s; ...; -> e; <- e, ee, se"},
    {"KK", "-> s; <- s; ...; -> e, es, ss; <- e, ee, se"},
    {"KX", "-> s; ...; -> e; <- e, ee, se, s, es"},
    {"IN", "-> e, s; <- e, ee, se"},
    {"IK", "<- s; ...; -> e, es, s, ss; <- e, ee, se"},
    {"IX", "-> e, s; <- e, ee, se, s, es"},
}};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ')
    s.remove_suffix(1);
  return s;
}

Token ParseToken(std::string_view word) {
  if (word == "e")
    return Token::kE;
  if (word == "s")
    return Token::kS;
  if (word == "ee")
    return Token::kEe;
  if (word == "es")
    return Token::kEs;
  if (word == "se")
    return Token::kSe;
  if (word == "ss")
    return Token::kSs;
  return Token::kPsk;  // the table above holds no other words
}

// One line of the notation: "-> e, es" gives {true, {e, es}}.
std::pair<bool, std::vector<Token>> ParseLine(std::string_view line) {
  line = Trim(line);
  const bool from_initiator = line.substr(0, 2) == "->";
  line.remove_prefix(2);
  std::vector<Token> tokens;
  while (!line.empty()) {
    const size_t comma = line.find(',');
    tokens.push_back(ParseToken(Trim(line.substr(0, comma))));
    line = comma == std::string_view::npos ? std::string_view() : line.substr(comma + 1);
  }
  return {from_initiator, std::move(tokens)};
}

HandshakePattern FromText(const PatternText& entry) {
  HandshakePattern pattern;
  pattern.name = std::string(entry.name);
  std::vector<std::string_view> lines;
  for (std::string_view text = entry.text; !text.empty();) {
    const size_t semi = text.find(';');
    lines.push_back(Trim(text.substr(0, semi)));
    text = semi == std::string_view::npos ? std::string_view() : text.substr(semi + 1);
  }
  auto dots = std::find(lines.begin(), lines.end(), "...");
  auto first_message = lines.begin();
  if (dots != lines.end()) {
    for (auto it = lines.begin(); it != dots; ++it) {
      auto [from_initiator, tokens] = ParseLine(*it);
      (from_initiator ? pattern.initiator_pre_message : pattern.responder_pre_message) = tokens;
    }
    first_message = dots + 1;
  }
  for (auto it = first_message; it != lines.end(); ++it)
    pattern.messages.push_back(ParseLine(*it).second);
  pattern.one_way = entry.name.size() == 1;
  return pattern;
}

}  // namespace

std::string_view TokenName(Token token) {
  switch (token) {
    case Token::kE:
      return "e";
    case Token::kS:
      return "s";
    case Token::kEe:
      return "ee";
    case Token::kEs:
      return "es";
    case Token::kSe:
      return "se";
    case Token::kSs:
      return "ss";
    case Token::kPsk:
      return "psk";
  }
  return "?";
}

Result<HandshakePattern> LookUpPattern(std::string_view base_name, std::string_view modifiers) {
  auto entry = std::find_if(kPatterns.begin(), kPatterns.end(),
                            [&](const PatternText& p) { return p.name == base_name; });
  if (entry == kPatterns.end())
    return Status::InvalidArgument("unsupported handshake pattern: " + std::string(base_name));
  HandshakePattern pattern = FromText(*entry);
  pattern.name += std::string(modifiers);

  // Section 9.2: "psk0" puts a psk token at the start of the first message;
  // "pskN" (N >= 1) at the end of the Nth message. Modifiers apply in order.
  std::vector<int> seen;
  while (!modifiers.empty()) {
    const size_t plus = modifiers.find('+');
    const std::string_view modifier = modifiers.substr(0, plus);
    modifiers = plus == std::string_view::npos ? std::string_view() : modifiers.substr(plus + 1);
    int position = -1;
    if (modifier.size() < 4 || modifier.substr(0, 3) != "psk" ||
        std::from_chars(modifier.data() + 3, modifier.data() + modifier.size(), position).ptr !=
            modifier.data() + modifier.size())
      return Status::InvalidArgument("unsupported pattern modifier: " + std::string(modifier));
    if (position < 0 || static_cast<size_t>(position) > pattern.messages.size())
      return Status::InvalidArgument("unsupported: " + std::string(modifier) +
                                     " is past the last message of " + std::string(base_name));
    if (std::find(seen.begin(), seen.end(), position) != seen.end())
      return Status::InvalidArgument("repeated pattern modifier: " + std::string(modifier));
    seen.push_back(position);
    if (position == 0)
      pattern.messages[0].insert(pattern.messages[0].begin(), Token::kPsk);
    else
      pattern.messages[position - 1].push_back(Token::kPsk);
    ++pattern.psk_count;
  }
  return pattern;
}

Result<Protocol> ParseProtocolName(std::string_view name) {
  std::vector<std::string_view> parts;
  for (std::string_view rest = name;;) {
    const size_t underscore = rest.find('_');
    parts.push_back(rest.substr(0, underscore));
    if (underscore == std::string_view::npos)
      break;
    rest.remove_prefix(underscore + 1);
  }
  if (parts.size() != 5)
    return Status::InvalidArgument("malformed Noise protocol name (want 5 parts): " +
                                   std::string(name));
  Protocol protocol;
  protocol.name = std::string(name);
  if (parts[0] == "NoisePSK")
    protocol.legacy_psk = true;
  else if (parts[0] != "Noise")
    return Status::InvalidArgument("malformed Noise protocol name: " + std::string(name));

  // The base pattern is the leading run of capitals and digits ("XX", "I1K");
  // the rest is modifiers ("psk0+psk2").
  const std::string_view pattern_part = parts[1];
  size_t base_len = 0;
  while (base_len < pattern_part.size() &&
         ((pattern_part[base_len] >= 'A' && pattern_part[base_len] <= 'Z') ||
          (pattern_part[base_len] >= '0' && pattern_part[base_len] <= '9')))
    ++base_len;
  const std::string_view modifiers = pattern_part.substr(base_len);
  if (protocol.legacy_psk && !modifiers.empty())
    return Status::InvalidArgument("unsupported: NoisePSK_ names take no pattern modifiers");
  CONFAB_ASSIGN_OR_RETURN(protocol.pattern,
                          LookUpPattern(pattern_part.substr(0, base_len), modifiers));

  if (parts[2] != "25519")
    return Status::InvalidArgument("unsupported DH function: " + std::string(parts[2]));
  protocol.dh = DhKind::k25519;

  if (parts[3] == "ChaChaPoly")
    protocol.cipher = CipherKind::kChaChaPoly;
  else if (parts[3] == "AESGCM")
    protocol.cipher = CipherKind::kAesGcm;
  else
    return Status::InvalidArgument("unsupported cipher: " + std::string(parts[3]));
  CONFAB_RETURN_IF_ERROR(CheckCipherAvailable(protocol.cipher));

  if (parts[4] == "SHA256")
    protocol.hash = HashKind::kSha256;
  else if (parts[4] == "SHA512")
    protocol.hash = HashKind::kSha512;
  else if (parts[4] == "BLAKE2b")
    protocol.hash = HashKind::kBlake2b;
  else
    return Status::InvalidArgument("unsupported hash function: " + std::string(parts[4]));
  return protocol;
}

}  // namespace confab::crypto::noise
