/*
 * repl.c - the interactive read-eval-print loop, on the event loop.
 *
 * Lines are read by a libuv worker thread (libedit's readline blocks), so
 * the loop keeps running other fibers while the REPL waits for input:
 * after (def {f} (spawn "sleep" "3")), (+ 1 2) answers at once. The REPL
 * task parks until the worker delivers a line. An entry may span lines:
 * while the reader reports :incomplete, the REPL asks for more. Results
 * print with repr; errors print with location and backtrace and the
 * session goes on.
 *
 * Ctrl-C: at the prompt it drops the entry (the signal is redirected to
 * the reading thread so readline returns); during an evaluation it stops
 * it: a running evaluation sees valk_interrupted, a waiting one (await,
 * exec, sleep) is cancelled through an async handle on the loop.
 * The worker thread never touches the GC heap: it only fills malloc()ed
 * lines that the loop thread turns into strings.
 *
 * Leaving (Ctrl-D, or (exit) typed at the prompt) first asks the Valkyria
 * side: repl/-may-leave? (lib/core.valk) runs the hooks libraries
 * registered with repl/on-leave, told whether they may ask the user (the
 * REPL is on a terminal); one answering false keeps the session. The REPL
 * names no library: lib/ci registers the hook that asks about runs in
 * flight, using repl/read-line, which this file provides.
 */
#include "repl.h"

#include "rt.h"

#include <editline/readline.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  uv_work_t req;
  const char *prompt;
  bool tty;
  char *line;      /* malloc()ed, NULL at end of input or on Ctrl-C */
  bool interrupted;
  valk_task *task;
} LineReq;

static bool repl_tty;
static pthread_t reader;
static volatile sig_atomic_t reading;
static uv_async_t interrupt_async;
static valk_task *repl_task;
static volatile bool evaluating;

static void on_sigint(int sig) {
  (void)sig;
  valk_interrupted = 1;
  if (reading) {
    if (!pthread_equal(pthread_self(), reader)) pthread_kill(reader, SIGINT);
    return; /* the reader's read() fails with EINTR and readline returns */
  }
  uv_async_send(&interrupt_async);
}

static void on_interrupt(uv_async_t *h) {
  (void)h;
  if (evaluating && repl_task && repl_task->parked) {
    valk_interrupted = 0;
    valk_task_cancel(repl_task, valk_make_error("interrupted", "interrupted"));
  }
}

static void read_work(uv_work_t *w) {
  LineReq *r = w->data;
  reader = pthread_self();
  reading = 1;
  if (r->tty) {
    r->line = readline(r->prompt);
  } else {
    char buf[65536];
    r->line = fgets(buf, sizeof buf, stdin) ? strdup(buf) : NULL;
    if (r->line) {
      size_t n = strlen(r->line);
      if (n && r->line[n - 1] == '\n') r->line[n - 1] = '\0';
    }
  }
  reading = 0;
  r->interrupted = !r->line && valk_interrupted;
}

static void read_done(uv_work_t *w, int status) {
  (void)status;
  LineReq *r = w->data;
  valk_task_wake(r->task);
}

/* Reads one line without blocking the loop; NULL at end of input. Sets
   *interrupted when Ctrl-C ended the read. */
static V read_line(bool tty, const char *prompt, bool *interrupted) {
  LineReq *r = valk_root_alloc(sizeof *r);
  r->prompt = prompt;
  r->tty = tty;
  r->task = valk_task_current();
  r->req.data = r;
  int rc = uv_queue_work(valk_loop(), &r->req, read_work, read_done);
  if (rc != 0) {
    valk_root_free(r);
    valk_raise("repl: cannot read input: %s", uv_strerror(rc));
  }
  valk_task_park(NULL, NULL);
  V line = r->line ? valk_cstr(r->line) : NULL;
  *interrupted = r->interrupted;
  free(r->line);
  valk_root_free(r);
  return line;
}

/* (repl/read-line [prompt]) a line the user types, nil at end of input or
   on Ctrl-C; for leave hooks asking a question */
static V bi_read_line(V *a, int n) {
  const char *prompt = n ? valk_arg_str(a, n, 0, "repl/read-line")->s : "";
  if (!repl_task) valk_raise("repl/read-line: the REPL is not running");
  fflush(stdout);
  bool interrupted;
  V line = read_line(repl_tty, prompt, &interrupted);
  if (interrupted) valk_interrupted = 0;
  return line ? line : NIL;
}

static const valk_reg repl_fns[] = {
    {"repl/read-line", bi_read_line, 0, 1, "(repl/read-line [prompt]) a line typed at the REPL, nil at end of input"},
    {NULL, NULL, 0, 0, NULL}};

/* (exit code) typed at the prompt leaves the loop (after the leave hooks)
   instead of ending the program at once; elsewhere it ends it. */
static void on_exit_call(int code) {
  if (!evaluating || valk_task_current() != repl_task) return;
  V err = valk_make_error("exit", "exit %d", code);
  AS_ERR(err)->data = valk_int(code);
  valk_throw(err);
}

