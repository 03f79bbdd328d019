/*
 * reader.c - text to forms.
 *
 * A hand-written recursive descent reader. Lists remember how they were
 * written (K_SEXPR for ( ), K_QEXPR for { }, K_VEC for [ ]) and where
 * (file, line, column of the opening bracket). A brace form whose first
 * element is a keyword is a map literal and is read as a map whose values
 * are still unevaluated forms.
 *
 * Every problem raises a :syntax error carrying file:line:col; input that
 * ends inside a form or string raises :incomplete instead, which the REPL
 * uses to ask for another line.
 */
#include "valk.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NESTING 10000

static _Noreturn void syntax_error(Reader *r, const char *kind, uint32_t line, uint32_t col,
                                   const char *msg) {
  valk_throw(valk_error_at_pos(kind, r->file, line, col, "%s", msg));
}

static int peek(Reader *r) { return r->pos < r->len ? (uint8_t)r->src[r->pos] : -1; }

static int next(Reader *r) {
  if (r->pos >= r->len) return -1;
  int c = (uint8_t)r->src[r->pos++];
  if (c == '\n') { r->line++; r->col = 1; }
  else r->col++;
  return c;
}

void valk_reader_init(Reader *r, const char *src, size_t len, const char *file) {
  r->src = src;
  r->len = len;
  r->pos = 0;
  r->line = 1;
  r->col = 1;
  r->file = file ? file : "<input>";
  r->depth = 0;
}

static void skip_space(Reader *r) {
  for (;;) {
    int c = peek(r);
    if (c == ';') {
      while (c != -1 && c != '\n') { next(r); c = peek(r); }
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      next(r);
    } else {
      return;
    }
  }
}

static bool is_symbol_char(int c) {
  if (c < 0) return false;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  if (c >= 0x80) return true; /* UTF-8 letters in names */
  return strchr("_-+*/\\=<>!?&%.~^:#$|@", c) != NULL && c != 0;
}

static V read_string(Reader *r) {
  uint32_t line = r->line, col = r->col;
  next(r); /* opening quote */
  Buf b;
  buf_init(&b, 32);
  for (;;) {
    int c = next(r);
    if (c == -1) syntax_error(r, "incomplete", line, col, "unterminated string");
    if (c == '"') break;
    if (c != '\\') { buf_putc(&b, (char)c); continue; }
    uint32_t eline = r->line, ecol = r->col - 1;
    c = next(r);
    switch (c) {
    case 'n': buf_putc(&b, '\n'); break;
    case 't': buf_putc(&b, '\t'); break;
    case 'r': buf_putc(&b, '\r'); break;
    case 'a': buf_putc(&b, '\a'); break;
    case 'b': buf_putc(&b, '\b'); break;
    case 'f': buf_putc(&b, '\f'); break;
    case 'v': buf_putc(&b, '\v'); break;
    case '\\': buf_putc(&b, '\\'); break;
    case '"': buf_putc(&b, '"'); break;
    case '0': buf_putc(&b, '\0'); break;
    case 'x': {
      if (r->pos + 2 > r->len) syntax_error(r, "incomplete", line, col, "unterminated string");
      int h1 = valk_hexval(peek(r));
      if (h1 < 0) syntax_error(r, "syntax", eline, ecol, "bad escape: \\x needs two hex digits");
      next(r);
      int h2 = valk_hexval(peek(r));
      if (h2 < 0) syntax_error(r, "syntax", eline, ecol, "bad escape: \\x needs two hex digits");
      next(r);
      buf_putc(&b, (char)(h1 * 16 + h2));
      break;
    }
    case 'u': {
      if (peek(r) == -1) syntax_error(r, "incomplete", line, col, "unterminated string");
      if (peek(r) != '{') syntax_error(r, "syntax", eline, ecol, "bad escape: expected \\u{HHHH}");
      next(r);
      uint32_t cp = 0;
      int digits = 0;
      while (valk_hexval(peek(r)) >= 0 && digits < 7) { cp = cp * 16 + (uint32_t)valk_hexval(next(r)); digits++; }
      if (peek(r) == -1) syntax_error(r, "incomplete", line, col, "unterminated string");
      if (peek(r) != '}' || digits == 0 || digits > 6)
        syntax_error(r, "syntax", eline, ecol, "bad escape: expected \\u{HHHH} with 1 to 6 hex digits");
      next(r);
      if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        syntax_error(r, "syntax", eline, ecol, "bad escape: \\u{...} is not a Unicode scalar value");
      buf_put_utf8(&b, cp);
      break;
    }
    case -1: syntax_error(r, "incomplete", line, col, "unterminated string");
    default: {
      char msg[64];
      snprintf(msg, sizeof msg, "bad escape: \\%c", c >= 32 && c < 127 ? c : '?');
      syntax_error(r, "syntax", eline, ecol, msg);
    }
    }
  }
  return buf_to_str(&b);
}

