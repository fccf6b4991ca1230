// noise-vectors FILE...: checks confab::crypto::noise against Noise test
// vectors in the cacophony JSON format, old or new:
//   old (pre-revision-30 cacophony): name, pattern/dh/cipher/hash,
//       init_psk/resp_psk (with "NoisePSK_" names);
//   new (cacophony, snow): protocol_name, init_psks/resp_psks, handshake_hash.
// Both: {init,resp}_{prologue,static,ephemeral,remote_static}, and messages
// [{payload, ciphertext}].
//
// Per vector: the handshake messages alternate initiator, responder, ...;
// afterwards the transport messages keep alternating by message index
// (even: initiator sends) for interactive patterns, and all go initiator ->
// responder for one-way patterns. Each ciphertext must match byte for byte
// and decrypt on the other side to the payload.
//
// Prints one line per failed vector, then exactly "N passed, M failed,
// K skipped". Vectors naming something we don't support (448, BLAKE2s,
// AESGCM without AES-NI, fallback, ...) are skipped, never passed. Exits 0
// only if nothing failed and something passed.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/base/bytes.h"
#include "common/crypto/noise.h"

namespace {

namespace noise = confab::crypto::noise;
using confab::Bytes;
using confab::Result;
using confab::Status;
using json = nlohmann::json;

enum class Outcome { kPassed, kFailed, kSkipped };

struct Counts {
  int passed = 0;
  int failed = 0;
  int skipped = 0;
};

std::optional<std::string> String(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string())
    return std::nullopt;
  return it->get<std::string>();
}

// The hex field `key`, if present. A present but malformed field is an error.
Result<std::optional<Bytes>> HexField(const json& object, const char* key) {
  auto text = String(object, key);
  if (!text)
    return std::optional<Bytes>();
  auto bytes = confab::FromHex(*text);
  if (!bytes.ok())
    return Status::Corruption(std::string(key) + " is not hex");
  return std::optional<Bytes>(std::move(*bytes));
}

template <size_t N>
Result<std::optional<confab::SecretArray<N>>> SecretField(const json& object, const char* key) {
  CONFAB_ASSIGN_OR_RETURN(auto bytes, HexField(object, key));
  if (!bytes)
    return std::optional<confab::SecretArray<N>>();
  if (bytes->size() != N)
    return Status::Corruption(std::string(key) + " has the wrong length");
  confab::SecretArray<N> out;
  std::copy(bytes->begin(), bytes->end(), out.data());
  return std::optional<confab::SecretArray<N>>(out);
}

Result<std::optional<noise::PublicKey>> PublicField(const json& object, const char* key) {
  CONFAB_ASSIGN_OR_RETURN(auto secret, SecretField<noise::kDhLen>(object, key));
  if (!secret)
    return std::optional<noise::PublicKey>();
  noise::PublicKey out;
  std::copy(secret->data(), secret->data() + noise::kDhLen, out.begin());
  return std::optional<noise::PublicKey>(out);
}

