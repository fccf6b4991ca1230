#include "peer/transfer/transfer_store.h"

#include <algorithm>

#include "common/store/statement.h"

namespace confab::peer::transfer {
namespace {

constexpr std::string_view kStateNames[] = {"offered", "active",   "quarantined", "completed",
                                            "failed",  "rejected", "cancelled"};

constexpr std::string_view kColumns =
    "id, direction, peer, name, size, type, state, bytes_done, source, dest_dir, path, error, "
    "digest, created_ms, updated_ms";

Result<TransferRecord> ReadRow(const store::Statement& st) {
  TransferRecord r;
  Bytes id = st.ColumnBlob(0);
  if (id.size() != r.id.size())
    return Status::Corruption("a transfer id that is not 16 bytes");
  std::copy(id.begin(), id.end(), r.id.begin());
  r.direction = st.ColumnInt64(1) == 0 ? Direction::kIn : Direction::kOut;
  r.peer = st.ColumnText(2);
  r.name = st.ColumnText(3);
  r.size = static_cast<uint64_t>(st.ColumnInt64(4));
  r.type = st.ColumnText(5);
  std::optional<State> state = ParseState(st.ColumnText(6));
  if (!state)
    return Status::Corruption("an unknown transfer state");
  r.state = *state;
  r.bytes_done = static_cast<uint64_t>(st.ColumnInt64(7));
  r.source = st.ColumnText(8);
  r.dest_dir = st.ColumnText(9);
  r.path = st.ColumnText(10);
  r.error = st.ColumnText(11);
  r.digest = st.ColumnBlob(12);
  r.created_ms = st.ColumnInt64(13);
  r.updated_ms = st.ColumnInt64(14);
  return r;
}

}  // namespace

std::string_view StateName(State state) {
  return kStateNames[static_cast<size_t>(state)];
}

std::optional<State> ParseState(std::string_view name) {
  for (size_t i = 0; i < std::size(kStateNames); ++i) {
    if (kStateNames[i] == name)
      return static_cast<State>(i);
  }
  return std::nullopt;
}

bool IsFinal(State state) {
  return state == State::kCompleted || state == State::kFailed || state == State::kRejected ||
         state == State::kCancelled || state == State::kQuarantined;
}

std::string IdHex(const TransferId& id) {
  return ToHex(ByteView(id.data(), id.size()));
}

Result<TransferId> ParseId(std::string_view hex) {
  Result<Bytes> bytes = FromHex(hex);
  TransferId id{};
  if (!bytes.ok() || bytes->size() != id.size())
    return Status::InvalidArgument("a transfer id is 32 hex digits");
  std::copy(bytes->begin(), bytes->end(), id.begin());
  return id;
}

Status TransferStore::Put(const TransferRecord& r) {
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement st,
      db_->Prepare("INSERT OR REPLACE INTO transfers (" + std::string(kColumns) +
                   ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"));
  st.BindBlob(1, ByteView(r.id.data(), r.id.size()))
      .BindInt64(2, static_cast<int64_t>(r.direction))
      .BindText(3, r.peer)
      .BindText(4, r.name)
      .BindInt64(5, static_cast<int64_t>(r.size))
      .BindText(6, r.type)
      .BindText(7, StateName(r.state))
      .BindInt64(8, static_cast<int64_t>(r.bytes_done))
      .BindText(9, r.source)
      .BindText(10, r.dest_dir)
      .BindText(11, r.path)
      .BindText(12, r.error)
      .BindBlob(13, r.digest)
      .BindInt64(14, r.created_ms)
      .BindInt64(15, r.updated_ms);
  return st.Run();
}

Result<TransferRecord> TransferStore::Get(const TransferId& id) {
  CONFAB_ASSIGN_OR_RETURN(store::Statement st, db_->Prepare("SELECT " + std::string(kColumns) +
                                                            " FROM transfers WHERE id = ?1"));
  st.BindBlob(1, ByteView(id.data(), id.size()));
  CONFAB_ASSIGN_OR_RETURN(store::StepResult step, st.Step());
  if (step != store::StepResult::kRow)
    return Status::NotFound("no transfer " + IdHex(id));
  return ReadRow(st);
}

Result<std::vector<TransferRecord>> TransferStore::List() {
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement st,
      db_->Prepare("SELECT " + std::string(kColumns) + " FROM transfers ORDER BY created_ms DESC"));
  std::vector<TransferRecord> out;
  for (;;) {
    CONFAB_ASSIGN_OR_RETURN(store::StepResult step, st.Step());
    if (step != store::StepResult::kRow)
      break;
    CONFAB_ASSIGN_OR_RETURN(TransferRecord r, ReadRow(st));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace confab::peer::transfer
