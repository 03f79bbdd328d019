/*
 * logsink.c - log files that lines are appended to as they happen, and
 * redaction.
 *
 * A log sink is an append-only file. Each line written gets a timestamp
 * and a stream name ("2026-11-24T10:00:00.123Z stdout make: ok"), and
 * every string of the sink's redaction set (given at log/open) is
 * replaced by ***, so a secret never reaches a log even when a process
 * printed it across two writes (lines are redacted whole). The set is a
 * list, or a map whose keys are the strings: a map is read at every line,
 * so strings put! into it later are redacted from then on (lib/ci keeps
 * a run's secrets that way; which strings are secret is its policy).
 * Writes are plain write(2) calls with O_APPEND: a reader following the
 * file sees each line as soon as it is written.
 *
 * Output of print goes to the sink bound to :print (dyn.c), through the
 * language's print hook.
 *
 * A labelled view (log/labelled) is a sink that writes into another with
 * "[label] " before each line's text: the parallel branches of a CI step
 * each write the step's log through their own view.
 *
 * Following a log without re-reading it: (log/read path offset) gives the
 * whole lines from a byte offset and the offset after them, and
 * (log/wait log offset) parks the calling fiber until the sink has
 * written beyond offset or is closed. The waiters await one promise of
 * the sink's, delivered by its next line or its close (a waiter that was
 * cancelled meanwhile is skipped, as for any future).
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
  V redact; /* list or map of strings replaced by ***, or NIL */
  int64_t size;           /* bytes in the file: at open plus every line since */
  V next;                 /* promise the fibers in log/wait await, or NULL */
  V parent;               /* a labelled view's sink (log/labelled), or NULL */
  V label;                /* the view's "[label] " prefix */
} Sink;

/* The non-empty strings of secrets (a list or a map's keys) in a new
   array, longest first so that a string containing another is redacted
   whole; *k gets their number. */
static V *redact_items(V secrets, int *k) {
  size_t cap = IS(secrets, T_MAP) ? AS_MAP(secrets)->count : valk_list_len(secrets);
  V *out = valk_alloc((cap + 1) * sizeof *out);
  int n = 0;
  V key, val;
  if (IS(secrets, T_MAP)) {
    for (uint32_t i = 0; valk_map_next(secrets, &i, &key, &val);)
      if (IS(key, T_STR) && AS_STR(key)->len) out[n++] = key;
  } else {
    for (V l = secrets; IS_CONS(l); l = CDR(l))
      if (IS(CAR(l), T_STR) && AS_STR(CAR(l))->len) out[n++] = CAR(l);
  }
  for (int i = 1; i < n; i++) /* insertion sort: sets are small */
    for (int j = i; j > 0 && AS_STR(out[j])->len > AS_STR(out[j - 1])->len; j--) {
      V t = out[j];
      out[j] = out[j - 1];
      out[j - 1] = t;
    }
  *k = n;
  return out;
}


/* Wakes the fibers in log/wait: the sink's promise is delivered, and
   the next wait makes a new one. */
static void sink_wake(Sink *s) {
  V p = s->next;
  s->next = NULL;
  valk_promise_deliver(p, NIL, "log/write");
}

