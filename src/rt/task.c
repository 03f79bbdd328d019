/*
 * task.c - the loop, tasks, futures, and the Valkyria forms on them:
 * go*, await, await-all, await-any, sleep, cancel, with-timeout*.
 *
 * Tasks that are ready to run wait in a queue drained by a uv_idle
 * callback, so the loop never blocks while a task can run. A wake-up
 * carries the sequence number of the wait it belongs to; a wake for an
 * older wait (a future that settled after its waiter gave up) is ignored.
 *
 * Fiber groups: a fiber started while the dynamic binding :fibers is a
 * map is recorded in it (its future as a key) until it finishes, and so
 * are the fibers it starts, which inherit the binding. The mechanism only
 * records; the policy (the CI engine cancels what a step left running when
 * the step ends) is the caller's.
 */
#include "rt.h"

#include "fiber.h"

#include <gc/gc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uv_loop_t loop;
static uv_idle_t idle;
static uv_prepare_t flusher; /* flushes stdout before the loop waits */
static bool idle_on;
static valk_task **readyq; /* GC memory rooted by this static */
static size_t rq_head, rq_len, rq_cap;
static valk_task *running;  /* task whose fiber runs now */

uv_loop_t *valk_loop(void) { return &loop; }
valk_task *valk_task_current(void) { return running; }
uint64_t valk_task_seq(valk_task *t) { return t->wait_seq; }

void *valk_root_alloc(size_t n) {
  void *p = GC_MALLOC_UNCOLLECTABLE(n);
  if (!p) valk_raise("out of memory");
  memset(p, 0, n);
  return p;
}

void valk_root_free(void *p) { GC_FREE(p); }

V valk_make_error(const char *kind, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char msg[1024];
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return valk_error_new(valk_kw(kind), valk_cstr(msg), valk_S->form);
}

/* ---- ready queue ---- */
static void run_ready(uv_idle_t *h);

static void rq_push(valk_task *t) {
  if (rq_len == rq_cap) {
    size_t ncap = rq_cap ? rq_cap * 2 : 64;
    valk_task **q = valk_alloc(ncap * sizeof *q);
    for (size_t i = 0; i < rq_len; i++) q[i] = readyq[(rq_head + i) % rq_cap];
    readyq = q;
    rq_head = 0;
    rq_cap = ncap;
  }
  readyq[(rq_head + rq_len++) % rq_cap] = t;
  if (!idle_on) {
    /* cannot fail: the idle handle is initialised and has a callback */
    if (uv_idle_start(&idle, run_ready) != 0) abort();
    idle_on = true;
  }
}

static valk_task *rq_pop(void) {
  if (!rq_len) return NULL;
  valk_task *t = readyq[rq_head];
  readyq[rq_head] = NULL;
  rq_head = (rq_head + 1) % rq_cap;
  rq_len--;
  return t;
}

static void resume(valk_task *t) {
  t->ready = false;
  running = t;
  valk_fiber_resume(t->fiber);
  running = NULL;
  if (t->fiber->status == FIBER_DONE) {
    valk_fiber_free(t->fiber);
    t->fiber = NULL;
  }
}

static void run_ready(uv_idle_t *h) {
  (void)h;
  /* run ready tasks, including ones woken meanwhile, but at most
     BATCH of them, so timers and I/O are still polled regularly */
  enum { BATCH = 1024 };
  for (int n = 0; n < BATCH && rq_len; n++) {
    valk_task *t = rq_pop();
    if (t && t->fiber) resume(t);
  }
  if (!rq_len) {
    uv_idle_stop(&idle);
    idle_on = false;
  }
}

/* ---- futures ---- */
/* A future is GC memory only: nothing to finalize. */
static const valk_native_type future_type = {"future", NULL};

static V future_new(void) {
  valk_future *f = valk_alloc(sizeof *f);
  f->state = FUT_PENDING;
  f->value = NIL;
  return valk_native(&future_type, f, NIL);
}

bool valk_is_future(V v) { return valk_native_is(v, &future_type); }

valk_future *valk_future_get(V v, const char *who) { return valk_native_check(v, &future_type, who, 0); }

