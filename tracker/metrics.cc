#include "tracker/metrics.h"

#include <dirent.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include "common/base/version.h"

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

namespace {

// Fields 14 (utime), 15 (stime), 22 (starttime) and 23 (vsize) of
// /proc/self/stat, counted from 1; the command name (field 2) may hold spaces,
// so fields are counted from its closing parenthesis.
struct ProcStat {
  double utime_ticks = 0, stime_ticks = 0, start_ticks = 0, vsize = 0;
};

bool ReadProcStat(ProcStat* st) {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line))
    return false;
  const size_t close = line.rfind(')');
  if (close == std::string::npos)
    return false;
  std::istringstream fields(line.substr(close + 1));
  std::string field;
  for (int n = 3; fields >> field; ++n) {  // the first after ')' is field 3
    if (n == 14)
      st->utime_ticks = std::stod(field);
    else if (n == 15)
      st->stime_ticks = std::stod(field);
    else if (n == 22)
      st->start_ticks = std::stod(field);
    else if (n == 23) {
      st->vsize = std::stod(field);
      return true;
    }
  }
  return false;
}

// The boot time in Unix seconds: "btime" in /proc/stat; 0 if unknown.
double BootTime() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime" && (in >> value))
      return value;
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

int OpenFds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr)
    return -1;
  int n = 0;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.')
      ++n;
  }
  ::closedir(dir);
  return n - 1;  // less the descriptor opendir held
}

std::string EscapeLabel(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

void AppendProcessMetrics(std::string* out) {
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  ProcStat st;
  const bool have_stat = ReadProcStat(&st) && ticks > 0;
  if (have_stat) {
    AppendMetric(out, "process_cpu_seconds_total", "counter",
                 "Total user and system CPU time spent in seconds.",
                 (st.utime_ticks + st.stime_ticks) / ticks);
  }
  if (const uint64_t rss = ResidentBytes(); rss > 0) {
    AppendMetric(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
                 static_cast<double>(rss));
  }
  if (have_stat) {
    AppendMetric(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
                 st.vsize);
  }
  if (const int fds = OpenFds(); fds >= 0) {
    AppendMetric(out, "process_open_fds", "gauge", "Number of open file descriptors.", fds);
  }
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    AppendMetric(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
                 static_cast<double>(limit.rlim_cur));
  }
  if (const double boot = BootTime(); have_stat && boot > 0) {
    AppendMetric(out, "process_start_time_seconds", "gauge",
                 "Start time of the process since unix epoch in seconds.",
                 boot + st.start_ticks / ticks);
  }
}

void AppendBuildInfo(std::string* out) {
  AppendMetric(out, "confab_build_info", "gauge",
               "Always 1; the labels say which confab build is running.", 1,
               "version=\"" + EscapeLabel(kVersion) + "\"");
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
