/*
 * json.c - JSON (json/parse, json/stringify).
 *
 * Parsing is one iterative pass over the text with no recursion: the
 * values of the open arrays and objects wait on a value stack (GC-visible:
 * first a C array, then valk_alloc memory), and each open container leaves
 * a fixnum header there that links to the one around it. Nesting deeper
 * than JSON_MAX_DEPTH is an error, so hostile input can neither overflow
 * the C stack nor the heap faster than its own size.
 *
 * Mapping: objects -> insertion-ordered maps with keyword keys (a repeated
 * key keeps its first position and its last value), arrays -> lists (the
 * empty array is {}), true/false -> true/false, null -> nil, numbers ->
 * integers when written without fraction or exponent and within 64 bits,
 * floats otherwise (a number beyond the float range is an error). Strings
 * take every escape; \uXXXX surrogate pairs become one UTF-8 character and
 * a lone surrogate becomes U+FFFD. Raw bytes >= 0x20 are copied as they
 * are (no UTF-8 validation); raw control characters are rejected. Every
 * error message ends with "at byte offset N".
 *
 * Stringify writes compact JSON in map insertion order, or with :pretty
 * true indented by two spaces. Map keys: keywords and symbols by name,
 * strings as they are, numbers in their printed form; any other key is an
 * error. Keyword and symbol values become strings. Floats use the shortest
 * digits that read back; NaN and the infinities are an error, and so are
 * functions, errors and native handles.
 */
#include "sys.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 1000

/* ------------------------------------------------------------------ */
/* parsing                                                             */

typedef struct {
  const char *src, *end;
  V *vs;            /* value stack */
  size_t top, cap;
  Buf tmp;          /* scratch for strings with escapes */
  bool tmp_ready;
} Parser;

static _Noreturn void perr(Parser *ps, const char *p, const char *what) {
  valk_raise("json/parse: %s at byte offset %zu", what, (size_t)(p - ps->src));
}

static _Noreturn void perr_char(Parser *ps, const char *p, const char *what) {
  if (p >= ps->end) perr(ps, p, "unexpected end of input");
  unsigned char c = (unsigned char)*p;
  if (c >= 0x20 && c < 0x7f)
    valk_raise("json/parse: %s, found '%c' at byte offset %zu", what, c, (size_t)(p - ps->src));
  valk_raise("json/parse: %s, found byte 0x%02x at byte offset %zu", what, c, (size_t)(p - ps->src));
}

static void grow(Parser *ps) {
  size_t ncap = ps->cap * 2;
  V *n = valk_alloc(ncap * sizeof(V));
  memcpy(n, ps->vs, ps->top * sizeof(V));
  ps->vs = n;
  ps->cap = ncap;
}

static inline void push(Parser *ps, V v) {
  if (ps->top == ps->cap) grow(ps);
  ps->vs[ps->top++] = v;
}

/* 1 for the bytes that end the fast scan of a string: '"', '\\' and the
   control characters (including the NUL after the text). */
static const uint8_t str_stop[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['"'] = 1, ['\\'] = 1};

/* First byte at or after q that ends the fast scan of a string. Eight
   bytes at a time while they lie before end, then byte by byte up to the
   NUL that follows every string's bytes. */
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)
static inline const char *scan_str(const char *q, const char *end) {
  while (q + 8 <= end) {
    uint64_t x, qu, bs;
    memcpy(&x, q, 8);
    qu = x ^ (ONES * '"');
    bs = x ^ (ONES * '\\');
    if (((x - ONES * 0x20) & ~x & HIGHS) | ((qu - ONES) & ~qu & HIGHS) | ((bs - ONES) & ~bs & HIGHS)) break;
    q += 8;
  }
  while (!str_stop[(uint8_t)*q]) q++;
  return q;
}

static inline bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

static inline const char *skip_ws(const char *p) {
  while (is_ws(*p)) p++;
  return p;
}

static int read_hex4(Parser *ps, const char *p) {
  int v = 0;
  for (int i = 0; i < 4; i++) {
    if (p + i >= ps->end) perr(ps, p + i, "unexpected end of input in \\u escape");
    int h = valk_hexval((unsigned char)p[i]);
    if (h < 0) perr(ps, p + i, "bad hex digit in \\u escape");
    v = v * 16 + h;
  }
  return v;
}

