#include "tracker/metrics.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace confab::tracker {

void AppendMetric(std::string* out, std::string_view name, std::string_view type,
                  std::string_view help, double value, std::string_view labels) {
  if (out->find(fmt::format("# TYPE {} ", name)) == std::string::npos) {
    *out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  if (labels.empty()) {
    *out += fmt::format("{} {}\n", name, value);
  } else {
    *out += fmt::format("{}{{{}}} {}\n", name, labels, value);
  }
}

uint64_t ResidentBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr)
    return 0;
  unsigned long size = 0, resident = 0;
  const int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  if (n != 2)
    return 0;
  return static_cast<uint64_t>(resident) * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

// One HTTP exchange: read the request head, answer, close.
// A scraper that connects and then says nothing (or trickles bytes) is cut
// off after kRequestDeadlineMs, so it cannot hold a connection forever.
class MetricsHttp::Request final : private net::TcpConnection::Delegate,
                                   private net::Timer::Delegate {
 public:
  Request(MetricsHttp& owner) : owner_(owner) {}
  Status Start(net::Loop& loop, net::TcpListener& listener) {
    CONFAB_ASSIGN_OR_RETURN(connection_, listener.Accept(this));
    CONFAB_ASSIGN_OR_RETURN(deadline_, net::Timer::Create(loop, this));
    CONFAB_RETURN_IF_ERROR(deadline_->Start(kRequestDeadlineMs));
    return connection_->StartReading();
  }

 private:
  static constexpr size_t kMaxRequestBytes = 8192;

  void OnTimer() override { connection_->Close(); }

  void OnConnected() override {}
  void OnRead(ByteView data) override {
    if (answered_)
      return;
    head_.append(AsChars(data));
    if (head_.size() > kMaxRequestBytes) {
      connection_->Close();
      return;
    }
    if (head_.find("\r\n\r\n") == std::string::npos && head_.find("\n\n") == std::string::npos) {
      return;
    }
    answered_ = true;
    std::string body;
    std::string status = "200 OK";
    if (head_.starts_with("GET /metrics ") || head_.starts_with("GET / ")) {
      body = owner_.source_->RenderMetrics();
    } else {
      status = "404 Not Found";
      body = "try /metrics\n";
    }
    std::string response = fmt::format(
        "HTTP/1.0 {}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: "
        "{}\r\nConnection: close\r\n\r\n{}",
        status, body.size(), body);
    (void)connection_->Write(ToBytes(AsBytes(response)));
    connection_->Shutdown();
  }
  void OnWritable() override {}
  void OnClosed(Status) override { owner_.Finished(this); }

  MetricsHttp& owner_;
  std::unique_ptr<net::TcpConnection> connection_;
  std::unique_ptr<net::Timer> deadline_;
  std::string head_;
  bool answered_ = false;
};

Result<std::unique_ptr<MetricsHttp>> MetricsHttp::Start(net::Loop& loop, const net::Address& bind,
                                                        MetricsSource* source) {
  std::unique_ptr<MetricsHttp> http(new MetricsHttp(loop, source));
  CONFAB_ASSIGN_OR_RETURN(http->listener_, net::TcpListener::Create(loop, bind, http.get()));
  return http;
}

MetricsHttp::MetricsHttp(net::Loop& loop, MetricsSource* source) : loop_(loop), source_(source) {}

MetricsHttp::~MetricsHttp() = default;

void MetricsHttp::Close() {
  listener_->Close();
  requests_.clear();  // each closes its connection without an upcall
}

void MetricsHttp::OnIncoming(Status status) {
  if (!status.ok())
    return;
  auto request = std::make_unique<Request>(*this);
  Request* raw = request.get();
  // Accept even when full, so the backlog drains; the excess is closed
  // unanswered when `request` goes out of scope.
  if (!request->Start(loop_, *listener_).ok() || requests_.size() >= kMaxConcurrentRequests)
    return;
  requests_.emplace(raw, std::move(request));
}

void MetricsHttp::Finished(Request* request) {
  requests_.erase(request);
}

}  // namespace confab::tracker
