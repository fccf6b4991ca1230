// What one transfer (Outgoing, Incoming) needs from the registry that owns
// it (Transfers): the loop, the settings, the store and the Dialer.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/crypto/identity.h"
#include "common/net/loop.h"
#include "peer/reach/dialer.h"
#include "peer/transfer/policy.h"
#include "peer/transfer/transfer_store.h"
#include "proto/channel.pb.h"
#include "proto/peer.pb.h"

namespace confab::peer::transfer {

struct TransfersParams {
  std::string self_name;
  std::string quarantine_dir;  // absolute; created by Transfers::Create
  crypto::X25519KeyPair local_static{};
  Bytes certificate;  // ours
  ReceivePolicy policy;
  // The cipher file connections ask for (AESGCM where AES-NI is there).
  proto::Cipher cipher = proto::CIPHER_CHACHAPOLY;
  uint64_t retry_ms = 1000;             // redial an interrupted transfer after
  uint64_t progress_every_ms = 250;     // Transfers::Observer's progress period
  uint64_t read_batch_bytes = 8 << 20;  // sender: file bytes per thread-pool read
  // Receiver: file bytes per thread-pool write; one batch is written while
  // the next fills, and reading stops when both are full.
  uint64_t write_batch_bytes = 8 << 20;
  uint64_t sync_every_bytes = 64 << 20;  // receiver: fsync (durable offset) period
  // Reaches the receiver for each outgoing transfer (a connection, and on
  // UDP a session, of the transfer's own); the node's, outliving the
  // Transfers.
  Dialer* dialer = nullptr;
};

class Host {
 public:
  virtual ~Host() = default;
  virtual net::Loop& loop() = 0;
  virtual const TransfersParams& params() const = 0;
  // Writes `record` (updated_ms set to now); failures are logged.
  virtual void Save(TransferRecord& record) = 0;
  // The Dialer (params().dialer; null: outgoing transfers wait) and whether
  // the chat with `name` runs over UDP already (then files skip TCP).
  virtual Dialer* dialer() = 0;
  virtual bool ReachedOverUdp(const std::string& name) = 0;
};

// A control frame's plaintext: kFrameControl, then `frame`.
Bytes ControlPlaintext(const proto::FileFrame& frame);

}  // namespace confab::peer::transfer