/* Decodes the string whose opening quote is at p into ps->tmp, starting
   with the escape-free prefix [p+1, q); returns the byte after the closing
   quote. q points at the first byte the fast scan stopped on. */
static const char *string_slow(Parser *ps, const char *p, const char *q) {
  Buf *b = &ps->tmp;
  if (!ps->tmp_ready) { buf_init(b, 256); ps->tmp_ready = true; }
  b->len = 0;
  buf_put(b, p + 1, (size_t)(q - p - 1));
  for (;;) {
    const char *r = scan_str(q, ps->end);
    if (r > q) buf_put(b, q, (size_t)(r - q));
    q = r;
    unsigned char c = (unsigned char)*q;
    if (c == '"') return q + 1;
    if (c != '\\') {
      if (q >= ps->end) perr(ps, q, "unterminated string");
      perr(ps, q, "control character in string");
    }
    char e = q[1];
    q += 2;
    switch (e) {
    case '"': buf_putc(b, '"'); break;
    case '\\': buf_putc(b, '\\'); break;
    case '/': buf_putc(b, '/'); break;
    case 'b': buf_putc(b, '\b'); break;
    case 'f': buf_putc(b, '\f'); break;
    case 'n': buf_putc(b, '\n'); break;
    case 'r': buf_putc(b, '\r'); break;
    case 't': buf_putc(b, '\t'); break;
    case 'u': {
      uint32_t cp = (uint32_t)read_hex4(ps, q);
      q += 4;
      if (cp >= 0xd800 && cp <= 0xdbff) {
        if (q[0] == '\\' && q[1] == 'u' && q + 6 <= ps->end) {
          uint32_t lo = (uint32_t)read_hex4(ps, q + 2);
          if (lo >= 0xdc00 && lo <= 0xdfff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            q += 6;
          } else {
            cp = 0xfffd; /* high surrogate without its pair */
          }
        } else {
          cp = 0xfffd;
        }
      } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        cp = 0xfffd; /* low surrogate on its own */
      }
      buf_put_utf8(b, cp);
      break;
    }
    default:
      if (q - 1 >= ps->end) perr(ps, q - 1, "unterminated string");
      perr_char(ps, q - 1, "bad escape in string");
    }
  }
}

/* Object keys repeat (GitHub payloads have a few dozen distinct keys in
   hundreds of objects), so a small direct-mapped cache of keywords skips
   hashing the whole name for the intern table. Keywords are never freed,
   and the cache is static data, which the collector scans. */
#define KEY_CACHE 512
static Sym *key_cache[KEY_CACHE];

static V key_kw(const char *s, size_t len) {
  uint64_t a = 0, b = 0;
  if (len >= 8) { memcpy(&a, s, 8); memcpy(&b, s + len - 8, 8); }
  else if (len) memcpy(&a, s, len);
  uint64_t h = (a * UINT64_C(0x9e3779b97f4a7c15)) ^ (b * UINT64_C(0xc2b2ae3d27d4eb4f)) ^ len;
  size_t i = (size_t)(h >> 32) & (KEY_CACHE - 1);
  Sym *k = key_cache[i];
  if (k && k->len == len && memcmp(k->name, s, len) == 0) return (V)k;
  V v = valk_kw_n(s, len);
  key_cache[i] = AS_SYM(v);
  return v;
}