typedef struct { bool tty; V answer; } LeaveAsk;
static void ask_hooks(void *ud) {
  LeaveAsk *q = ud;
  V f = valk_lookup(valk_sym("repl/-may-leave?"), NULL);
  q->answer = f ? valk_call(f, 1, q->tty ? VTRUE : VFALSE) : VTRUE;
}

/* True when the leave hooks let the session end; a hook that fails is
   reported and does not keep it. */
static bool may_leave(bool tty) {
  LeaveAsk q = {tty, VTRUE};
  V err = valk_pcall(ask_hooks, &q);
  if (err) {
    Str *msg = AS_STR(valk_error_report(err));
    fwrite(msg->s, 1, msg->len, stderr);
    return true;
  }
  return valk_truthy(q.answer);
}

typedef struct { Reader *r; V *out; } ReadJob;
static void read_next(void *ud) {
  ReadJob *j = ud;
  *j->out = valk_read(j->r);
}

typedef struct {
  Buf *entry;
  bool tty;
  bool incomplete;
} Entry;

/* Parses the entry so far; unless it stops inside a form, evaluates each
   form and prints its readable form. Runs under valk_pcall. */
static void run_entry(void *ud) {
  Entry *e = ud;
  Reader r;
  valk_reader_init(&r, e->entry->s, e->entry->len, "<repl>");
  V forms = EMPTY;
  V err = NULL;
  e->incomplete = false;
  for (;;) {
    V f;
    err = valk_pcall(read_next, &(ReadJob){&r, &f});
    if (err || !f) break;
    forms = valk_cons(f, forms);
  }
  if (err && AS_ERR(err)->kind == valk_kw("incomplete")) {
    e->incomplete = true;
    return;
  }
  if (e->tty && e->entry->len > 1) {
    e->entry->s[e->entry->len - 1] = '\0';
    add_history(e->entry->s);
  }
  e->entry->len = 0;
  if (err) valk_throw(err);
  for (V l = valk_list_reverse(forms); IS_CONS(l); l = CDR(l)) {
    V v = valk_eval(CAR(l), NULL);
    Str *s = AS_STR(valk_repr(v));
    fwrite(s->s, 1, s->len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
  }
}

int valk_repl(void) {
  bool tty = isatty(0) && isatty(1);
  repl_tty = tty;
  int status = -1;
  char hist[4096] = "";
  const char *home = getenv("HOME");
  if (tty && home) {
    snprintf(hist, sizeof hist, "%s/.valk_history", home);
    using_history();
    read_history(hist);
  }
  repl_task = valk_task_current();
  int rc = uv_async_init(valk_loop(), &interrupt_async, on_interrupt);
  if (rc != 0) { /* no handle to close; the REPL cannot take Ctrl-C safely */
    fprintf(stderr, "valk: repl: cannot watch for Ctrl-C: %s\n", uv_strerror(rc));
    return 1;
  }
  valk_register(repl_fns);
  valk_exit_hook = on_exit_call;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint; /* no SA_RESTART: a blocked read must fail */
  sigaction(SIGINT, &sa, NULL);
  if (tty) printf("Valkyria %s - (exit) or Ctrl-D to quit\n", VALK_VERSION);

  Buf entry;
  buf_init(&entry, 256);
  for (;;) {
    bool interrupted;
    V line = read_line(tty, entry.len ? "  ... " : "valk> ", &interrupted);
    if (!line && interrupted) { /* Ctrl-C at the prompt drops the entry */
      valk_interrupted = 0;
      entry.len = 0;
      if (tty) printf("\n");
      continue;
    }
    if (!line) { /* Ctrl-D: a hook may keep a session on a terminal */
      if (may_leave(tty) || !tty) break;
      entry.len = 0;
      continue;
    }
    buf_put(&entry, AS_STR(line)->s, AS_STR(line)->len);
    buf_putc(&entry, '\n');
    Entry e = {&entry, tty, false};
    valk_interrupted = 0;
    evaluating = true;
    valk_S->interruptible = true;
    V err = valk_pcall(run_entry, &e);
    valk_S->interruptible = false;
    evaluating = false;
    if (err && AS_ERR(err)->kind == valk_kw("exit")) {
      entry.len = 0;
      if (may_leave(tty)) {
        status = (int)valk_int_get(AS_ERR(err)->data);
        break;
      }
    } else if (err) {
      entry.len = 0;
      fflush(stdout);
      Str *msg = AS_STR(valk_error_report(err));
      fwrite(msg->s, 1, msg->len, stderr);
      fflush(stderr);
    }
  }
  if (tty) {
    printf("\n");
    if (hist[0]) write_history(hist);
  }
  valk_exit_hook = NULL;
  repl_task = NULL;
  uv_close((uv_handle_t *)&interrupt_async, NULL);
  signal(SIGINT, SIG_DFL);
  return status;
}
