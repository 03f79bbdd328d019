/*
 * env.c - process environment and clocks: env/get, env/set, env/list,
 * env, time/now, time/ms, time/format.
 */
#include "sys.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *name_arg(V *a, int n, int i, const char *who) {
  if (i >= n) valk_raise("%s: missing argument %d", who, i + 1);
  const char *name = valk_key_name(a[i], who, "the variable name");
  if (!IS(a[i], T_STR)) return name;
  Str *s = AS_STR(a[i]);
  if (!s->len || memchr(s->s, '=', s->len) || memchr(s->s, '\0', s->len))
    valk_raise("%s: invalid variable name %s", who, valk_repr_c(a[i]));
  return s->s;
}

/* (env/get name [default]): the map bound to :env first (layered over
   the process environment, as for spawned processes), then the process
   environment */
static V bi_get(V *a, int n) {
  const char *name = name_arg(a, n, 0, "env/get");
  V e = valk_dyn(valk_kw("env"), NIL);
  if (IS(e, T_MAP)) {
    V v = valk_map_get(e, valk_kw(name), NULL);
    if (!v) v = valk_map_get(e, valk_cstr(name), NULL);
    if (v) return v == NIL ? (n > 1 ? a[1] : NIL) : valk_display(v);
  }
  const char *v = getenv(name);
  return v ? valk_cstr(v) : n > 1 ? a[1] : NIL;
}

/* (env/set name value); a nil value unsets */
static V bi_set(V *a, int n) {
  const char *name = name_arg(a, n, 0, "env/set");
  if (a[1] == NIL) {
    unsetenv(name);
    return NIL;
  }
  Str *v = AS_STR(valk_display(a[1]));
  if (memchr(v->s, '\0', v->len)) valk_raise("env/set: value of %s contains a NUL byte", name);
  if (setenv(name, v->s, 1) != 0) valk_raise("env/set: cannot set %s", name);
  return (V)v;
}

/* (env/list) {{"NAME" "value"} ...} */
static V bi_list(V *a, int n) {
  (void)a; (void)n;
  V out = EMPTY;
  for (char **e = environ; *e; e++) {
    char *eq = strchr(*e, '=');
    if (!eq) continue;
    out = valk_cons(valk_list(2, valk_str(*e, (size_t)(eq - *e)), valk_cstr(eq + 1)), out);
  }
  return valk_list_reverse(out);
}

static V bi_now(V *a, int n) {
  (void)a; (void)n;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return valk_float((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static V bi_ms(V *a, int n) {
  (void)a; (void)n;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return valk_int((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static V bi_monotonic(V *a, int n) {
  (void)a; (void)n;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return valk_float((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* (time/format seconds [strftime-format] [:local true]) UTC by default;
   the default format is ISO 8601 with milliseconds */
static V bi_format(V *a, int n) {
  double t = valk_arg_num(a, n, 0, "time/format");
  int npos = valk_positional_count(a, n, 0);
  const char *fmt = npos > 1 ? valk_arg_str(a, n, 1, "time/format")->s : NULL;
  bool local = valk_truthy(valk_kwarg(a, n, npos, "local", VFALSE));
  if (!isfinite(t)) valk_raise("time/format: time must be finite");
  time_t secs = (time_t)floor(t);
  struct tm tm;
  if (!(local ? localtime_r(&secs, &tm) : gmtime_r(&secs, &tm))) valk_raise("time/format: time out of range");
  char buf[512];
  size_t len;
  if (fmt) {
    len = strftime(buf, sizeof buf, fmt, &tm);
    if (len == 0 && *fmt) valk_raise("time/format: result too long or empty for format %s", fmt);
  } else {
    len = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    int ms = (int)((t - floor(t)) * 1000);
    if (local) {
      char z[8];
      strftime(z, sizeof z, "%z", &tm);
      len += (size_t)snprintf(buf + len, sizeof buf - len, ".%03d%s", ms, z);
    } else {
      len += (size_t)snprintf(buf + len, sizeof buf - len, ".%03dZ", ms);
    }
  }
  return valk_str(buf, len);
}

/* (sys/executable) absolute path of the running valk binary */
static V bi_executable(V *a, int n) {
  (void)a; (void)n;
  char buf[4096];
  ssize_t k = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (k < 0) valk_raise("sys/executable: cannot read /proc/self/exe");
  return valk_str(buf, (size_t)k);
}

static V bi_pid(V *a, int n) {
  (void)a; (void)n;
  return valk_int(getpid());
}

/* (sys/tty? [fd]) whether fd (default 1, standard output) is a terminal */
static V bi_tty(V *a, int n) {
  int64_t fd = n > 0 ? valk_arg_int(a, n, 0, "sys/tty?") : 1;
  return BOOL(fd >= 0 && fd <= INT32_MAX && isatty((int)fd));
}

static const valk_reg env_fns[] = {
    {"env/get", bi_get, 1, 2, "(env/get name [default]) value of an environment variable, or default (nil)"},
    {"env/set", bi_set, 2, 2, "(env/set name value) sets a variable for this process and its children; nil unsets"},
    {"env/list", bi_list, 0, 0, "(env/list) every variable as {\"NAME\" \"value\"} pairs"},
    {"time/now", bi_now, 0, 0, "(time/now) seconds since the epoch as a float"},
    {"time/ms", bi_ms, 0, 0, "(time/ms) milliseconds since the epoch as an integer"},
    {"time/monotonic", bi_monotonic, 0, 0, "(time/monotonic) seconds on a clock that never jumps"},
    {"time/format", bi_format, 1, -1, "(time/format secs [fmt] [:local true]) ISO 8601 UTC, or strftime fmt"},
    {"sys/executable", bi_executable, 0, 0, "(sys/executable) path of the running valk binary"},
    {"sys/pid", bi_pid, 0, 0, "(sys/pid) process id of this valk"},
    {"sys/tty?", bi_tty, 0, 1, "(sys/tty? [fd]) true when fd (default 1, standard output) is a terminal"},
    {NULL, NULL, 0, 0, NULL}};

void valk_sysenv_register(void) {
  valk_register(env_fns);
  valk_def_global("env", valk_lookup(valk_sym("env/get"), NULL));
}