// The config for one side ("init" or "resp") of a vector.
Result<noise::HandshakeConfig> SideConfig(const json& v, const noise::Protocol& protocol,
                                          const std::string& side) {
  noise::HandshakeConfig config;
  config.protocol = protocol;
  config.initiator = side == "init";
  auto field = [&](const char* suffix) { return side + "_" + suffix; };
  CONFAB_ASSIGN_OR_RETURN(auto prologue, HexField(v, field("prologue").c_str()));
  config.prologue = prologue.value_or(Bytes());
  CONFAB_ASSIGN_OR_RETURN(config.s, SecretField<noise::kDhLen>(v, field("static").c_str()));
  CONFAB_ASSIGN_OR_RETURN(config.e, SecretField<noise::kDhLen>(v, field("ephemeral").c_str()));
  CONFAB_ASSIGN_OR_RETURN(config.rs, PublicField(v, field("remote_static").c_str()));
  CONFAB_ASSIGN_OR_RETURN(config.re, PublicField(v, field("remote_ephemeral").c_str()));
  // Old format: one "init_psk"; new: an "init_psks" array.
  CONFAB_ASSIGN_OR_RETURN(auto psk, SecretField<32>(v, field("psk").c_str()));
  if (psk)
    config.psks.push_back(*psk);
  auto psks = v.find(field("psks"));
  if (psks != v.end() && psks->is_array()) {
    for (const json& item : *psks) {
      if (!item.is_string())
        return Status::Corruption(field("psks") + " holds a non-string");
      CONFAB_ASSIGN_OR_RETURN(Bytes bytes, confab::FromHex(item.get<std::string>()));
      if (bytes.size() != 32)
        return Status::Corruption(field("psks") + " holds a PSK that is not 32 bytes");
      config.psks.emplace_back();
      std::copy(bytes.begin(), bytes.end(), config.psks.back().data());
    }
  }
  // No fixed ephemeral: one must never be needed, so make its use visible.
  if (!config.e)
    config.e = confab::SecretArray<noise::kDhLen>();
  return config;
}

// Sends `payload` from `sender` to `receiver` and checks the bytes.
template <typename Write, typename Read>
Status Exchange(size_t index, const json& message, Write write, Read read) {
  auto payload = HexField(message, "payload");
  auto ciphertext = HexField(message, "ciphertext");
  if (!payload.ok() || !ciphertext.ok() || !*payload || !*ciphertext)
    return Status::Corruption("message " + std::to_string(index) + ": bad payload/ciphertext");
  Result<Bytes> sent = write(**payload);
  if (!sent.ok())
    return sent.status().WithContext("message " + std::to_string(index) + ": write");
  if (*sent != **ciphertext)
    return Status::Corruption("message " + std::to_string(index) + ": ciphertext mismatch");
  Result<Bytes> received = read(**ciphertext);
  if (!received.ok())
    return received.status().WithContext("message " + std::to_string(index) + ": read");
  if (*received != **payload)
    return Status::Corruption("message " + std::to_string(index) + ": payload mismatch");
  return Status::Ok();
}

Status RunVector(const json& v, const noise::Protocol& protocol) {
  CONFAB_ASSIGN_OR_RETURN(auto init_config, SideConfig(v, protocol, "init"));
  CONFAB_ASSIGN_OR_RETURN(auto resp_config, SideConfig(v, protocol, "resp"));
  CONFAB_ASSIGN_OR_RETURN(auto init, noise::HandshakeState::Create(std::move(init_config)));
  CONFAB_ASSIGN_OR_RETURN(auto resp, noise::HandshakeState::Create(std::move(resp_config)));
  auto messages = v.find("messages");
  if (messages == v.end() || !messages->is_array())
    return Status::Corruption("no messages");

  const size_t handshake_len = protocol.pattern.messages.size();
  std::optional<std::pair<noise::CipherState, noise::CipherState>> init_ciphers, resp_ciphers;
  for (size_t i = 0; i < messages->size(); ++i) {
    const json& message = (*messages)[i];
    const bool from_initiator = protocol.pattern.one_way || i % 2 == 0;
    noise::HandshakeState& sender = from_initiator ? *init : *resp;
    noise::HandshakeState& receiver = from_initiator ? *resp : *init;
    if (i < handshake_len) {
      CONFAB_RETURN_IF_ERROR(Exchange(
          i, message, [&](const Bytes& p) { return sender.WriteMessage(p); },
          [&](const Bytes& c) { return receiver.ReadMessage(c); }));
      continue;
    }
    if (!init_ciphers) {
      CONFAB_ASSIGN_OR_RETURN(Bytes init_hash, init->GetHandshakeHash());
      CONFAB_ASSIGN_OR_RETURN(Bytes resp_hash, resp->GetHandshakeHash());
      if (init_hash != resp_hash)
        return Status::Corruption("the two sides' handshake hashes differ");
      CONFAB_ASSIGN_OR_RETURN(init_ciphers, init->Split());
      CONFAB_ASSIGN_OR_RETURN(resp_ciphers, resp->Split());
    }
    // first: initiator -> responder; second: responder -> initiator.
    noise::CipherState& send = from_initiator ? init_ciphers->first : resp_ciphers->second;
    noise::CipherState& recv = from_initiator ? resp_ciphers->first : init_ciphers->second;
    CONFAB_RETURN_IF_ERROR(Exchange(
        i, message, [&](const Bytes& p) { return send.EncryptWithAd({}, p); },
        [&](const Bytes& c) { return recv.DecryptWithAd({}, c); }));
  }
  CONFAB_ASSIGN_OR_RETURN(auto expected_hash, HexField(v, "handshake_hash"));
  if (expected_hash) {
    CONFAB_ASSIGN_OR_RETURN(Bytes hash, init->GetHandshakeHash());
    if (hash != *expected_hash)
      return Status::Corruption("handshake_hash mismatch");
  }
  return Status::Ok();
}

