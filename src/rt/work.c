/*
 * work.c - running blocking C work (file system calls) in libuv's thread
 * pool while the calling fiber parks.
 *
 * The work function runs on a worker thread: it must not allocate from
 * the GC heap or create values; it reads its inputs and writes plain
 * bytes or malloc()ed buffers into its data. If the waiting fiber is
 * cancelled meanwhile, the job is abandoned: the fiber unwinds at once
 * and, when the worker finishes, the cleanup function releases whatever
 * the work produced. data must therefore be GC memory (kept alive by the
 * job) or static, never the caller's stack.
 */
#include "rt.h"

typedef struct {
  uv_work_t req;
  valk_work_fn work;
  valk_work_cleanup_fn cleanup;
  void *data;
  valk_task *task;
  bool abandoned, finished;
} Job;

static void job_run(uv_work_t *r) {
  Job *j = r->data;
  j->work(j->data);
}

static void job_done(uv_work_t *r, int status) {
  (void)status;
  Job *j = r->data;
  j->finished = true;
  if (j->abandoned) {
    if (j->cleanup) j->cleanup(j->data);
    valk_root_free(j);
    return;
  }
  valk_task_wake(j->task);
}

static void job_cancel(valk_task *t, void *data) {
  (void)t;
  Job *j = data;
  j->abandoned = true;
  /* fails once the work has started; job_done runs either way (with
     UV_ECANCELED when the work never started) */
  (void)uv_cancel((uv_req_t *)&j->req);
}

static void park_job(void *ud) { valk_task_park(job_cancel, ud); }

void valk_run_blocking(valk_work_fn work, valk_work_cleanup_fn cleanup, void *data) {
  valk_task *t = valk_task_current();
  if (!t) { /* start-up code outside any task: just do it */
    work(data);
    return;
  }
  Job *j = valk_root_alloc(sizeof *j);
  j->work = work;
  j->cleanup = cleanup;
  j->data = data;
  j->task = t;
  j->req.data = j;
  int rc = uv_queue_work(valk_loop(), &j->req, job_run, job_done);
  if (rc != 0) {
    valk_root_free(j);
    valk_raise("cannot queue work: %s", uv_strerror(rc));
  }
  V err = valk_pcall(park_job, j);
  /* abandoned jobs are freed by job_done; finished ones here */
  if (!err || j->finished) valk_root_free(j);
  if (err) valk_throw(err);
}