/* Parses a complete token as a number; returns NULL if it is not one. */
static V parse_number(Reader *r, const char *tok, size_t n, uint32_t line, uint32_t col) {
  size_t i = 0;
  if (tok[0] == '+' || tok[0] == '-') i++;
  if (i >= n || !((tok[i] >= '0' && tok[i] <= '9') || (tok[i] == '.' && i + 1 < n && tok[i + 1] >= '0' && tok[i + 1] <= '9')))
    return NULL;
  char buf[128];
  if (n >= sizeof buf) syntax_error(r, "syntax", line, col, "number literal too long");
  memcpy(buf, tok, n);
  buf[n] = '\0';
  char *end;
  bool hex = n > i + 2 && tok[i] == '0' && (tok[i + 1] == 'x' || tok[i + 1] == 'X');
  bool isfloat = !hex && (strpbrk(buf, ".eE") != NULL);
  errno = 0;
  if (!isfloat) {
    long long v = strtoll(buf, &end, hex ? 16 : 10);
    if (*end) {
      char msg[192];
      snprintf(msg, sizeof msg, "invalid number: %s", buf);
      syntax_error(r, "syntax", line, col, msg);
    }
    if (errno == ERANGE) {
      char msg[192];
      snprintf(msg, sizeof msg, "integer literal out of 64-bit range: %s", buf);
      syntax_error(r, "syntax", line, col, msg);
    }
    return valk_int(v);
  }
  double d = strtod(buf, &end);
  if (*end) {
    char msg[192];
    snprintf(msg, sizeof msg, "invalid number: %s", buf);
    syntax_error(r, "syntax", line, col, msg);
  }
  if (isinf(d)) {
    char msg[192];
    snprintf(msg, sizeof msg, "float literal out of range: %s", buf);
    syntax_error(r, "syntax", line, col, msg);
  }
  return valk_float(d);
}

static V read_atom(Reader *r) {
  uint32_t line = r->line, col = r->col;
  size_t start = r->pos;
  while (is_symbol_char(peek(r))) next(r);
  size_t n = r->pos - start;
  const char *tok = r->src + start;
  if (n == 0) {
    int c = peek(r);
    char msg[64];
    if (c >= 32 && c < 127) snprintf(msg, sizeof msg, "unexpected character '%c'", c);
    else snprintf(msg, sizeof msg, "unexpected byte 0x%02x", c);
    syntax_error(r, "syntax", line, col, msg);
  }
  V num = parse_number(r, tok, n, line, col);
  if (num) return num;
  if (tok[0] == ':') {
    if (n == 1) syntax_error(r, "syntax", line, col, "empty keyword");
    return valk_kw_n(tok + 1, n - 1);
  }
  if (n == 3 && memcmp(tok, "nil", 3) == 0) return NIL;
  if (n == 4 && memcmp(tok, "true", 4) == 0) return VTRUE;
  if (n == 5 && memcmp(tok, "false", 5) == 0) return VFALSE;
  return valk_sym_n(tok, n);
}

static V read_form(Reader *r);

static V set_pos(V cell, Reader *r, uint32_t line, uint32_t col) {
  Cons *c = (Cons *)cell;
  c->h.line = line;
  c->h.col = (uint16_t)(col > 65535 ? 65535 : col);
  c->file = r->file;
  return cell;
}

