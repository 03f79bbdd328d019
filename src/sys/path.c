/*
 * path.c - path strings (path/...): pure text operations, no system calls
 * except getcwd for path/absolute; path/resolve reads the dynamic
 * bindings :path-aliases and :cwd (see valk_dyn_path).
 *
 * POSIX semantics: dirname and basename ignore trailing slashes, "a" has
 * directory "."; absolute and relative normalise "." and ".." lexically,
 * without resolving symbolic links (like Python's os.path.abspath).
 */
#include "sys.h"

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

/* Glob match of s[0..sl) against p[0..pl): "*" and "?" stay within one
   path component, "**" crosses "/", "[...]" is a character class ("!" or
   "^" negates), "\\" quotes the next character. Backtracks only over the
   last star, which bounds the work by pl * sl. */
static int class_match(const char *p, size_t pl, size_t *i, char c) {
  size_t j = *i + 1;
  int neg = j < pl && (p[j] == '!' || p[j] == '^');
  if (neg) j++;
  int hit = 0;
  for (size_t first = j; j < pl && (p[j] != ']' || j == first); j++) {
    if (j + 2 < pl && p[j + 1] == '-' && p[j + 2] != ']') {
      hit |= (unsigned char)c >= (unsigned char)p[j] && (unsigned char)c <= (unsigned char)p[j + 2];
      j += 2;
    } else hit |= p[j] == c;
  }
  if (j >= pl) return -1; /* no closing ']': the '[' is a literal */
  *i = j + 1;
  return hit != neg;
}

static int glob_match(const char *p, size_t pl, const char *s, size_t sl) {
  size_t i = 0, k = 0, star_i = 0, star_k = 0;
  int star = 0;
  while (k < sl) {
    if (i + 1 < pl && p[i] == '*' && p[i + 1] == '*') {
      /* a double star: try every split of the rest; followed by a slash
         it also matches no directory at all. Recursion depth is the
         number of double stars in the pattern. */
      if (i + 2 < pl && p[i + 2] == '/' && glob_match(p + i + 3, pl - i - 3, s + k, sl - k)) return 1;
      for (size_t t = k; t <= sl; t++)
        if (glob_match(p + i + 2, pl - i - 2, s + t, sl - t)) return 1;
      return 0;
    }
    if (i < pl && p[i] == '*') {
      star = 1, star_i = ++i, star_k = k;
      continue;
    }
    if (i < pl && p[i] == '[') {
      size_t ni = i;
      int m = class_match(p, pl, &ni, s[k]);
      if (m == 1 && s[k] != '/') { i = ni, k++; continue; }
      if (m == -1 && s[k] == '[') { i++, k++; continue; }
    } else if (i < pl && p[i] == '?') {
      if (s[k] != '/') { i++, k++; continue; }
    } else if (i < pl && p[i] == '\\' && i + 1 < pl) {
      if (p[i + 1] == s[k]) { i += 2, k++; continue; }
    } else if (i < pl && p[i] == s[k]) { i++, k++; continue; }
    /* mismatch: the last "*" swallows one more character, never a "/"
       (a later "*" can absorb whatever an earlier one could) */
    if (!star || s[star_k] == '/') return 0;
    i = star_i, k = ++star_k;
  }
  while (i < pl && p[i] == '*') i++;
  return i == pl;
}

static V bi_match(V *a, int n) {
  Str *p = valk_arg_str(a, n, 0, "path/match?");
  Str *s = valk_arg_str(a, n, 1, "path/match?");
  return glob_match(p->s, p->len, s->s, s->len) ? VTRUE : VFALSE;
}

/* (path/resolve p) see valk_dyn_path; an absolute result is normalised
   ("." and ".." resolved lexically), a relative one (no :cwd bound) is
   given as it is */
static V bi_resolve(V *a, int n) {
  Str *p = valk_arg_str(a, n, 0, "path/resolve");
  const char *r = valk_dyn_path(p->s);
  return r[0] == '/' ? render(components("path/resolve", AS_STR(valk_cstr(r)))) : valk_cstr(r);
}

static const valk_reg path_fns[] = {
    {"path/dirname", bi_dirname, 1, 1, "(path/dirname p) the directory part of p"},
    {"path/basename", bi_basename, 1, 1, "(path/basename p) the last component of p"},
    {"path/extension", bi_extension, 1, 1, "(path/extension p) \".gz\" for \"a.tar.gz\", \"\" when none"},
    {"path/join", bi_join, 1, -1, "(path/join a b ...) parts joined with /; an absolute part starts over"},
    {"path/absolute", bi_absolute, 1, 1, "(path/absolute p) absolute path with . and .. resolved"},
    {"path/resolve", bi_resolve, 1, 1, "(path/resolve p) the file p names for file and process functions: a (dyn :path-aliases) prefix replaced, a relative path joined to (dyn :cwd), . and .. resolved"},
    {"path/match?", bi_match, 2, 2, "(path/match? pattern s) glob match: * and ? within a component, ** across /, [a-z] classes"},
    {"path/relative", bi_relative, 1, 2, "(path/relative p [base]) p relative to base (default: working directory)"},
    {NULL, NULL, 0, 0, NULL}};

void valk_path_register(void) { valk_register(path_fns); }
