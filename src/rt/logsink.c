/*
 * logsink.c - log files that lines are appended to as they happen, and
 * secret masking.
 *
 * A log sink is an append-only file. Each line written gets a timestamp
 * and a stream name ("2026-11-24T10:00:00.123Z stdout make: ok"), and
 * every registered secret in it is replaced by ***, so a secret never
 * reaches a log even when a process printed it across two writes (lines
 * are masked whole). Writes are plain write(2) calls with O_APPEND: a
 * reader following the file sees each line as soon as it is written.
 *
 * Following a log without re-reading it: (log/read path offset) gives the
 * whole lines from a byte offset and the offset after them, and
 * (log/wait log offset) parks the calling fiber until the sink has
 * written beyond offset or is closed. A sink wakes its waiters on every
 * line and on close; a waiter that was cancelled meanwhile is skipped
 * (its wait sequence has moved on), as for futures.
 */
#include "rt.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  int fd;
  V path;
  int64_t size;           /* bytes in the file: at open plus every line since */
  valk_task **waiters;    /* fibers in log/wait, with their wait sequence */
  uint64_t *waiter_seq;
  int nwaiters, capwaiters;
} Sink;

static void sink_add_waiter(Sink *s, valk_task *t) {
  if (s->nwaiters == s->capwaiters) {
    int ncap = s->capwaiters ? s->capwaiters * 2 : 4;
    valk_task **w = valk_alloc((size_t)ncap * sizeof *w);
    uint64_t *q = valk_alloc_atomic((size_t)ncap * sizeof *q);
    if (s->nwaiters) {
      memcpy(w, s->waiters, (size_t)s->nwaiters * sizeof *w);
      memcpy(q, s->waiter_seq, (size_t)s->nwaiters * sizeof *q);
    }
    s->waiters = w;
    s->waiter_seq = q;
    s->capwaiters = ncap;
  }
  s->waiters[s->nwaiters] = t;
  s->waiter_seq[s->nwaiters] = valk_task_seq(t);
  s->nwaiters++;
}

static void sink_wake(Sink *s) {
  for (int i = 0; i < s->nwaiters; i++)
    if (s->waiters[i]->parked && valk_task_seq(s->waiters[i]) == s->waiter_seq[i]) valk_task_wake(s->waiters[i]);
  s->waiters = NULL;
  s->waiter_seq = NULL;
  s->nwaiters = s->capwaiters = 0;
}

static V secrets = NULL; /* list of strings, longest first */

V valk_mask_secrets(V text) {
  if (!secrets || secrets == EMPTY || !IS(text, T_STR)) return text;
  for (V l = secrets; IS_CONS(l); l = CDR(l)) {
    Str *s = AS_STR(CAR(l)), *t = AS_STR(text);
    if (!memmem(t->s, t->len, s->s, s->len)) continue;
    Buf b;
    buf_init(&b, t->len);
    const char *p = t->s, *end = t->s + t->len;
    for (const char *q; (q = memmem(p, (size_t)(end - p), s->s, s->len)); p = q + s->len) {
      buf_put(&b, p, (size_t)(q - p));
      buf_puts(&b, "***");
    }
    buf_put(&b, p, (size_t)(end - p));
    text = buf_to_str(&b);
  }
  return text;
}

static Sink *sink_arg(V v, const char *who) {
  if (!IS(v, T_NATIVE) || strcmp(((Native *)v)->tag, "log")) valk_raise("%s: expected a log, got %s", who, valk_type_name(v));
  return ((Native *)v)->ptr;
}

bool valk_is_log(V v) { return IS(v, T_NATIVE) && !strcmp(((Native *)v)->tag, "log"); }

static void stamp(char *out, size_t n) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + k, n - k, ".%03dZ", (int)(tv.tv_usec / 1000));
}

/* Writes one line (no newline inside) to the sink, masked and stamped. */
void valk_log_line(V sink, const char *stream, const char *text, size_t n) {
  Sink *s = ((Native *)sink)->ptr;
  if (s->fd < 0) return;
  V masked = valk_mask_secrets(valk_str(text, n));
  char ts[40];
  stamp(ts, sizeof ts);
  Buf b;
  buf_init(&b, AS_STR(masked)->len + 64);
  buf_printf(&b, "%s %s ", ts, stream);
  buf_put(&b, AS_STR(masked)->s, AS_STR(masked)->len);
  buf_putc(&b, '\n');
  const char *p = b.s;
  size_t left = b.len;
  while (left) {
    ssize_t k = write(s->fd, p, left);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break; /* a full disk loses log lines, not the run */
    p += k;
    left -= (size_t)k;
    s->size += k;
  }
  if (s->nwaiters) sink_wake(s);
}

/* (log/open path) an append-only log file, created when missing */
static V bi_open(V *a, int n) {
  Str *path = valk_arg_str(a, n, 0, "log/open");
  int fd = open(path->s, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) valk_raise("log/open: %s: %s", path->s, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    valk_raise("log/open: %s: %s", path->s, strerror(e));
  }
  Sink *s = valk_alloc(sizeof *s);
  s->fd = fd;
  s->path = (V)path;
  s->size = (int64_t)st.st_size;
  return valk_native("log", s, (V)path);
}

