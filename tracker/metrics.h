// Prometheus text exposition over a minimal HTTP/1.0 responder on a local
// port (`metrics.listen` in tracker.toml). It answers GET /metrics and
// nothing else, then closes; a request head over 8 KiB, or one not complete
// within kRequestDeadlineMs, is cut off, and at most kMaxConcurrentRequests
// are served at once. Bind it to a local address: it has no authentication.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/base/result.h"
#include "common/net/address.h"
#include "common/net/loop.h"
#include "common/net/tcp_connection.h"
#include "common/net/tcp_listener.h"
#include "common/net/timer.h"

namespace confab::tracker {

class MetricsSource {
 public:
  virtual ~MetricsSource() = default;
  // The whole exposition, in Prometheus text format 0.0.4.
  virtual std::string RenderMetrics() = 0;
};

// Appends one sample: "# HELP", "# TYPE" and the value line.
void AppendMetric(std::string* out, std::string_view name, std::string_view type,
                  std::string_view help, double value, std::string_view labels = "");

// The resident set size of this process, from /proc/self/statm; 0 if unknown.
uint64_t ResidentBytes();

// Appends the standard process_* family as Prometheus client libraries name
// it (process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds,
// process_start_time_seconds), read from /proc/self and getrlimit; a value
// that cannot be read is left out rather than reported as 0.
void AppendProcessMetrics(std::string* out);

// Appends confab_build_info{version="..."} 1.
void AppendBuildInfo(std::string* out);

inline constexpr uint64_t kRequestDeadlineMs = 5000;
inline constexpr size_t kMaxConcurrentRequests = 16;

class MetricsHttp final : private net::TcpListener::Delegate {
 public:
  [[nodiscard]] static Result<std::unique_ptr<MetricsHttp>> Start(net::Loop& loop,
                                                                  const net::Address& bind,
                                                                  MetricsSource* source);
  ~MetricsHttp() override;
  uint16_t port() const { return listener_->port(); }
  void Close();

 private:
  class Request;
  MetricsHttp(net::Loop& loop, MetricsSource* source);
  void OnIncoming(Status status) override;
  void Finished(Request* request);

  net::Loop& loop_;
  MetricsSource* source_;
  std::unique_ptr<net::TcpListener> listener_;
  std::unordered_map<Request*, std::unique_ptr<Request>> requests_;
};

}  // namespace confab::tracker