static void future_add_waiter(valk_future *f, valk_task *t) {
  if (f->nwaiters == f->capwaiters) {
    int ncap = f->capwaiters ? f->capwaiters * 2 : 4;
    valk_task **w = valk_alloc((size_t)ncap * sizeof *w);
    uint64_t *s = valk_alloc_atomic((size_t)ncap * sizeof *s);
    if (f->nwaiters) {
      memcpy(w, f->waiters, (size_t)f->nwaiters * sizeof *w);
      memcpy(s, f->waiter_seq, (size_t)f->nwaiters * sizeof *s);
    }
    f->waiters = w;
    f->waiter_seq = s;
    f->capwaiters = ncap;
  }
  f->waiters[f->nwaiters] = t;
  f->waiter_seq[f->nwaiters] = t->wait_seq;
  f->nwaiters++;
}

static void future_settle(valk_future *f, int state, V value) {
  f->state = state;
  f->value = value;
  f->task = NULL;
  for (int i = 0; i < f->nwaiters; i++) {
    valk_task *w = f->waiters[i];
    if (w->parked && w->wait_seq == f->waiter_seq[i]) valk_task_wake(w);
  }
  f->waiters = NULL;
  f->waiter_seq = NULL;
  f->nwaiters = f->capwaiters = 0;
}

/* ---- tasks ---- */
static void park_switch(valk_task *t);
static void call_thunk(void *ud) {
  valk_task *t = ud;
  V r = t->cfn ? t->cfn(t->cdata) : valk_apply(t->thunk, NULL, 0);
  t->thunk = r; /* result travels back through the thunk slot */
}

static void task_main(void *arg) {
  valk_task *t = arg;
  valk_future *f = ((Native *)t->future)->ptr;
  V err = t->pending_cancel;
  t->pending_cancel = NULL;
  if (!err) err = valk_pcall(call_thunk, t);
  t->finished = true;
  if (!err) future_settle(f, FUT_DONE, t->thunk);
  else future_settle(f, AS_ERR(err)->kind == valk_kw("cancelled") ? FUT_CANCELLED : FUT_FAILED, err);
  t->thunk = NIL;
  t->cdata = NIL;
  if (t->group) valk_map_del(t->group, t->future);
  t->group = NULL;
}

static V task_new(V thunk, size_t stack) {
  valk_task *t = valk_alloc(sizeof *t);
  t->thunk = thunk;
  t->future = future_new();
  t->children = EMPTY;
  ((valk_future *)((Native *)t->future)->ptr)->task = t;
  t->fiber = valk_fiber_new(task_main, t, stack);
  t->fiber->user = t;
  /* the new fiber inherits its parent's file and dynamic bindings */
  t->fiber->st.file = valk_S->file;
  t->fiber->st.dyn = valk_S->dyn;
  /* a fiber started by a fiber under the binding :fibers (a map) joins
     that group until it finishes: whoever made the group (a CI step) can
     cancel what is left of it */
  if (running) {
    V g = valk_dyn(valk_kw("fibers"), NIL);
    if (IS(g, T_MAP)) {
      valk_map_set(g, t->future, VTRUE);
      t->group = g;
    }
  }
  t->ready = true;
  rq_push(t);
  return t->future;
}

V valk_task_spawn(V thunk) { return task_new(thunk, 0); }

static V task_new_c(V (*fn)(V data), V data, size_t stack) {
  V fut = task_new(NIL, stack);
  valk_task *t = ((valk_future *)((Native *)fut)->ptr)->task;
  t->cfn = fn;
  t->cdata = data;
  return fut;
}

V valk_task_spawn_c(V (*fn)(V data), V data) { return task_new_c(fn, data, 0); }


void valk_task_wake(valk_task *t) {
  if (!t->parked || t->ready || t->finished) return;
  t->ready = true;
  rq_push(t);
}

void valk_task_park(valk_cancel_fn hook, void *data) {
  valk_task *t = running;
  if (!t) valk_raise("cannot wait here: not inside a task");
  if (t->pending_cancel) {
    V e = t->pending_cancel;
    t->pending_cancel = NULL;
    if (hook) hook(t, data);
    valk_throw(e);
  }
  t->cancel_hook = hook;
  t->cancel_data = data;
  t->parked = true;
  park_switch(t);
}

/* Second half of a park: t->parked is set (and t may already be queued);
   switch away, and on return raise the abort error if there is one. */
