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
 */
#include "rt.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  int fd;
  V path;
} Sink;

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

/* An unreachable sink closes its file (log/close sets fd to -1 first). */
static void sink_finalize(void *ptr) {
  Sink *s = ptr;
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
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
    if (k <= 0) return; /* a full disk loses log lines, not the run */
    p += k;
    left -= (size_t)k;
  }
}

/* (log/open path) an append-only log file, created when missing */
static V bi_open(V *a, int n) {
  Str *path = valk_arg_str(a, n, 0, "log/open");
  int fd = open(path->s, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) valk_raise("log/open: %s: %s", path->s, strerror(errno));
  Sink *s = valk_alloc(sizeof *s);
  s->fd = fd;
  s->path = (V)path;
  return valk_native(&sink_type, s, (V)path);
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
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  return NIL;
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
  write_lines(log, "print", text, len);
  return true;
}

static const valk_reg log_fns[] = {
    {"log/open", bi_open, 1, 1, "(log/open path) an append-only log file"},
    {"log/write", bi_write, 2, 3, "(log/write log text [stream]) appends stamped, secret-masked lines"},
    {"log/close", bi_close, 1, 1, "(log/close log) closes the file"},
    {"log/path", bi_path, 1, 1, "(log/path log) the file's path"},
    {"secret/register", bi_register, 1, 1, "(secret/register value) masks value as *** in logs and secret/mask"},
    {"secret/mask", bi_mask, 1, 1, "(secret/mask text) text with every registered secret replaced by ***"},
    {NULL, NULL, 0, 0, NULL}};

void valk_log_register(void) {
  valk_register(log_fns);
  valk_print_hook = print_to_log;
}
