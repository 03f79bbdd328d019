/*
 * print.c - values to text: the readable form (repr), the display form
 * (print/str), float formatting and `format` directives.
 *
 * Readable output reads back to an equal value: strings are quoted and
 * escaped, floats use the shortest digits that round-trip and keep a ".0"
 * when integral.
 *
 * Every list a program builds (list, map, filter, keys, vals, sort, range,
 * str/split, [a b] ...) prints with braces, {1 2} and {:a :b} alike. The
 * reader reads a brace form that starts with a keyword as a map literal,
 * so such a list reads back as a map; a list written in source (quoted
 * code such as '(:name m) or [:a b]) keeps brackets when it starts with a
 * keyword, so code always reads back as the code it was.
 */
#include "valk.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(Buf *b, size_t cap) {
  b->cap = cap < 16 ? 16 : cap;
  b->s = valk_alloc_atomic(b->cap);
  b->len = 0;
}

static void buf_reserve(Buf *b, size_t extra) {
  if (b->len + extra + 1 <= b->cap) return;
  size_t ncap = b->cap * 2;
  while (ncap < b->len + extra + 1) ncap *= 2;
  char *ns = valk_alloc_atomic(ncap);
  memcpy(ns, b->s, b->len);
  b->s = ns;
  b->cap = ncap;
}

void buf_put(Buf *b, const char *s, size_t n) {
  buf_reserve(b, n);
  memcpy(b->s + b->len, s, n);
  b->len += n;
}

void buf_puts(Buf *b, const char *s) { buf_put(b, s, strlen(s)); }

void buf_putc(Buf *b, char c) {
  buf_reserve(b, 1);
  b->s[b->len++] = c;
}