/* String at p (p points at the opening quote). */
static V parse_string(Parser *ps, const char **pp, bool key) {
  const char *p = *pp, *q = scan_str(p + 1, ps->end);
  if (*q == '"') {
    *pp = q + 1;
    return key ? key_kw(p + 1, (size_t)(q - p - 1)) : valk_str(p + 1, (size_t)(q - p - 1));
  }
  *pp = string_slow(ps, p, q);
  return key ? key_kw(ps->tmp.s, ps->tmp.len) : valk_str(ps->tmp.s, ps->tmp.len);
}

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static V parse_number(Parser *ps, const char **pp) {
  const char *start = *pp, *p = start;
  bool neg = false;
  if (*p == '-') { neg = true; p++; }
  uint64_t mant = 0;
  int ndigits = 0; /* significant digits gathered in mant */
  bool exact = true; /* mant holds every digit */
  if (*p == '0') {
    p++;
  } else if (*p >= '1' && *p <= '9') {
    while (*p >= '0' && *p <= '9') {
      if (ndigits < 19) { mant = mant * 10 + (uint64_t)(*p - '0'); ndigits++; }
      else exact = false;
      p++;
    }
  } else {
    perr_char(ps, p, neg ? "expected a digit after '-'" : "expected a value");
  }
  long frac = 0; /* digits after the point held in mant */
  bool is_int = true;
  if (*p == '.') {
    p++;
    if (!(*p >= '0' && *p <= '9')) perr_char(ps, p, "expected a digit after the decimal point");
    while (*p >= '0' && *p <= '9') {
      if (ndigits < 19) {
        mant = mant * 10 + (uint64_t)(*p - '0');
        if (mant) ndigits++;
        frac++;
      } else {
        exact = false;
      }
      p++;
    }
    is_int = false;
  }
  long exp = 0;
  if (*p == 'e' || *p == 'E') {
    p++;
    bool eneg = false;
    if (*p == '+' || *p == '-') { eneg = *p == '-'; p++; }
    if (!(*p >= '0' && *p <= '9')) perr_char(ps, p, "expected a digit in the exponent");
    while (*p >= '0' && *p <= '9') {
      if (exp < 100000) exp = exp * 10 + (*p - '0');
      p++;
    }
    if (eneg) exp = -exp;
    is_int = false;
  }
  *pp = p;
  if (is_int && exact) {
    if (!neg && mant <= (uint64_t)INT64_MAX) return valk_int((int64_t)mant);
    if (neg && mant <= (uint64_t)INT64_MAX + 1) return valk_int((int64_t)(0 - mant));
  }
  /* Clinger's fast path: an exact mantissa below 2^53 times an exact power
     of ten rounds correctly in one operation. */
  long e10 = exp - frac;
  if (exact && mant <= (UINT64_C(1) << 53) && e10 >= -22 && e10 <= 22) {
    double d = (double)mant;
    d = e10 < 0 ? d / pow10_exact[-e10] : d * pow10_exact[e10];
    return valk_float(neg ? -d : d);
  }
  char small[64], *num = small;
  size_t len = (size_t)(p - start);
  if (len >= sizeof small) num = valk_alloc_atomic(len + 1);
  memcpy(num, start, len);
  num[len] = '\0';
  double d = strtod(num, NULL);
  if (isinf(d)) perr(ps, start, "number out of range");
  return valk_float(d);
}

static V build_list(Parser *ps, size_t from) {
  V l = EMPTY;
  for (size_t i = ps->top; i > from; i--) l = valk_cons(ps->vs[i - 1], l);
  return l;
}

static V build_map(Parser *ps, size_t from) {
  uint32_t n = (uint32_t)((ps->top - from) / 2);
  V m = valk_map_new(n);
  for (size_t i = from; i < ps->top; i += 2) valk_map_set(m, ps->vs[i], ps->vs[i + 1]);
  return m;
}

/* A container's header on the value stack: the start of the enclosing
   container's items (0 at the top level) and whether it is an object. */
#define HDR(start, obj) MK_FIX((int64_t)(start) * 2 + (obj))