/* (log/write log text [stream]) one stamped line per line of text */
static V bi_write(V *a, int n) {
  sink_arg(a[0], "log/write");
  Str *t = AS_STR(valk_display(a[1]));
  const char *stream = n > 2 ? (IS(a[2], T_KW) ? AS_SYM(a[2])->name : valk_arg_str(a, n, 2, "log/write")->s) : "log";
  const char *p = t->s, *end = t->s + t->len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t k = nl ? (size_t)(nl - p) : (size_t)(end - p);
    valk_log_line(a[0], stream, p, k);
    p += k + (nl ? 1 : 0);
  }
  return NIL;
}

static V bi_close(V *a, int n) {
  (void)n;
  Sink *s = sink_arg(a[0], "log/close");
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  if (s->nwaiters) sink_wake(s);
  return NIL;
}

/* (log/wait log offset) parks until the log's file is longer than offset
   bytes or the log is closed; the file's size then (not beyond offset
   when the log was closed) */
static V bi_wait(V *a, int n) {
  Sink *s = sink_arg(a[0], "log/wait");
  int64_t off = valk_arg_int(a, n, 1, "log/wait");
  while (s->fd >= 0 && s->size <= off) {
    valk_task *t = valk_task_current();
    if (!t) valk_raise("log/wait: not inside a task");
    sink_add_waiter(s, t);
    valk_task_park(NULL, NULL);
  }
  return valk_int(s->size);
}

/* (log/read path offset) {:lines [...] :next n}: the whole lines of the
   file from byte offset on, and the offset after the last of them */
static V bi_read(V *a, int n) {
  Str *path = valk_arg_str(a, n, 0, "log/read");
  int64_t off = valk_arg_int(a, n, 1, "log/read");
  if (off < 0) valk_raise("log/read: offset must be 0 or more, got %lld", (long long)off);
  int fd = open(path->s, O_RDONLY | O_CLOEXEC);
  if (fd < 0) valk_raise("log/read: %s: %s", path->s, strerror(errno));
  Buf b;
  buf_init(&b, 4096);
  char chunk[65536];
  for (;;) {
    ssize_t k = pread(fd, chunk, sizeof chunk, (off_t)(off + (int64_t)b.len));
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      int e = errno;
      close(fd);
      valk_raise("log/read: %s: %s", path->s, strerror(e));
    }
    if (k == 0) break;
    buf_put(&b, chunk, (size_t)k);
  }
  close(fd);
  V rev = EMPTY;
  size_t start = 0;
  for (size_t i = 0; i < b.len; i++)
    if (b.s[i] == '\n') {
      rev = valk_cons(valk_str(b.s + start, i - start), rev);
      start = i + 1;
    }
  V lines = EMPTY;
  for (V l = rev; IS_CONS(l); l = CDR(l)) lines = valk_cons(CAR(l), lines);
  V m = valk_map_new(2);
  valk_map_set(m, valk_kw("lines"), lines);
  valk_map_set(m, valk_kw("next"), valk_int(off + (int64_t)start));
  return m;
}

static V bi_path(V *a, int n) {
  (void)n;
  return sink_arg(a[0], "log/path")->path;
}

/* (secret/register value) masks value as *** in every log from now on */
static V bi_register(V *a, int n) {
  Str *v = valk_arg_str(a, n, 0, "secret/register");
  if (!v->len) return a[0];
  if (!secrets) secrets = EMPTY;
  for (V l = secrets; IS_CONS(l); l = CDR(l))
    if (valk_equal(CAR(l), a[0])) return a[0];
  /* keep longest first, so a secret containing another is masked whole */
  V before = EMPTY, rest = secrets;
  while (IS_CONS(rest) && AS_STR(CAR(rest))->len >= v->len) {
    before = valk_cons(CAR(rest), before);
    rest = CDR(rest);
  }
  V out = valk_cons(a[0], rest);
  for (V l = before; IS_CONS(l); l = CDR(l)) out = valk_cons(CAR(l), out);
  secrets = out;
  return a[0];
}

static V bi_mask(V *a, int n) {
  (void)n;
  return valk_mask_secrets(IS(a[0], T_STR) ? a[0] : valk_display(a[0]));
}

/* print inside a fiber whose run context has a :log goes to that log */
static bool print_to_log(const char *text, size_t len) {
  V ctx = valk_task_context();
  if (!IS(ctx, T_MAP)) return false;
  V log = valk_map_get(ctx, valk_kw("log"), NIL);
  if (!valk_is_log(log)) return false;
  V args[3] = {log, valk_str(text, len), valk_kw("print")};
  valk_apply(valk_lookup(valk_sym("log/write"), NULL), args, 3);
  return true;
}

static const valk_reg log_fns[] = {
    {"log/open", bi_open, 1, 1, "(log/open path) an append-only log file"},
    {"log/write", bi_write, 2, 3, "(log/write log text [stream]) appends stamped, secret-masked lines"},
    {"log/close", bi_close, 1, 1, "(log/close log) closes the file"},
    {"log/path", bi_path, 1, 1, "(log/path log) the file's path"},
    {"log/wait", bi_wait, 2, 2, "(log/wait log offset) waits until the log's file is longer than offset bytes or the log is closed; the file's size"},
    {"log/read", bi_read, 2, 2, "(log/read path offset) {:lines [...] :next n}: the whole lines from byte offset on, and the offset after them"},
    {"secret/register", bi_register, 1, 1, "(secret/register value) masks value as *** in logs and secret/mask"},
    {"secret/mask", bi_mask, 1, 1, "(secret/mask text) text with every registered secret replaced by ***"},
    {NULL, NULL, 0, 0, NULL}};

void valk_log_register(void) {
  valk_register(log_fns);
  valk_print_hook = print_to_log;
}
