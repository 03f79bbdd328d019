/*
 * path.c - path strings (path/...): pure text operations, no system calls
 * except getcwd for path/absolute.
 *
 * POSIX semantics: dirname and basename ignore trailing slashes, "a" has
 * directory "."; absolute and relative normalise "." and ".." lexically,
 * without resolving symbolic links (like Python's os.path.abspath).
 */
#include "valk.h"

#include <limits.h>
#include <string.h>
#include <unistd.h>

static V bi_dirname(V *a, int n) {
  Str *p = valk_arg_str(a, n, 0, "path/dirname");
  size_t len = p->len;
  while (len > 1 && p->s[len - 1] == '/') len--;
  while (len > 0 && p->s[len - 1] != '/') len--;
  if (len == 0) return valk_cstr(".");
  while (len > 1 && p->s[len - 1] == '/') len--;
  return valk_str(p->s, len);
}

static V basename_of(Str *p) {
  size_t end = p->len;
  while (end > 1 && p->s[end - 1] == '/') end--;
  size_t start = end;
  while (start > 0 && p->s[start - 1] != '/') start--;
  if (start == end && end == 1) return valk_cstr("/");
  return valk_str(p->s + start, end - start);
}

static V bi_basename(V *a, int n) { return basename_of(valk_arg_str(a, n, 0, "path/basename")); }

/* (path/extension "a/b.tar.gz") is ".gz"; "" when there is none; a
   leading dot (".bashrc") is not an extension */
static V bi_extension(V *a, int n) {
  Str *b = AS_STR(basename_of(valk_arg_str(a, n, 0, "path/extension")));
  for (size_t i = b->len; i-- > 1;)
    if (b->s[i] == '.') return valk_str(b->s + i, b->len - i);
  return valk_cstr("");
}

/* (path/join a b ...) joins with "/"; an absolute part starts over */
static V bi_join(V *a, int n) {
  Buf b;
  buf_init(&b, 64);
  for (int i = 0; i < n; i++) {
    Str *s = valk_arg_str(a, n, i, "path/join");
    if (s->len && s->s[0] == '/') b.len = 0;
    else if (b.len && b.s[b.len - 1] != '/' && s->len) buf_putc(&b, '/');
    buf_put(&b, s->s, s->len);
  }
  return buf_to_str(&b);
}

/* Absolute, normalised form of p: components in a list, "." dropped and
   ".." removing its parent. */
static V components(const char *who, Str *p) {
  Buf full;
  buf_init(&full, p->len + 256);
  if (!p->len || p->s[0] != '/') {
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) valk_raise("%s: cannot read the working directory", who);
    buf_puts(&full, cwd);
    buf_putc(&full, '/');
  }
  buf_put(&full, p->s, p->len);
  V parts = EMPTY; /* reversed */
  size_t i = 0;
  while (i < full.len) {
    while (i < full.len && full.s[i] == '/') i++;
    size_t j = i;
    while (j < full.len && full.s[j] != '/') j++;
    size_t k = j - i;
    if (k == 0 || (k == 1 && full.s[i] == '.')) {
      /* skip */
    } else if (k == 2 && full.s[i] == '.' && full.s[i + 1] == '.') {
      if (IS_CONS(parts)) parts = CDR(parts);
    } else {
      parts = valk_cons(valk_str(full.s + i, k), parts);
    }
    i = j;
  }
  return valk_list_reverse(parts);
}

static V render(V parts) {
  Buf b;
  buf_init(&b, 64);
  if (parts == EMPTY) buf_putc(&b, '/');
  for (V l = parts; IS_CONS(l); l = CDR(l)) {
    buf_putc(&b, '/');
    buf_put(&b, AS_STR(CAR(l))->s, AS_STR(CAR(l))->len);
  }
  return buf_to_str(&b);
}

static V bi_absolute(V *a, int n) { return render(components("path/absolute", valk_arg_str(a, n, 0, "path/absolute"))); }

/* (path/relative path [base]) path as seen from base (default: the
   working directory) */
static V bi_relative(V *a, int n) {
  V p = components("path/relative", valk_arg_str(a, n, 0, "path/relative"));
  V base = components("path/relative", n > 1 ? valk_arg_str(a, n, 1, "path/relative") : AS_STR(valk_cstr(".")));
  while (IS_CONS(p) && IS_CONS(base) && valk_equal(CAR(p), CAR(base))) {
    p = CDR(p);
    base = CDR(base);
  }
  Buf b;
  buf_init(&b, 64);
  for (V l = base; IS_CONS(l); l = CDR(l)) buf_puts(&b, b.len ? "/.." : "..");
  for (V l = p; IS_CONS(l); l = CDR(l)) {
    if (b.len) buf_putc(&b, '/');
    buf_put(&b, AS_STR(CAR(l))->s, AS_STR(CAR(l))->len);
  }
  if (!b.len) buf_putc(&b, '.');
  return buf_to_str(&b);
}

static const valk_reg path_fns[] = {
    {"path/dirname", bi_dirname, 1, 1, "(path/dirname p) the directory part of p"},
    {"path/basename", bi_basename, 1, 1, "(path/basename p) the last component of p"},
    {"path/extension", bi_extension, 1, 1, "(path/extension p) \".gz\" for \"a.tar.gz\", \"\" when none"},
    {"path/join", bi_join, 1, -1, "(path/join a b ...) parts joined with /; an absolute part starts over"},
    {"path/absolute", bi_absolute, 1, 1, "(path/absolute p) absolute path with . and .. resolved"},
    {"path/relative", bi_relative, 1, 2, "(path/relative p [base]) p relative to base (default: working directory)"},
    {NULL, NULL, 0, 0, NULL}};

void valk_path_register(void) { valk_register(path_fns); }