static V parse_text(const char *src, size_t len) {
  V local[128];
  Parser ps = {.src = src, .end = src + len, .vs = local, .top = 0, .cap = 128};
  const char *p = src;
  size_t frame = 0; /* index of the first item of the open container */
  bool obj = false; /* the open container is an object */
  int depth = 0;
  V val;

value:
  p = skip_ws(p);
  switch (*p) {
  case '{':
    if (++depth > JSON_MAX_DEPTH) perr(&ps, p, "nesting deeper than 1000 levels");
    push(&ps, HDR(frame, obj));
    frame = ps.top;
    obj = true;
    p = skip_ws(p + 1);
    if (*p == '}') { p++; goto close; }
    goto key;
  case '[':
    if (++depth > JSON_MAX_DEPTH) perr(&ps, p, "nesting deeper than 1000 levels");
    push(&ps, HDR(frame, obj));
    frame = ps.top;
    obj = false;
    p = skip_ws(p + 1);
    if (*p == ']') { p++; goto close; }
    goto value;
  case '"': val = parse_string(&ps, &p, false); break;
  case 't':
    if (strncmp(p, "true", 4) != 0) perr_char(&ps, p, "expected a value");
    p += 4; val = VTRUE; break;
  case 'f':
    if (strncmp(p, "false", 5) != 0) perr_char(&ps, p, "expected a value");
    p += 5; val = VFALSE; break;
  case 'n':
    if (strncmp(p, "null", 4) != 0) perr_char(&ps, p, "expected a value");
    p += 4; val = NIL; break;
  case '-': case '0': case '1': case '2': case '3': case '4':
  case '5': case '6': case '7': case '8': case '9':
    val = parse_number(&ps, &p);
    break;
  default:
    if (p == src && len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
      perr(&ps, p, "a byte order mark is not allowed");
    perr_char(&ps, p, "expected a value");
  }

have_value:
  if (depth == 0) {
    p = skip_ws(p);
    if (p != ps.end) perr_char(&ps, p, "unexpected data after the JSON value");
    return val;
  }
  push(&ps, val);
  p = skip_ws(p);
  if (*p == ',') {
    p = skip_ws(p + 1);
    if (obj) goto key;
    goto value;
  }
  if (*p == (obj ? '}' : ']')) { p++; goto close; }
  perr_char(&ps, p, obj ? "expected ',' or '}'" : "expected ',' or ']'");

key:
  if (*p != '"') perr_char(&ps, p, "expected a string key");
  push(&ps, parse_string(&ps, &p, true));
  p = skip_ws(p);
  if (*p != ':') perr_char(&ps, p, "expected ':' after an object key");
  p++;
  goto value;

close: {
  val = obj ? build_map(&ps, frame) : build_list(&ps, frame);
  int64_t h = FIX_VAL(ps.vs[frame - 1]);
  ps.top = frame - 1;
  frame = (size_t)(h >> 1);
  obj = h & 1;
  depth--;
  goto have_value;
}
}

/* (json/parse text) */
static V bi_parse(V *a, int n) {
  Str *s = valk_arg_str(a, n, 0, "json/parse");
  return parse_text(s->s, s->len);
}

/* ------------------------------------------------------------------ */
/* stringify                                                           */

static const char hexd[] = "0123456789abcdef";

static void put_json_string(Buf *b, const char *s, size_t len) {
  buf_putc(b, '"');
  size_t i = 0, run = 0;
  while (i < len) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') { i++; continue; }
    if (i > run) buf_put(b, s + run, i - run);
    switch (c) {
    case '"': buf_put(b, "\\\"", 2); break;
    case '\\': buf_put(b, "\\\\", 2); break;
    case '\b': buf_put(b, "\\b", 2); break;
    case '\f': buf_put(b, "\\f", 2); break;
    case '\n': buf_put(b, "\\n", 2); break;
    case '\r': buf_put(b, "\\r", 2); break;
    case '\t': buf_put(b, "\\t", 2); break;
    default: {
      char u[6] = {'\\', 'u', '0', '0', hexd[c >> 4], hexd[c & 15]};
      buf_put(b, u, 6);
    }
    }
    run = ++i;
  }
  if (len > run) buf_put(b, s + run, len - run);
  buf_putc(b, '"');
}

static void put_int(Buf *b, int64_t i) {
  char t[24], *e = t + sizeof t, *q = e;
  uint64_t u = i < 0 ? 0 - (uint64_t)i : (uint64_t)i;
  do { *--q = (char)('0' + u % 10); u /= 10; } while (u);
  if (i < 0) *--q = '-';
  buf_put(b, q, (size_t)(e - q));
}

static void put_float(Buf *b, double d) {
  if (isnan(d) || isinf(d)) valk_raise("json/stringify: cannot encode %s", isnan(d) ? "NaN" : "an infinite float");
  valk_format_float(b, d);
}

static void newline(Buf *b, int indent) {
  buf_putc(b, '\n');
  for (int i = 0; i < indent; i++) buf_put(b, "  ", 2);
}