V valk_redact(V text, V secrets) {
  if (!IS(text, T_STR) || !(IS(secrets, T_MAP) ? AS_MAP(secrets)->count : IS_CONS(secrets))) return text;
  int k;
  V *items = redact_items(secrets, &k);
  for (int i = 0; i < k; i++) {
    Str *s = AS_STR(items[i]), *t = AS_STR(text);
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

/* An unreachable sink closes its file (log/close sets fd to -1 first). */
static void sink_finalize(void *ptr) {
  Sink *s = ptr;
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
}

static void check_redact_set(V v, const char *who) {
  if (v == NIL || IS(v, T_MAP) || v == EMPTY) return;
  if (!IS_CONS(v)) valk_raise("%s: the redaction set must be a list or a map of strings, got %s", who, valk_type_name(v));
  for (V l = v; IS_CONS(l); l = CDR(l))
    if (!IS(CAR(l), T_STR)) valk_raise("%s: the redaction list must hold strings, got %s", who, valk_repr_c(CAR(l)));
}

static const valk_native_type sink_type = {"log", sink_finalize};

static Sink *sink_arg(V v, const char *who) { return valk_native_check(v, &sink_type, who, 0); }

bool valk_is_log(V v) { return valk_native_is(v, &sink_type); }

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
  V line = valk_str(text, n);
  if (s->parent) { /* a labelled view: the line goes to its sink, prefixed */
    line = valk_strf("%s%s", AS_STR(s->label)->s, AS_STR(line)->s);
    s = ((Native *)s->parent)->ptr;
  }
  if (s->fd < 0) return;
  V masked = valk_redact(line, s->redact);
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
  if (s->next) sink_wake(s);
}

/* (log/open path [redact]) an append-only log file, created when
   missing; redact is the sink's redaction set */
static V bi_open(V *a, int n) {
  Str *path = valk_arg_str(a, n, 0, "log/open");
  V redact = n > 1 ? a[1] : NIL;
  check_redact_set(redact, "log/open");
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
  s->redact = redact;
  return valk_native(&sink_type, s, (V)path);
}

/* (log/labelled log label) a view of log: its lines go to log with
   "[label] " before their text. The view shares log's file, size and
   waiters; closing the view detaches it and leaves log open. */
static V bi_labelled(V *a, int n) {
  (void)n;
  Sink *base = sink_arg(a[0], "log/labelled");
  V root = base->parent ? base->parent : a[0];
  Sink *s = valk_alloc(sizeof *s);
  s->fd = -1;
  s->path = base->path;
  s->parent = root;
  V label = IS(a[1], T_STR) ? a[1] : valk_display(a[1]);
  s->label = valk_strf("%s[%s] ", base->parent ? AS_STR(base->label)->s : "", AS_STR(label)->s);
  return valk_native(&sink_type, s, s->path);
}

/* One stamped line per line of text. */
static void write_lines(V sink, const char *stream, const char *text, size_t len) {
  const char *p = text, *end = text + len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t k = nl ? (size_t)(nl - p) : (size_t)(end - p);
    valk_log_line(sink, stream, p, k);
    p += k + (nl ? 1 : 0);
  }
}

/* (log/write log text [stream]) one stamped line per line of text */
static V bi_write(V *a, int n) {
  sink_arg(a[0], "log/write");
  Str *t = AS_STR(valk_display(a[1]));
  const char *stream = n > 2 ? valk_key_name(a[2], "log/write", "the stream") : "log";
  write_lines(a[0], stream, t->s, t->len);
  return NIL;
}

static V bi_close(V *a, int n) {
  (void)n;
  Sink *s = sink_arg(a[0], "log/close");
  if (s->parent) { /* a view: detach it, its sink stays open */
    s->parent = NULL;
    return NIL;
  }
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  if (s->next) sink_wake(s);
  return NIL;
}

/* (log/wait log offset) parks until the log's file is longer than offset
   bytes or the log is closed; the file's size then (not beyond offset
   when the log was closed) */
static V bi_wait(V *a, int n) {
  Sink *s = sink_arg(a[0], "log/wait");
  if (s->parent) s = ((Native *)s->parent)->ptr;
  int64_t off = valk_arg_int(a, n, 1, "log/wait");
  while (s->fd >= 0 && s->size <= off) {
    if (!valk_task_current()) valk_raise("log/wait: not inside a task");
    if (!s->next) s->next = valk_promise_new();
    valk_future_await(s->next);
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

/* (str/redact text secrets) */
static V bi_redact(V *a, int n) {
  (void)n;
  check_redact_set(a[1], "str/redact");
  return valk_redact(IS(a[0], T_STR) ? a[0] : valk_display(a[0]), a[1]);
}

/* print inside a fiber with a log sink bound to :print goes to that log */
static bool print_to_log(const char *text, size_t len) {
  V log = valk_dyn(valk_kw("print"), NIL);
  if (!valk_is_log(log)) return false;
  write_lines(log, "print", text, len);
  return true;
}

static const valk_reg log_fns[] = {
    {"log/open", bi_open, 1, 2, "(log/open path [redact]) an append-only log file; redact is a list, or a map whose keys are the strings, replaced by *** in every line (a map is read at each line)"},
    {"log/write", bi_write, 2, 3, "(log/write log text [stream]) appends stamped, redacted lines"},
    {"log/labelled", bi_labelled, 2, 2, "(log/labelled log label) a view of log whose lines read \"[label] text\"; closing the view leaves log open"},
    {"log/close", bi_close, 1, 1, "(log/close log) closes the file"},
    {"log/path", bi_path, 1, 1, "(log/path log) the file's path"},
    {"str/redact", bi_redact, 2, 2, "(str/redact text secrets) text with each string of secrets (a list, or a map's keys) replaced by ***, longer ones first"},
    {"log/wait", bi_wait, 2, 2, "(log/wait log offset) waits until the log's file is longer than offset bytes or the log is closed; the file's size"},
    {"log/read", bi_read, 2, 2, "(log/read path offset) {:lines [...] :next n}: the whole lines from byte offset on, and the offset after them"},
    {NULL, NULL, 0, 0, NULL}};

void valk_log_register(void) {
  valk_register(log_fns);
  valk_print_hook = print_to_log;
}