static void park_switch(valk_task *t) {
  valk_fiber_yield();
  t->parked = false;
  t->cancel_hook = NULL;
  t->cancel_data = NULL;
  t->wait_seq++;
  V e = t->wake_error ? t->wake_error : t->pending_cancel;
  t->wake_error = NULL;
  t->pending_cancel = NULL;
  if (e) valk_throw(e);
}

void valk_task_cancel(valk_task *t, V err) {
  if (t->finished) return;
  if (t == running) valk_throw(err);
  if (t->parked && !t->ready) {
    valk_cancel_fn hook = t->cancel_hook;
    t->cancel_hook = NULL;
    if (hook) hook(t, t->cancel_data);
    t->wake_error = err;
    valk_task_wake(t);
    return;
  }
  t->pending_cancel = err; /* not started yet, or woken and about to run */
}

V valk_future_await(V fut) {
  valk_future *f = valk_future_get(fut, "await");
  while (f->state == FUT_PENDING) {
    valk_task *t = running;
    if (!t) valk_raise("await: not inside a task");
    if (f->task == t) valk_raise("await: a task cannot wait for its own future");
    future_add_waiter(f, t);
    valk_task_park(NULL, NULL);
  }
  if (f->state != FUT_DONE) valk_throw(f->value);
  /* a failed process result nobody inspected becomes the awaiter's */
  if (IS(f->value, T_MAP) && valk_map_unchecked(f->value)) valk_unchecked_adopt(f->value);
  return f->value;
}

/* ---- main entry ---- */
/* The main task's stack: 8 MB like a C program's main thread (about
   30,000 levels of non-tail recursion), VALK_MAIN_STACK_MB to change. */
static size_t main_stack_size(void) {
  const char *s = getenv("VALK_MAIN_STACK_MB");
  long mb = s ? atol(s) : 8;
  if (mb < 1) mb = 1;
  if (mb > 4096) mb = 4096;
  return (size_t)mb << 20;
}

V valk_rt_run_main(V (*fn)(V data), V data) {
  V fut = task_new_c(fn, data, main_stack_size());
  uv_run(&loop, UV_RUN_DEFAULT);
  return fut;
}

/* Output of print is buffered by stdio, fully when stdout is a file or a
   pipe: a script that prints and then waits (a sleep, a process) would
   leave its output unwritten until it exits. libuv runs prepare handles
   right before it polls for I/O, which is where the loop may block, so
   stdout is flushed there; a loop that keeps printing without waiting
   still writes in large blocks. */
static void flush_output(uv_prepare_t *h) {
  (void)h;
  fflush(stdout);
}

void valk_rt_init(void) {
  int rc = uv_loop_init(&loop);
  if (!rc) rc = uv_idle_init(&loop, &idle);
  if (!rc) rc = uv_prepare_init(&loop, &flusher);
  if (!rc) rc = uv_prepare_start(&flusher, flush_output);
  if (!rc) uv_unref((uv_handle_t *)&flusher); /* it never keeps the loop running */
  if (rc) {
    fprintf(stderr, "valk: cannot start the event loop: %s\n", uv_strerror(rc));
    exit(1);
  }
  valk_fiber_init();
}

/* ---- builtins ---- */
static V bi_go(V *a, int n) {
  (void)n;
  if (!valk_is_callable(a[0])) valk_raise("go*: expected a function, got %s", valk_type_name(a[0]));
  return valk_task_spawn(a[0]);
}

static V bi_await(V *a, int n) {
  (void)n;
  if (!valk_is_future(a[0])) return a[0]; /* awaiting a plain value gives it back */
  return valk_future_await(a[0]);
}

static V as_future_list(V l, const char *who) {
  if (l == NIL) return EMPTY;
  if (!IS_LIST(l)) valk_raise("%s: expected a list of futures, got %s", who, valk_type_name(l));
  for (V p = l; IS_CONS(p); p = CDR(p)) valk_future_get(CAR(p), who);
  return l;
}

static V bi_await_all(V *a, int n) {
  (void)n;
  V l = as_future_list(a[0], "await-all");
  V out = EMPTY;
  for (V p = l; IS_CONS(p); p = CDR(p)) out = valk_cons(valk_future_await(CAR(p)), out);
  return valk_list_reverse(out);
}