static void put_key(Buf *b, V k) {
  switch (vtype(k)) {
  case T_KW: case T_SYM: put_json_string(b, AS_SYM(k)->name, AS_SYM(k)->len); return;
  case T_STR: put_json_string(b, AS_STR(k)->s, AS_STR(k)->len); return;
  case T_INT: buf_putc(b, '"'); put_int(b, valk_int_get(k)); buf_putc(b, '"'); return;
  case T_FLOAT: buf_putc(b, '"'); put_float(b, ((Float *)k)->d); buf_putc(b, '"'); return;
  default:
    valk_raise("json/stringify: map key must be a keyword, string, symbol or number, got %s",
               valk_type_name(k));
  }
}

static _Noreturn void too_deep(void) {
  valk_raise("json/stringify: nesting deeper than %d levels (is the value cyclic?)", JSON_MAX_DEPTH);
}

/* depth: number of arrays and objects around v */
static void stringify(Buf *b, V v, bool pretty, int depth) {
  switch (vtype(v)) {
  case T_NIL: buf_put(b, "null", 4); return;
  case T_BOOL: if (v == VTRUE) buf_put(b, "true", 4); else buf_put(b, "false", 5); return;
  case T_INT: put_int(b, valk_int_get(v)); return;
  case T_FLOAT: put_float(b, ((Float *)v)->d); return;
  case T_STR: put_json_string(b, AS_STR(v)->s, AS_STR(v)->len); return;
  case T_KW: case T_SYM: put_json_string(b, AS_SYM(v)->name, AS_SYM(v)->len); return;
  case T_EMPTY:
    if (depth >= JSON_MAX_DEPTH) too_deep();
    buf_put(b, "[]", 2);
    return;
  case T_CONS:
    if (depth >= JSON_MAX_DEPTH) too_deep();
    valk_stack_check();
    buf_putc(b, '[');
    for (V l = v; IS_CONS(l); l = CDR(l)) {
      if (l != v) buf_putc(b, ',');
      if (pretty) newline(b, depth + 1);
      stringify(b, CAR(l), pretty, depth + 1);
    }
    if (pretty) newline(b, depth);
    buf_putc(b, ']');
    return;
  case T_MAP: {
    if (depth >= JSON_MAX_DEPTH) too_deep();
    valk_stack_check();
    buf_putc(b, '{');
    V k, val;
    bool first = true;
    for (uint32_t i = 0; valk_map_next(v, &i, &k, &val);) {
      if (!first) buf_putc(b, ',');
      first = false;
      if (pretty) newline(b, depth + 1);
      put_key(b, k);
      if (pretty) buf_put(b, ": ", 2); else buf_putc(b, ':');
      stringify(b, val, pretty, depth + 1);
    }
    if (pretty && !first) newline(b, depth);
    buf_putc(b, '}');
    return;
  }
  default:
    valk_raise("json/stringify: cannot encode a value of type %s", valk_type_name(v));
  }
}

V valk_json_stringify(V v) {
  Buf b;
  buf_init(&b, 256);
  stringify(&b, v, false, 0);
  return buf_to_str(&b);
}

/* (json/stringify v [:pretty true]) */
static V bi_stringify(V *a, int n) {
  if (n > 1 && valk_positional_count(a, n, 1) != 0)
    valk_raise("json/stringify: expected one value and options, got %d values", 1 + valk_positional_count(a, n, 1));
  bool pretty = valk_truthy(valk_kwarg(a, n, 1, "pretty", VFALSE));
  Buf b;
  buf_init(&b, 256);
  stringify(&b, a[0], pretty, 0);
  return buf_to_str(&b);
}

static const valk_reg json_fns[] = {
    {"json/parse", bi_parse, 1, 1,
     "(json/parse text) the value of a JSON text: objects become maps with keyword keys, "
     "arrays lists, null nil"},
    {"json/stringify", bi_stringify, 1, 3,
     "(json/stringify v [:pretty true]) compact JSON text of v (maps keep key order); "
     ":pretty true indents by two spaces"},
    {NULL, NULL, 0, 0, NULL}};

void valk_json_register(void) { valk_register(json_fns); }
