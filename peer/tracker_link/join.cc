// Join (join.h): one IKpsk2 handshake to the tracker named in the
// invite, on a private loop.
#include "peer/tracker_link/join.h"

#include <netdb.h>
#include <sys/socket.h>

#include <string>
#include <utility>

#include "common/base/proto_bytes.h"
#include "common/base/wall_clock.h"
#include "common/channel/channel_connection.h"
#include "common/crypto/certificate.h"
#include "common/net/loop.h"
#include "common/net/timer.h"
#include "proto/channel.pb.h"
#include "proto/identity.pb.h"
#include "proto/tracker.pb.h"

namespace confab::peer {
namespace {

// Drives one join: dial, handshake message 1 with the JoinRequest, then the
// JoinResponse in message 2; the loop stops once the connection is closed.
class JoinAttempt final : public channel::ChannelConnection::Delegate, public net::Timer::Delegate {
 public:
  JoinAttempt(net::Loop& loop, const crypto::Invite& invite, const crypto::SigningKey& identity,
              const JoinOptions& options)
      : loop_(loop), invite_(invite), identity_(identity), options_(options) {}

  Status Start() {
    CONFAB_ASSIGN_OR_RETURN(net::Address address, ResolveHostPort(invite_.tracker_address));
    address_text_ = address.ToString();
    proto::JoinRequest request;
    request.set_invite_secret(invite_.secret.data(), invite_.secret.size());
    request.set_identity_key(identity_.public_key().data(), identity_.public_key().size());
    request.set_hostname(options_.hostname);

    channel::InitiatorParams params;
    params.purpose = proto::PURPOSE_JOIN;
    params.local_static = identity_.DeriveX25519().secret_key;
    params.remote_static = invite_.tracker_static_key;
    params.psk = crypto::DeriveJoinPsk(invite_.secret.view());
    params.payload = SerializeToBytes(request);
    CONFAB_ASSIGN_OR_RETURN(timer_, net::Timer::Create(loop_, this));
    CONFAB_RETURN_IF_ERROR(timer_->Start(options_.timeout_ms));
    CONFAB_ASSIGN_OR_RETURN(
        connection_, channel::ChannelConnection::Connect(loop_, address, std::move(params), this));
    return Status::Ok();
  }

  Result<Enrollment> TakeResult() {
    if (result_)
      return std::move(*result_);
    return Status::Unavailable("the join did not finish");
  }

 private:
  Result<channel::ChannelConnection::HelloAnswer> OnHello(channel::ChannelConnection&,
                                                          const channel::Event&) override {
    return Status::FailedPrecondition("an initiator gets no hello");
  }

  Status OnWelcome(channel::ChannelConnection& c, ByteView payload) override {
    Finish(Check(payload));
    c.Close();
    return Status::Ok();
  }

  Status OnMessage(channel::ChannelConnection&, ByteView) override {
    return Status::Corruption("unexpected message after the join reply");
  }

  void OnClosed(channel::ChannelConnection&, Status status) override {
    if (!result_) {
      if (status.code() == Status::Code::kUnavailable) {
        Finish(Status::Unavailable("cannot reach the tracker at " + address_text_ + ": " +
                                   std::string(status.message())));
      } else {
        Finish(Status::Unavailable(
            "the tracker at " + address_text_ +
            " ended the handshake without an answer (is the invite code for this tracker?)" +
            (status.ok() ? std::string() : ": " + status.ToString())));
      }
    }
    timer_->Close();
    loop_.Stop();
  }

  void OnTimer() override {
    if (!result_) {
      Finish(Status::ResourceExhausted("no answer from the tracker at " + address_text_ +
                                       " within " + std::to_string(options_.timeout_ms / 1000) +
                                       " s"));
    }
    connection_->Close();
  }

  void Finish(Result<Enrollment> r) {
    if (!result_)
      result_.emplace(std::move(r));
  }

  Result<Enrollment> Check(ByteView payload) {
    proto::JoinResponse response;
    if (!ParseFromBytes(payload, &response))
      return Status::Corruption("the tracker's join reply does not parse");
    if (!response.accepted()) {
      return Status::PermissionDenied(
          "the tracker refused the invite: " +
          (response.refusal().empty() ? std::string("no reason given") : response.refusal()));
    }
    auto org_key = crypto::Ed25519PublicKeyFromBytes(AsBytes(response.org_public_key()));
    if (!org_key.ok())
      return Status::Corruption("the tracker's org key is not 32 bytes");
    const int64_t now = options_.now_unix != 0 ? options_.now_unix : NowUnix();
    auto checked = crypto::VerifyCertificate(response.certificate(), *org_key, now, invite_.name);
    if (!checked.ok()) {
      return Status::AuthFailed("the certificate from the tracker does not check out: " +
                                checked.status().ToString());
    }
    if (checked->identity_key != identity_.public_key())
      return Status::AuthFailed("the certificate from the tracker is for another key");
    Enrollment e;
    e.name = checked->name;
    e.org = response.org();
    e.certificate = SerializeToBytes(response.certificate());
    e.checked = std::move(*checked);
    e.org_public_key = *org_key;
    e.tracker_address = invite_.tracker_address;
    e.tracker_static_key = invite_.tracker_static_key;
    return e;
  }

  net::Loop& loop_;
  const crypto::Invite& invite_;
  const crypto::SigningKey& identity_;
  const JoinOptions& options_;
  std::string address_text_;
  std::unique_ptr<net::Timer> timer_;
  std::unique_ptr<channel::ChannelConnection> connection_;
  std::optional<Result<Enrollment>> result_;
};

}  // namespace

std::vector<std::string> SplitTrackerAddresses(std::string_view addresses) {
  std::vector<std::string> out;
  while (true) {
    const size_t comma = addresses.find(',');
    std::string_view part = addresses.substr(0, comma);
    while (!part.empty() && (part.front() == ' ' || part.front() == '\t'))
      part.remove_prefix(1);
    while (!part.empty() && (part.back() == ' ' || part.back() == '\t'))
      part.remove_suffix(1);
    if (!part.empty())
      out.emplace_back(part);
    if (comma == std::string_view::npos)
      return out;
    addresses.remove_prefix(comma + 1);
  }
}

Result<net::Address> ResolveHostPort(std::string_view host_port) {
  auto numeric = net::Address::Parse(host_port);
  if (numeric.ok())
    return numeric;
  const size_t colon = host_port.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || host_port.front() == '[')
    return numeric.status();
  const std::string host(host_port.substr(0, colon));
  const std::string port(host_port.substr(colon + 1));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) {
    return Status::Unavailable("cannot resolve '" + host + "': " + gai_strerror(rc));
  }
  Result<net::Address> address = net::Address::FromSockaddr(found->ai_addr);
  freeaddrinfo(found);
  return address;
}

Result<Enrollment> Join(const crypto::Invite& invite, const crypto::SigningKey& identity,
                        const JoinOptions& options) {
  CONFAB_ASSIGN_OR_RETURN(std::unique_ptr<net::Loop> loop, net::Loop::Create());
  Result<Enrollment> result = Status::Unavailable("the join did not start");
  {
    JoinAttempt attempt(*loop, invite, identity, options);
    Status started = attempt.Start();
    if (started.ok()) {
      Status ran = loop->Run();
      result = attempt.TakeResult();
      if (!ran.ok() && result.ok())
        result = ran;
    } else {
      result = started;
    }
    // Handles still open (a failed start) close before the attempt goes.
    (void)loop->Close();
  }
  CONFAB_RETURN_IF_ERROR(loop->Close());
  return result;
}

}  // namespace confab::peer