// The protocol a vector names, from protocol_name, name, or the old
// pattern/dh/cipher/hash fields.
std::string ProtocolName(const json& v) {
  if (auto name = String(v, "protocol_name"))
    return *name;
  if (auto name = String(v, "name"))
    return *name;
  return "Noise_" + String(v, "pattern").value_or("?") + "_" + String(v, "dh").value_or("?") + "_" +
         String(v, "cipher").value_or("?") + "_" + String(v, "hash").value_or("?");
}

Outcome RunOne(const json& v, const std::string& where) {
  const std::string name = ProtocolName(v);
  auto fail = [&](const Status& status) {
    std::printf("FAIL %s (%s): %s\n", name.c_str(), where.c_str(), status.ToString().c_str());
    return Outcome::kFailed;
  };
  if (!v.is_object())
    return fail(Status::Corruption("vector is not a JSON object"));
  // Features beyond the base spec that we don't implement.
  if (v.contains("fallback") || v.contains("fallback_pattern") || v.contains("hybrid"))
    return Outcome::kSkipped;
  auto protocol = noise::ParseProtocolName(name);
  if (!protocol.ok()) {
    if (protocol.status().code() == Status::Code::kInvalidArgument &&
        protocol.status().message().find("unsupported") != std::string_view::npos)
      return Outcome::kSkipped;
    return fail(protocol.status());
  }
  Status status = RunVector(v, *protocol);
  return status.ok() ? Outcome::kPassed : fail(status);
}

// Runs every vector in `path`. False if the file could not be read or parsed.
bool RunFile(const std::string& path, Counts& counts) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "error: %s: cannot open\n", path.c_str());
    return false;
  }
  json doc = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("vectors") ||
      !doc["vectors"].is_array()) {
    std::fprintf(stderr, "error: %s: not a JSON file with a \"vectors\" array\n", path.c_str());
    return false;
  }
  const json& vectors = doc["vectors"];
  for (size_t i = 0; i < vectors.size(); ++i) {
    switch (RunOne(vectors[i], path + " #" + std::to_string(i))) {
      case Outcome::kPassed:
        ++counts.passed;
        break;
      case Outcome::kFailed:
        ++counts.failed;
        break;
      case Outcome::kSkipped:
        ++counts.skipped;
        break;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: noise-vectors FILE...\n");
    return 2;
  }
  Counts counts;
  bool files_ok = true;
  for (int i = 1; i < argc; ++i)
    files_ok = RunFile(argv[i], counts) && files_ok;
  std::printf("%d passed, %d failed, %d skipped\n", counts.passed, counts.failed, counts.skipped);
  if (!files_ok)
    return 2;
  return counts.failed == 0 && counts.passed > 0 ? 0 : 1;
}