static V bi_await_any(V *a, int n) {
  (void)n;
  V l = as_future_list(a[0], "await-any");
  if (l == EMPTY) valk_raise("await-any: empty list of futures");
  for (;;) {
    for (V p = l; IS_CONS(p); p = CDR(p)) {
      valk_future *f = ((Native *)CAR(p))->ptr;
      if (f->state != FUT_PENDING) return valk_future_await(CAR(p));
    }
    valk_task *t = running;
    if (!t) valk_raise("await-any: not inside a task");
    for (V p = l; IS_CONS(p); p = CDR(p)) future_add_waiter(((Native *)CAR(p))->ptr, t);
    valk_task_park(NULL, NULL);
  }
}

static V bi_future_p(V *a, int n) {
  (void)n;
  return BOOL(valk_is_future(a[0]));
}

static V bi_future_status(V *a, int n) {
  (void)n;
  static const char *names[] = {"pending", "done", "failed", "cancelled"};
  return valk_kw(names[valk_future_get(a[0], "future/status")->state]);
}

static V bi_cancel(V *a, int n) {
  (void)n;
  valk_future *f = valk_future_get(a[0], "cancel");
  if (f->state != FUT_PENDING || !f->task) return VFALSE;
  valk_task_cancel(f->task, valk_make_error("cancelled", "cancelled"));
  return VTRUE;
}

/* A promise is a future that no fiber computes: it settles when
   valk_promise_deliver gives it a value, and waking its waiters costs no
   fiber and no timer. */
V valk_promise_new(void) { return future_new(); }

bool valk_promise_deliver(V p, V v, const char *who) {
  valk_future *f = valk_future_get(p, who);
  if (f->task) valk_raise("%s: the future is computed by a fiber; only a (promise) can be delivered", who);
  if (f->state != FUT_PENDING) return false;
  future_settle(f, FUT_DONE, v);
  return true;
}

/* (promise) */
static V bi_promise(V *a, int n) {
  (void)a; (void)n;
  return valk_promise_new();
}

/* (deliver p v) settles promise p with v; false when p had settled */
static V bi_deliver(V *a, int n) {
  (void)n;
  return valk_promise_deliver(a[0], a[1], "deliver") ? VTRUE : VFALSE;
}

/* sleep: a timer that wakes the task */
typedef struct {
  uv_timer_t h;
  valk_task *t;
} Sleep;

static void free_on_close(uv_handle_t *h) { valk_root_free(h); }

static void sleep_done(uv_timer_t *h) {
  Sleep *s = (Sleep *)h;
  valk_task_wake(s->t);
  uv_close((uv_handle_t *)h, free_on_close);
}

static void sleep_cancel(valk_task *t, void *data) {
  (void)t;
  Sleep *s = data;
  uv_timer_stop(&s->h);
  uv_close((uv_handle_t *)&s->h, free_on_close);
}

void valk_task_sleep(uint64_t ms) {
  if (!running) valk_raise("sleep: not inside a task");
  Sleep *s = valk_root_alloc(sizeof *s);
  s->t = running;
  int rc = uv_timer_init(&loop, &s->h);
  if (rc) {
    valk_root_free(s);
    valk_raise("sleep: %s", uv_strerror(rc));
  }
  if ((rc = uv_timer_start(&s->h, sleep_done, ms, 0))) {
    uv_close((uv_handle_t *)&s->h, free_on_close);
    valk_raise("sleep: %s", uv_strerror(rc));
  }
  valk_task_park(sleep_cancel, s);
}

static V bi_sleep(V *a, int n) {
  double ms = valk_arg_num(a, n, 0, "sleep");
  if (ms < 0) valk_raise("sleep: negative duration %g", ms);
  valk_task_sleep((uint64_t)ms);
  return NIL;
}

/* with-timeout*: cancel the task with a :timeout error when the timer
   fires; that error, recognised by identity, is what leaves the form */
typedef struct {
  uv_timer_t h;
  valk_task *t;
  V err;
} Timeout;

static void timeout_fired(uv_timer_t *h) {
  Timeout *w = (Timeout *)h;
  valk_task_cancel(w->t, w->err);
}

static void call_body(void *ud) {
  V *slot = ud;
  *slot = valk_apply(*slot, NULL, 0);
}