static V read_seq(Reader *r, int close, int kind) {
  uint32_t line = r->line, col = r->col;
  next(r); /* opening bracket */
  if (++r->depth > MAX_NESTING) syntax_error(r, "syntax", line, col, "nesting too deep");
  valk_stack_check();
  V head = EMPTY, tail = NULL;
  int count = 0;
  for (;;) {
    skip_space(r);
    int c = peek(r);
    if (c == -1) {
      char msg[64];
      snprintf(msg, sizeof msg, "unbalanced '%c': missing '%c'", close == ')' ? '(' : close == '}' ? '{' : '[', close);
      syntax_error(r, "incomplete", line, col, msg);
    }
    if (c == close) { next(r); break; }
    if (c == ')' || c == '}' || c == ']') {
      char msg[64];
      snprintf(msg, sizeof msg, "unexpected '%c' (expected '%c')", c, close);
      syntax_error(r, "syntax", r->line, r->col, msg);
    }
    V item = read_form(r);
    V cell = set_pos(valk_cons_kind(item, EMPTY, kind), r, line, col);
    if (tail) ((Cons *)tail)->cdr = cell;
    else head = cell;
    tail = cell;
    count++;
  }
  r->depth--;
  if (kind == K_QEXPR && IS_CONS(head) && IS(CAR(head), T_KW)) {
    if (count % 2) syntax_error(r, "syntax", line, col, "map literal needs an even number of forms (key value pairs)");
    V m = valk_map_new((uint32_t)count / 2);
    for (V l = head; IS_CONS(l); l = CDR(CDR(l))) valk_map_set(m, CAR(l), CAR(CDR(l)));
    return m;
  }
  return head;
}

/* #{k v ...}: a map literal with keys of any type */
static V read_map(Reader *r) {
  uint32_t line = r->line, col = r->col - 1;
  V items = read_seq(r, '}', K_QEXPR);
  if (IS(items, T_MAP)) return items; /* #{:k v} is the same as {:k v} */
  size_t n = valk_list_len(items);
  if (n % 2) syntax_error(r, "syntax", line, col, "map literal needs an even number of forms (key value pairs)");
  V m = valk_map_new((uint32_t)n / 2);
  for (V l = items; IS_CONS(l); l = CDR(CDR(l))) valk_map_set(m, CAR(l), CAR(CDR(l)));
  return m;
}

/* ##inf ##-inf ##nan */
static V read_special_float(Reader *r) {
  uint32_t line = r->line, col = r->col;
  size_t start = r->pos;
  next(r);
  next(r);
  while (is_symbol_char(peek(r))) next(r);
  size_t n = r->pos - start;
  const char *t = r->src + start;
  if (n == 5 && memcmp(t, "##inf", 5) == 0) return valk_float(INFINITY);
  if (n == 6 && memcmp(t, "##-inf", 6) == 0) return valk_float(-INFINITY);
  if (n == 5 && memcmp(t, "##nan", 5) == 0) return valk_float(NAN);
  syntax_error(r, "syntax", line, col, "unknown ## literal (expected ##inf, ##-inf or ##nan)");
}

/* 'x `x ,x ,@x: the prefix (already consumed) began at line:col */
static V read_prefixed(Reader *r, const char *symname, uint32_t line, uint32_t col) {
  skip_space(r);
  if (peek(r) == -1) syntax_error(r, "incomplete", line, col, "expected a form after quote character");
  if (++r->depth > MAX_NESTING) syntax_error(r, "syntax", line, col, "nesting too deep");
  V inner = read_form(r);
  r->depth--;
  V l = valk_cons_kind(valk_sym(symname), valk_cons_kind(inner, EMPTY, K_SEXPR), K_SEXPR);
  set_pos(CDR(l), r, line, col);
  return set_pos(l, r, line, col);
}

static V read_form(Reader *r) {
  skip_space(r);
  int c = peek(r);
  uint32_t line = r->line, col = r->col;
  switch (c) {
  case '(': return read_seq(r, ')', K_SEXPR);
  case '{': return read_seq(r, '}', K_QEXPR);
  case '[': return read_seq(r, ']', K_VEC);
  case ')': case '}': case ']': {
    char msg[64];
    snprintf(msg, sizeof msg, "unbalanced '%c': no matching opening bracket", c);
    syntax_error(r, "syntax", line, col, msg);
  }
  case '"': return read_string(r);
  case '#':
    if (r->pos + 1 < r->len && r->src[r->pos + 1] == '{') { next(r); return read_map(r); }
    if (r->pos + 1 < r->len && r->src[r->pos + 1] == '#') return read_special_float(r);
    return read_atom(r);
  case '\'': next(r); return read_prefixed(r, "quote", line, col);
  case '`': next(r); return read_prefixed(r, "quasiquote", line, col);
  case ',':
    next(r);
    if (peek(r) == '@') { next(r); return read_prefixed(r, "unquote-splicing", line, col); }
    return read_prefixed(r, "unquote", line, col);
  default: return read_atom(r);
  }
}

V valk_read(Reader *r) {
  skip_space(r);
  if (peek(r) == -1) return NULL;
  r->depth = 0;
  r->form_line = r->line;
  r->form_col = r->col;
  V form = read_form(r);
  VALK_ASSERT(r->depth == 0, "a complete form closes every bracket it opened");
  return form;
}