void buf_printf(Buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  buf_reserve(b, (size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* Appends the UTF-8 encoding of code point cp (at most 0x10FFFF). */
void buf_put_utf8(Buf *b, uint32_t cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) { u[0] = (char)cp; n = 1; }
  else if (cp < 0x800) { u[0] = (char)(0xC0 | (cp >> 6)); u[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
  else if (cp < 0x10000) {
    u[0] = (char)(0xE0 | (cp >> 12)); u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
  } else {
    u[0] = (char)(0xF0 | (cp >> 18)); u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); u[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
  }
  buf_put(b, u, n);
}

/* The string takes over the buffer's memory. */
V buf_to_str(Buf *b) {
  Str *o = valk_alloc(sizeof(Str));
  o->h.type = T_STR;
  buf_reserve(b, 0);
  VALK_ASSERT(b->len < b->cap, "a buffer keeps room for the terminating NUL");
  b->s[b->len] = '\0';
  o->s = b->s;
  o->len = b->len;
  return (V)o;
}

/* Shortest digits that read back to d, written like Python's repr: fixed
   notation for exponents -4..15 (an integral value keeps ".0"), otherwise
   scientific. Infinities and NaN print as ##inf, ##-inf and ##nan. */
void valk_format_float(Buf *b, double d) {
  if (isnan(d)) { buf_puts(b, "##nan"); return; }
  if (isinf(d)) { buf_puts(b, d < 0 ? "##-inf" : "##inf"); return; }
  char sci[40];
  int prec = 1;
  for (; prec <= 17; prec++) {
    snprintf(sci, sizeof sci, "%.*e", prec - 1, d);
    if (strtod(sci, NULL) == d) break;
  }
  int exp = atoi(strchr(sci, 'e') + 1);
  if (exp < -4 || exp >= 16) {
    buf_puts(b, sci);
    return;
  }
  int decimals = prec - 1 - exp;
  if (decimals < 0) decimals = 0;
  buf_printf(b, "%.*f", decimals, d);
  if (decimals == 0) buf_puts(b, ".0");
}

static void print_string(Buf *b, Str *s) {
  buf_putc(b, '"');
  for (size_t i = 0; i < s->len; i++) {
    unsigned char c = (unsigned char)s->s[i];
    switch (c) {
    case '"': buf_puts(b, "\\\""); break;
    case '\\': buf_puts(b, "\\\\"); break;
    case '\n': buf_puts(b, "\\n"); break;
    case '\t': buf_puts(b, "\\t"); break;
    case '\r': buf_puts(b, "\\r"); break;
    case '\a': buf_puts(b, "\\a"); break;
    case '\b': buf_puts(b, "\\b"); break;
    case '\f': buf_puts(b, "\\f"); break;
    case '\v': buf_puts(b, "\\v"); break;
    case '\0': buf_puts(b, "\\0"); break;
    default:
      if (c < 32 || c == 127) buf_printf(b, "\\x%02x", c);
      else buf_putc(b, (char)c);
    }
  }
  buf_putc(b, '"');
}

static void print_rec(Buf *b, V v, bool readable, bool nested, int depth);

static void print_list(Buf *b, V v, bool readable, bool nested, int depth) {
  int kind = v->kind;
  char open = '{', close = '}';
  if (nested && kind == K_SEXPR) { open = '('; close = ')'; }
  else if (kind == K_VEC || (kind != K_DATA && IS(CAR(v), T_KW))) { open = '['; close = ']'; }
  buf_putc(b, open);
  for (V l = v; IS_CONS(l); l = CDR(l)) {
    print_rec(b, CAR(l), readable, true, depth + 1);
    if (IS_CONS(CDR(l))) buf_putc(b, ' ');
  }
  buf_putc(b, close);
}

static void print_rec(Buf *b, V v, bool readable, bool nested, int depth) {
  if (depth > 100000) valk_raise("print: structure too deep to print (is it cyclic?)");
  valk_stack_check();
  switch (vtype(v)) {
  case T_NIL: buf_puts(b, "nil"); return;
  case T_BOOL: buf_puts(b, v == VTRUE ? "true" : "false"); return;
  case T_INT: buf_printf(b, "%lld", (long long)valk_int_get(v)); return;
  case T_FLOAT: valk_format_float(b, ((Float *)v)->d); return;
  case T_STR:
    if (readable) print_string(b, AS_STR(v));
    else buf_put(b, AS_STR(v)->s, AS_STR(v)->len);
    return;
  case T_SYM: buf_put(b, AS_SYM(v)->name, AS_SYM(v)->len); return;
  case T_KW: buf_putc(b, ':'); buf_put(b, AS_SYM(v)->name, AS_SYM(v)->len); return;
  case T_EMPTY: buf_puts(b, "{}"); return;
  case T_CONS: print_list(b, v, true, nested, depth); return;
  case T_MAP: {
    /* {:k v} when the first key is a keyword (it reads back as a map
       literal), #{k v} otherwise, including the empty map */
    V k0, v0;
    uint32_t i0 = 0;
    if (!valk_map_next(v, &i0, &k0, &v0) || !IS(k0, T_KW)) buf_putc(b, '#');
    buf_putc(b, '{');
    V k, val;
    bool first = true;
    for (uint32_t i = 0; valk_map_next(v, &i, &k, &val);) {
      if (!first) buf_putc(b, ' ');
      first = false;
      print_rec(b, k, true, true, depth + 1);
      buf_putc(b, ' ');
      print_rec(b, val, true, true, depth + 1);
    }
    buf_putc(b, '}');
    return;
  }
  case T_BUILTIN: buf_printf(b, "<builtin %s>", ((Builtin *)v)->name); return;
  case T_LAMBDA: {
    Lambda *f = (Lambda *)v;
    buf_puts(b, (f->h.kind & LF_MACRO) ? "<macro" : "<fn");
    if (f->name) { buf_putc(b, ' '); buf_put(b, AS_SYM(f->name)->name, AS_SYM(f->name)->len); }
    buf_putc(b, '>');
    return;
  }
  case T_ERROR: {
    Error *e = AS_ERR(v);
    if (!readable) { buf_put(b, AS_STR(e->msg)->s, AS_STR(e->msg)->len); return; }
    buf_puts(b, "<error ");
    print_string(b, AS_STR(e->msg));
    buf_putc(b, '>');
    return;
  }
  case T_NATIVE: buf_printf(b, "<%s %p>", ((Native *)v)->type->name, ((Native *)v)->ptr); return;
  }
  buf_puts(b, "<?>");
}

void valk_print_to(Buf *b, V v, bool readable) { print_rec(b, v, readable, false, 0); }

/* Prints a form as it would be written in source: an S-expression at the
   top stays in parentheses. */
void valk_print_code(Buf *b, V v) { print_rec(b, v, true, true, 0); }

V valk_repr(V v) {
  Buf b;
  buf_init(&b, 32);
  valk_print_to(&b, v, true);
  return buf_to_str(&b);
}

V valk_display(V v) {
  if (IS(v, T_STR)) return v;
  Buf b;
  buf_init(&b, 32);
  valk_print_to(&b, v, false);
  return buf_to_str(&b);
}

const char *valk_repr_c(V v) { return AS_STR(valk_repr(v))->s; }

/* Formats args into text. Lisp style (intro '~', `format`): ~a display,
   ~s readable, ~d number, ~% newline, ~~ tilde. C style (intro '%',
   `printf`, as upstream Valkyria): %s display, %d number, %% percent.
   Every argument must be used, and an unknown directive is an error. */
static V format_with(char intro, V fmt, V *args, int n, const char *who) {
  Str *f = AS_STR(fmt);
  bool lisp = intro == '~';
  Buf b;
  buf_init(&b, f->len + 16);
  int ai = 0;
  for (size_t i = 0; i < f->len; i++) {
    char c = f->s[i];
    if (c != intro) { buf_putc(&b, c); continue; }
    if (++i >= f->len) valk_raise("%s: format string ends with a lone '%c'", who, intro);
    char d = f->s[i];
    if (d == intro) { buf_putc(&b, intro); continue; }
    if (lisp && d == '%') { buf_putc(&b, '\n'); continue; }
    bool readable = lisp && (d == 's' || d == 'S');
    bool number = d == 'd' || (lisp && d == 'D');
    bool display = lisp ? (d == 'a' || d == 'A') : d == 's';
    if (!readable && !number && !display) {
      if (lisp) valk_raise("%s: unknown directive ~%c (use ~a ~s ~d ~%% ~~)", who, d);
      valk_raise("%s: unknown directive %%%c (use %%s %%d %%%%)", who, d);
    }
    if (ai >= n) valk_raise("%s: too few arguments for the format string", who);
    V a = args[ai++];
    if (number && !valk_is_number(a))
      valk_raise("%s: %c%c expects a number, got %s", who, intro, d, valk_type_name(a));
    valk_print_to(&b, a, readable);
  }
  if (ai < n) valk_raise("%s: too many arguments for the format string (%d used of %d)", who, ai, n);
  return buf_to_str(&b);
}

V valk_format(V fmt, V *args, int n, const char *who) { return format_with('~', fmt, args, n, who); }
V valk_format_c(V fmt, V *args, int n, const char *who) { return format_with('%', fmt, args, n, who); }
