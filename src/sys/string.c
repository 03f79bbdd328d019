/*
 * string.c - string functions (str/..., and upstream Valkyria's
 * make-string and ord).
 *
 * Strings are byte strings: positions and lengths count bytes, and case
 * conversion touches ASCII letters only, so UTF-8 text passes through
 * unchanged. The exception is str/pad-left and str/pad-right, which align
 * text for display and so count characters (UTF-8 sequences; a byte that
 * is not part of a valid sequence counts as one). Results are new strings,
 * except that a string that needs no change may be returned as it is.
 */
#include "sys.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* results of str/repeat, make-string and str/pad-* above this many bytes are refused
   rather than exhausting memory (the allocator aborts the process) */
#define MAX_RESULT ((size_t)1 << 30)

static const char *find(const char *h, size_t hn, const char *n, size_t nn) {
  if (nn == 0) return h;
  return memmem(h, hn, n, nn);
}

/* (str/split s sep) pieces between occurrences of sep */
static V bi_split(V *a, int n) {
  Str *s = valk_arg_str(a, n, 0, "str/split");
  Str *sep = valk_arg_str(a, n, 1, "str/split");
  if (sep->len == 0) valk_raise("str/split: separator must not be empty");
  V out = EMPTY;
  const char *p = s->s, *end = s->s + s->len;
  for (;;) {
    const char *q = find(p, (size_t)(end - p), sep->s, sep->len);
    if (!q) { out = valk_cons(valk_str(p, (size_t)(end - p)), out); break; }
    out = valk_cons(valk_str(p, (size_t)(q - p)), out);
    p = q + sep->len;
  }
  return valk_list_reverse(out);
}

