#include "common/net/pool_work.h"

#include <uv.h>

#include "common/net/uv_status.h"

namespace confab::net {
namespace {

struct Request {
  uv_work_t req{};
  std::unique_ptr<PoolWork> job;
};

void WorkCb(uv_work_t* req) noexcept {
  static_cast<Request*>(req->data)->job->Work();
}

void AfterWorkCb(uv_work_t* req, int status) noexcept {
  std::unique_ptr<Request> request(static_cast<Request*>(req->data));
  request->job->Done(status == 0 ? Status::Ok() : FromUv(status, "thread pool job"));
}

}  // namespace

Status PoolWork::Submit(Loop& loop, std::unique_ptr<PoolWork> job) {
  auto request = std::make_unique<Request>();
  request->job = std::move(job);
  request->req.data = request.get();
  const int rc = uv_queue_work(loop.get(), &request->req, WorkCb, AfterWorkCb);
  if (rc != 0)
    return FromUv(rc, "uv_queue_work");
  request.release();  // AfterWorkCb frees it
  return Status::Ok();
}

}  // namespace confab::net
