// PgListener: PostgreSQL notifications (LISTEN/NOTIFY) on the tracker's
// loop, without blocking it (issue 16, presence across trackers).
//
// Its own libpq connection LISTENs on the given channels; the connection's
// socket (PQsocket) is polled for reading by a net::FdPoller (uv_poll, freed
// in its close callback), and each readable event runs PQconsumeInput and
// drains PQnotifies, so the loop never waits on the server.
//
// When the connection is lost (server restart, network), the delegate hears
// OnListenLost, and the listener retries every `retry_ms` on a net::Timer;
// when it listens again it says OnListening. Notifications sent while it was
// not listening are lost (PostgreSQL does not queue them for a session that
// is gone), so the delegate re-reads the shared state on OnListening.
//
// Connecting (at Start and on each retry) uses libpq's blocking connect and
// one LISTEN round trip: on a Unix socket or loopback that is immediate, and
// an unreachable server fails fast; the url's connect_timeout bounds it
// otherwise.
//
// Lifetime: the delegate must outlive the listener. The listener may be
// destroyed at any time, its delegate's upcalls included; no upcall follows
// destruction or Close().
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/base/status.h"
#include "common/net/fd_poller.h"
#include "common/net/loop.h"
#include "common/net/timer.h"

struct pg_conn;

namespace confab::tracker {

class PgListener final : net::FdPoller::Delegate, net::Timer::Delegate {
 public:
  class Delegate {
   public:
    virtual ~Delegate() = default;
    // One NOTIFY on a channel listened to, in the order the server sent them.
    virtual void OnNotification(std::string_view channel, std::string_view payload) = 0;
    // Listening (again, after OnListenLost): re-read what may have changed.
    virtual void OnListening() = 0;
    // The connection is gone; retrying.
    virtual void OnListenLost(const Status& why) = 0;
  };

  // Connects to `url` and LISTENs on every channel (identifiers: letters,
  // digits and '_'). InvalidArgument for a bad channel name or url;
  // Unavailable if the server cannot be reached now (no retry then: the
  // caller decides whether to start without it).
  [[nodiscard]] static Result<std::unique_ptr<PgListener>> Start(net::Loop& loop,
                                                                 const std::string& url,
                                                                 std::vector<std::string> channels,
                                                                 Delegate* delegate,
                                                                 uint64_t retry_ms = 1000);
  ~PgListener() override;
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

  // Stops listening and closes the connection; no upcall follows.
  void Close();

  bool listening() const { return poller_ != nullptr; }
  int reconnects() const { return reconnects_; }

 private:
  PgListener(net::Loop& loop, std::string url, std::vector<std::string> channels,
             Delegate* delegate, uint64_t retry_ms);

  Status Connect();  // a fresh connection that LISTENs, polled
  void Lose(const Status& why);
  void OnReadable() override;
  void OnTimer() override;

  net::Loop& loop_;
  const std::string url_;
  const std::vector<std::string> channels_;
  Delegate* const delegate_;
  const uint64_t retry_ms_;
  pg_conn* conn_ = nullptr;
  std::unique_ptr<net::FdPoller> poller_;
  std::unique_ptr<net::Timer> retry_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool closed_ = false;
  int reconnects_ = 0;
};

}  // namespace confab::tracker