static V bi_with_timeout(V *a, int n) {
  double ms = valk_arg_num(a, n, 0, "with-timeout");
  if (!valk_is_callable(a[1])) valk_raise("with-timeout*: expected a function");
  if (!running) valk_raise("with-timeout: not inside a task");
  Timeout *w = valk_root_alloc(sizeof *w);
  w->t = running;
  w->err = valk_make_error("timeout", "timeout after %g ms", ms);
  int rc = uv_timer_init(&loop, &w->h);
  if (rc) {
    valk_root_free(w);
    valk_raise("with-timeout: %s", uv_strerror(rc));
  }
  if ((rc = uv_timer_start(&w->h, timeout_fired, ms < 0 ? 0 : (uint64_t)ms, 0))) {
    uv_close((uv_handle_t *)&w->h, free_on_close);
    valk_raise("with-timeout: %s", uv_strerror(rc));
  }
  V slot = a[1];
  V err = valk_pcall(call_body, &slot);
  uv_timer_stop(&w->h);
  uv_close((uv_handle_t *)&w->h, free_on_close);
  if (running->pending_cancel == w->err) running->pending_cancel = NULL;
  if (err) valk_throw(err);
  return slot;
}

const char *valk_dyn_path(const char *p) {
  V aliases = valk_dyn(valk_kw("path-aliases"), NIL);
  if (IS(aliases, T_MAP)) {
    V k, dir;
    for (uint32_t i = 0; valk_map_next(aliases, &i, &k, &dir);) {
      if (!IS(k, T_STR) || !IS(dir, T_STR)) continue;
      size_t n = AS_STR(k)->len;
      if (n && strncmp(p, AS_STR(k)->s, n) == 0 && (p[n] == '\0' || p[n] == '/'))
        return AS_STR(valk_strf("%s%s", AS_STR(dir)->s, p + n))->s;
    }
  }
  V cwd = valk_dyn(valk_kw("cwd"), NIL);
  if (p[0] != '/' && IS(cwd, T_STR)) return AS_STR(valk_strf("%s/%s", AS_STR(cwd)->s, p))->s;
  return p;
}

/* (yield) lets every other ready fiber run, then continues */
static V bi_yield(V *a, int n) {
  (void)a; (void)n;
  valk_task *t = running;
  if (!t) valk_raise("yield: not inside a task");
  t->parked = true;
  valk_task_wake(t);
  park_switch(t);
  return NIL;
}

static V bi_fiber_count(V *a, int n) {
  (void)a; (void)n;
  return valk_int((int64_t)valk_fiber_count());
}

static const valk_reg rt_fns[] = {
    {"go*", bi_go, 1, 1, "(go* f) runs f in a new fiber; returns its future (see the go macro). Under a :fibers binding (a hash-map) the future is a key of that map until the fiber finishes"},
    {"await", bi_await, 1, 1, "(await f) waits for future f; its value, or raises its error"},
    {"await-all", bi_await_all, 1, 1, "(await-all [f...]) list of the values of all futures"},
    {"await-any", bi_await_any, 1, 1, "(await-any [f...]) value of the first future to settle"},
    {"future?", bi_future_p, 1, 1, "(future? x)"},
    {"future/status", bi_future_status, 1, 1, "(future/status f) :pending :done :failed or :cancelled"},
    {"cancel", bi_cancel, 1, 1, "(cancel f) cancels the fiber behind f (its processes are killed)"},
    {"promise", bi_promise, 0, 0, "(promise) a pending future that (deliver p v) settles; await waits for it"},
    {"deliver", bi_deliver, 2, 2, "(deliver p v) settles promise p with v and wakes its waiters; false when it had settled"},
    {"sleep", bi_sleep, 1, 1, "(sleep ms) suspends the calling fiber for ms milliseconds"},
    {"with-timeout*", bi_with_timeout, 2, 2, "(with-timeout* ms f) calls f; raises :timeout after ms"},
    {"fiber/count", bi_fiber_count, 0, 0, "(fiber/count) number of live fibers"},
    {"yield", bi_yield, 0, 0, "(yield) lets the other ready fibers run first"},
    {NULL, NULL, 0, 0, NULL}};

void valk_rt_register(void) { valk_register(rt_fns); }