/* (str/join list sep) */
static V bi_join(V *a, int n) {
  V l = a[0];
  if (l == NIL) l = EMPTY;
  if (!IS_LIST(l))
    valk_raise("str/join: argument 1 must be a list (the order is list, then separator), got %s", valk_type_name(l));
  Str *sep = n > 1 ? valk_arg_str(a, n, 1, "str/join") : NULL;
  Buf b;
  buf_init(&b, 64);
  for (V p = l; IS_CONS(p); p = CDR(p)) {
    if (p != l && sep) buf_put(&b, sep->s, sep->len);
    valk_print_to(&b, CAR(p), false);
  }
  return buf_to_str(&b);
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

static V trim(V *a, int n, const char *who, bool left, bool right) {
  Str *s = valk_arg_str(a, n, 0, who);
  size_t i = 0, j = s->len;
  if (left) while (i < j && is_space(s->s[i])) i++;
  if (right) while (j > i && is_space(s->s[j - 1])) j--;
  return valk_str(s->s + i, j - i);
}
static V bi_trim(V *a, int n) { return trim(a, n, "str/trim", true, true); }
static V bi_trim_left(V *a, int n) { return trim(a, n, "str/trim-left", true, false); }
static V bi_trim_right(V *a, int n) { return trim(a, n, "str/trim-right", false, true); }

/* ASCII only, independent of the C locale */
static V change_case(V *a, int n, const char *who, bool upper) {
  Str *s = valk_arg_str(a, n, 0, who);
  V r = valk_str(s->s, s->len);
  char *d = AS_STR(r)->s;
  for (size_t i = 0; i < s->len; i++) {
    char c = d[i];
    if (upper && c >= 'a' && c <= 'z') d[i] = (char)(c - 'a' + 'A');
    else if (!upper && c >= 'A' && c <= 'Z') d[i] = (char)(c - 'A' + 'a');
  }
  return r;
}
static V bi_upper(V *a, int n) { return change_case(a, n, "str/upper", true); }
static V bi_lower(V *a, int n) { return change_case(a, n, "str/lower", false); }

/* (str/replace s old new) replaces every occurrence */
static V bi_replace(V *a, int n) {
  Str *s = valk_arg_str(a, n, 0, "str/replace");
  Str *old = valk_arg_str(a, n, 1, "str/replace");
  Str *rep = valk_arg_str(a, n, 2, "str/replace");
  if (old->len == 0) valk_raise("str/replace: the text to replace must not be empty");
  Buf b;
  buf_init(&b, s->len + 16);
  const char *p = s->s, *end = s->s + s->len;
  for (const char *q; (q = find(p, (size_t)(end - p), old->s, old->len)); p = q + old->len) {
    buf_put(&b, p, (size_t)(q - p));
    buf_put(&b, rep->s, rep->len);
  }
  buf_put(&b, p, (size_t)(end - p));
  return buf_to_str(&b);
}

static V bi_contains(V *a, int n) {
  Str *s = valk_arg_str(a, n, 0, "str/contains?");
  Str *t = valk_arg_str(a, n, 1, "str/contains?");
  return BOOL(find(s->s, s->len, t->s, t->len) != NULL);
}

static V bi_starts(V *a, int n) {
  Str *s = valk_arg_str(a, n, 0, "str/starts-with?");
  Str *t = valk_arg_str(a, n, 1, "str/starts-with?");
  return BOOL(t->len <= s->len && memcmp(s->s, t->s, t->len) == 0);
}

static V bi_ends(V *a, int n) {
  Str *s = valk_arg_str(a, n, 0, "str/ends-with?");
  Str *t = valk_arg_str(a, n, 1, "str/ends-with?");
  return BOOL(t->len <= s->len && memcmp(s->s + s->len - t->len, t->s, t->len) == 0);
}

/* (str/index-of s sub [start]) byte index or -1 */
static V bi_index_of(V *a, int n) {
  Str *s = valk_arg_str(a, n, 0, "str/index-of");
  Str *t = valk_arg_str(a, n, 1, "str/index-of");
  int64_t start = n > 2 ? valk_arg_int(a, n, 2, "str/index-of") : 0;
  if (start < 0 || (uint64_t)start > s->len) return MK_FIX(-1);
  const char *q = find(s->s + start, s->len - (size_t)start, t->s, t->len);
  return MK_FIX(q ? q - s->s : -1);
}

/* The lines of s without their \n or \r\n; no empty last line. */
V valk_str_lines(V text) {
  Str *s = AS_STR(text);
  V out = EMPTY;
  size_t i = 0;
  while (i < s->len) {
    const char *nl = memchr(s->s + i, '\n', s->len - i);
    size_t j = nl ? (size_t)(nl - s->s) : s->len;
    size_t k = j;
    if (k > i && s->s[k - 1] == '\r') k--;
    out = valk_cons(valk_str(s->s + i, k - i), out);
    i = j + 1;
  }
  return valk_list_reverse(out);
}

/* (str/lines s) */
static V bi_lines(V *a, int n) {
  valk_arg_str(a, n, 0, "str/lines");
  return valk_str_lines(a[0]);
}

/* k copies of the len bytes at p */
static V repeat_bytes(const char *p, size_t len, int64_t k, const char *who) {
  if (k < 0) valk_raise("%s: count must not be negative, got %lld", who, (long long)k);
  if (k == 0 || len == 0) return valk_str("", 0);
  if ((uint64_t)k > MAX_RESULT / len) valk_raise("%s: result too large (over 1 GiB)", who);
  Buf b;
  buf_init(&b, len * (size_t)k + 1);
  for (int64_t i = 0; i < k; i++) buf_put(&b, p, len);
  return buf_to_str(&b);
}

static V bi_repeat(V *a, int n) {
  Str *s = valk_arg_str(a, n, 0, "str/repeat");
  return repeat_bytes(s->s, s->len, valk_arg_int(a, n, 1, "str/repeat"), "str/repeat");
}

/* (make-string n s) as upstream Valkyria: n copies of the string s, or of
   the character whose code point is the integer s */
static V bi_make_string(V *a, int n) {
  int64_t k = valk_arg_int(a, n, 0, "make-string");
  if (IS(a[1], T_STR)) return repeat_bytes(AS_STR(a[1])->s, AS_STR(a[1])->len, k, "make-string");
  if (vtype(a[1]) != T_INT)
    valk_raise("make-string: argument 2 must be a string or a character code, got %s", valk_type_name(a[1]));
  int64_t cp = valk_int_get(a[1]);
  if (cp < 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    valk_raise("make-string: %lld is not a Unicode scalar value", (long long)cp);
  Buf ch;
  buf_init(&ch, 4);
  buf_put_utf8(&ch, (uint32_t)cp);
  return repeat_bytes(ch.s, ch.len, k, "make-string");
}

/* (str/slice s start [end]) bytes from start below end, as upstream
   Valkyria: the range is clamped to the string, so it never fails */
static V bi_slice(V *a, int n) {
  Str *s = valk_arg_str(a, n, 0, "str/slice");
  int64_t len = (int64_t)s->len;
  int64_t start = valk_arg_int(a, n, 1, "str/slice");
  int64_t end = n > 2 ? valk_arg_int(a, n, 2, "str/slice") : len;
  if (start < 0) start = 0;
  if (end > len) end = len;
  if (start > end) start = end;
  return valk_str(s->s + start, (size_t)(end - start));
}

/* length of the UTF-8 sequence at p (at most n bytes); 1 for an invalid byte */
static size_t utf8_seq(const unsigned char *p, size_t n) {
  unsigned char c = p[0];
  size_t len;
  uint32_t min;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) { len = 2; min = 0x80; }
  else if (c >= 0xE0 && c <= 0xEF) { len = 3; min = 0x800; }
  else if (c >= 0xF0 && c <= 0xF4) { len = 4; min = 0x10000; }
  else return 1;
  if (len > n) return 1;
  uint32_t cp = c & (0x7F >> len);
  for (size_t i = 1; i < len; i++) {
    if ((p[i] & 0xC0) != 0x80) return 1;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 1;
  return len;
}

static size_t utf8_chars(const char *s, size_t n) {
  size_t count = 0;
  for (size_t i = 0; i < n; i += utf8_seq((const unsigned char *)s + i, n - i)) count++;
  return count;
}

/* (str/pad-left s width [fill]) width and length in characters; fill is
   one character (a space by default) */
static V pad(V *a, int n, const char *who, bool left) {
  Str *s = valk_arg_str(a, n, 0, who);
  int64_t width = valk_arg_int(a, n, 1, who);
  Str *fill = n > 2 ? valk_arg_str(a, n, 2, who) : NULL;
  const char *fs = " ";
  size_t fn = 1;
  if (fill) {
    if (fill->len == 0 || utf8_chars(fill->s, fill->len) != 1)
      valk_raise("%s: fill must be a single character, got %s", who, valk_repr_c((V)fill));
    fs = fill->s;
    fn = fill->len;
  }
  size_t have = utf8_chars(s->s, s->len);
  if (width <= (int64_t)have) return (V)s;
  uint64_t extra = (uint64_t)width - have;
  if (extra > (MAX_RESULT - s->len) / fn) valk_raise("%s: result too large (over 1 GiB)", who);
  Buf b;
  buf_init(&b, s->len + (size_t)extra * fn + 1);
  if (!left) buf_put(&b, s->s, s->len);
  for (uint64_t i = 0; i < extra; i++) buf_put(&b, fs, fn);
  if (left) buf_put(&b, s->s, s->len);
  return buf_to_str(&b);
}
static V bi_pad_left(V *a, int n) { return pad(a, n, "str/pad-left", true); }
static V bi_pad_right(V *a, int n) { return pad(a, n, "str/pad-right", false); }

static V bi_str_format(V *a, int n) {
  valk_arg_str(a, n, 0, "str/format");
  return valk_format(a[0], a + 1, n - 1, "str/format");
}

/* (ord s) the code point of the first character of s (a byte that does
   not start a valid UTF-8 sequence gives its own value); (ord x y) -1, 0
   or 1 as x sorts before, with or after y, as upstream Valkyria's ord */
static V bi_ord(V *a, int n) {
  if (n == 2) return valk_int(valk_compare(a[0], a[1], "ord"));
  Str *s = valk_arg_str(a, n, 0, "ord");
  if (s->len == 0) valk_raise("ord: empty string has no first character");
  const unsigned char *p = (const unsigned char *)s->s;
  size_t k = utf8_seq(p, s->len);
  if (k == 1) return valk_int(p[0]);
  uint32_t cp = p[0] & (0x7F >> k);
  for (size_t i = 1; i < k; i++) cp = (cp << 6) | (p[i] & 0x3F);
  return valk_int(cp);
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* (str->num s) the number s spells, in the reader's syntax: an optional
   sign, then decimal digits, 0x and hex digits, or a decimal float
   (digits with a point and/or exponent). Surrounding whitespace is
   ignored. nil when s is not a number; an error when it is one that does
   not fit (as for a literal in source). */
static V bi_to_num(V *a, int n) {
  V t = trim(a, n, "str->num", true, true);
  const char *p = AS_STR(t)->s;
  size_t len = AS_STR(t)->len;
  if (len == 0 || len > 400 || strlen(p) != len) return NIL;
  size_t i = (p[0] == '+' || p[0] == '-') ? 1 : 0;
  char *end;
  errno = 0;
  if (i + 2 < len && p[i] == '0' && (p[i + 1] == 'x' || p[i + 1] == 'X')) {
    for (size_t k = i + 2; k < len; k++)
      if (valk_hexval((unsigned char)p[k]) < 0) return NIL;
    long long v = strtoll(p, &end, 16);
    if (errno == ERANGE) valk_raise("str->num: %s does not fit in a 64-bit integer", p);
    return valk_int(v);
  }
  size_t k = i, digits = 0;
  while (k < len && is_digit(p[k])) k++, digits++;
  bool isfloat = false;
  if (k < len && p[k] == '.') {
    isfloat = true;
    k++;
    while (k < len && is_digit(p[k])) k++, digits++;
  }
  if (digits == 0) return NIL;
  if (k < len && (p[k] == 'e' || p[k] == 'E')) {
    isfloat = true;
    k++;
    if (k < len && (p[k] == '+' || p[k] == '-')) k++;
    size_t e0 = k;
    while (k < len && is_digit(p[k])) k++;
    if (k == e0) return NIL;
  }
  if (k != len) return NIL;
  if (!isfloat) {
    long long v = strtoll(p, &end, 10);
    if (errno == ERANGE) valk_raise("str->num: %s does not fit in a 64-bit integer", p);
    return valk_int(v);
  }
  double d = strtod(p, &end);
  if (isinf(d)) valk_raise("str->num: %s is out of range for a float", p);
  return valk_float(d);
}

static V bi_to_str(V *a, int n) {
  if (!valk_is_number(a[0])) valk_raise("num->str: expected a number, got %s", valk_type_name(a[0]));
  (void)n;
  return valk_display(a[0]);
}

static const valk_reg string_fns[] = {
    {"str/split", bi_split, 2, 2, "(str/split s sep) list of the pieces of s between occurrences of sep"},
    {"str/join", bi_join, 1, 2, "(str/join list [sep]) display forms of the elements joined by sep"},
    {"str/trim", bi_trim, 1, 1, "(str/trim s) without leading and trailing whitespace"},
    {"str/trim-left", bi_trim_left, 1, 1, "(str/trim-left s) without leading whitespace"},
    {"str/trim-right", bi_trim_right, 1, 1, "(str/trim-right s) without trailing whitespace"},
    {"str/upper", bi_upper, 1, 1, "(str/upper s) ASCII letters upper-cased"},
    {"str/lower", bi_lower, 1, 1, "(str/lower s) ASCII letters lower-cased"},
    {"str/replace", bi_replace, 3, 3, "(str/replace s old new) every occurrence of old replaced"},
    {"str/contains?", bi_contains, 2, 2, "(str/contains? s sub)"},
    {"str/starts-with?", bi_starts, 2, 2, "(str/starts-with? s prefix)"},
    {"str/ends-with?", bi_ends, 2, 2, "(str/ends-with? s suffix)"},
    {"str/index-of", bi_index_of, 2, 3, "(str/index-of s sub [start]) byte index of sub, or -1"},
    {"str/lines", bi_lines, 1, 1, "(str/lines s) list of lines without line endings"},
    {"str/repeat", bi_repeat, 2, 2, "(str/repeat s n) s repeated n times"},
    {"make-string", bi_make_string, 2, 2, "(make-string n s) n copies of the string s, or of the character with code point s"},
    {"str/slice", bi_slice, 2, 3, "(str/slice s start [end]) bytes from start below end, clamped to the string"},
    {"ord", bi_ord, 1, 2, "(ord s) code point of the first character of s; (ord x y) -1, 0 or 1 comparing two numbers, strings or keywords"},
    {"str/pad-left", bi_pad_left, 2, 3, "(str/pad-left s width [fill]) s right-aligned in width characters, padded with fill (default space)"},
    {"str/pad-right", bi_pad_right, 2, 3, "(str/pad-right s width [fill]) s left-aligned in width characters, padded with fill (default space)"},
    {"str/format", bi_str_format, 1, -1, "(str/format fmt args...) same as format"},
    {"str->num", bi_to_num, 1, 1, "(str->num s) the integer or float s spells (as in source, 0x hex too), or nil"},
    {"num->str", bi_to_str, 1, 1, "(num->str x) decimal text of a number"},
    {NULL, NULL, 0, 0, NULL}};

void valk_string_register(void) {
  valk_register(string_fns);
  valk_def_global("str/substring", valk_lookup(valk_sym("substring"), NULL));
}
