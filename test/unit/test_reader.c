/* test_reader.c - unit tests for the reader (src/lang/reader.c). */
#include "unit.h"

#include <math.h>
#include <stdlib.h>

#define FILE_NAME "t.valk"

/* ---- helpers: read inside valk_pcall so reader errors are caught ---- */
typedef struct { const char *src; size_t len; bool all; V out; } ReadJob;

static void read_job(void *ud) {
  ReadJob *j = ud;
  Reader r;
  valk_reader_init(&r, j->src, j->len, FILE_NAME);
  if (!j->all) { j->out = valk_read(&r); return; }
  V acc = EMPTY;
  for (V f; (f = valk_read(&r));) acc = valk_cons(f, acc);
  j->out = valk_list_reverse(acc);
}

/* Reads the first form of src (length n); returns NULL on end of input,
   and reports (and fails the test on) an unexpected error. */
static V read_n(const char *src, size_t n) {
  ReadJob j = {src, n, false, NULL};
  V err = valk_pcall(read_job, &j);
  if (err) {
    fprintf(stderr, "unexpected read error for [%s]: %s", src, AS_STR(valk_error_report(err))->s);
    unit_checks_failed++;
    return NULL;
  }
  return j.out;
}
static V rd(const char *src) { return read_n(src, strlen(src)); }

static V rd_all(const char *src) {
  ReadJob j = {src, strlen(src), true, NULL};
  V err = valk_pcall(read_job, &j);
  if (err) {
    fprintf(stderr, "unexpected read error for [%s]: %s", src, AS_STR(valk_error_report(err))->s);
    unit_checks_failed++;
    return EMPTY;
  }
  return j.out;
}

/* Reads all of src expecting an error; returns it (NULL if none). */
static V rd_err_n(const char *src, size_t n) {
  ReadJob j = {src, n, true, NULL};
  return valk_pcall(read_job, &j);
}
static V rd_err(const char *src) { return rd_err_n(src, strlen(src)); }

/* Checks that reading src fails with the given kind, line, col and a
   message containing `part`. */
#define CHECK_READ_ERR(src, kind, line, col, part) check_read_err(__LINE__, src, strlen(src), kind, line, col, part)
static void check_read_err(int at, const char *src, size_t n, const char *kind, uint32_t line, uint32_t col,
                           const char *part) {
  V e = rd_err_n(src, n);
  if (!e) {
    fprintf(stderr, "%s:%d: expected a read error for [%.*s]\n", __FILE__, at, n > 60 ? 60 : (int)n, src);
    unit_checks_failed++;
    return;
  }
  Error *er = AS_ERR(e);
  const char *msg = AS_STR(er->msg)->s;
  if (er->kind != valk_kw(kind) || er->line != line || er->col != col || !er->file ||
      strcmp(er->file, FILE_NAME) != 0 || !strstr(msg, part)) {
    fprintf(stderr, "%s:%d: read error for [%.*s]: want :%s at %u:%u containing \"%s\"; got :%s at %s:%u:%u \"%s\"\n",
            __FILE__, at, n > 60 ? 60 : (int)n, src, kind, line, col, part, AS_SYM(er->kind)->name, er->file ? er->file : "?",
            er->line, er->col, msg);
    unit_checks_failed++;
  }
}

static bool is_int(V v, int64_t i) { return v && vtype(v) == T_INT && valk_int_get(v) == i; }
static bool is_float(V v, double d) { return v && IS(v, T_FLOAT) && ((Float *)v)->d == d; }
static bool is_str(V v, const char *s, size_t n) {
  return v && IS(v, T_STR) && AS_STR(v)->len == n && memcmp(AS_STR(v)->s, s, n) == 0 && AS_STR(v)->s[n] == '\0';
}
#define IS_STR_LIT(v, lit) is_str(v, lit, sizeof(lit) - 1)
static V nth(V l, int i) {
  while (i-- > 0 && IS_CONS(l)) l = CDR(l);
  return IS_CONS(l) ? CAR(l) : NULL;
}

/* ---- literals ---- */
static void test_integers(void) {
  CHECK(is_int(rd("0"), 0));
  CHECK(is_int(rd("42"), 42));
  CHECK(is_int(rd("-7"), -7));
  CHECK(is_int(rd("+5"), 5));
  CHECK(is_int(rd("-0"), 0));
  CHECK(is_int(rd("0x1F"), 31));
  CHECK(is_int(rd("0xff"), 255));
  CHECK(is_int(rd("-0x10"), -16));
  CHECK(is_int(rd("007"), 7));
  /* fixnum boundary and boxed 64-bit extremes */
  CHECK(is_int(rd("4611686018427387903"), FIX_MAX));
  CHECK(IS_FIX(rd("4611686018427387903")));
  CHECK(is_int(rd("4611686018427387904"), FIX_MAX + 1));
  CHECK(!IS_FIX(rd("4611686018427387904")));
  CHECK(is_int(rd("-4611686018427387905"), FIX_MIN - 1));
  CHECK(is_int(rd("9223372036854775807"), INT64_MAX));
  CHECK(is_int(rd("-9223372036854775808"), INT64_MIN));
  CHECK(is_int(rd("0x7fffffffffffffff"), INT64_MAX));
}

static void test_floats(void) {
  CHECK(is_float(rd("1.5"), 1.5));
  CHECK(is_float(rd("-0.25"), -0.25));
  CHECK(is_float(rd("+2.0"), 2.0));
  CHECK(is_float(rd(".5"), 0.5));
  CHECK(is_float(rd("-.5"), -0.5));
  CHECK(is_float(rd("6.0"), 6.0));
  CHECK(is_float(rd("1e3"), 1000.0));
  CHECK(is_float(rd("2.5E-3"), 2.5e-3));
  CHECK(is_float(rd("1e+100"), 1e100));
  CHECK(is_float(rd("0.1"), 0.1));
  CHECK(is_float(rd("1.7976931348623157e+308"), 1.7976931348623157e308));
  CHECK(is_float(rd("5e-324"), 5e-324));
  CHECK(is_float(rd("##inf"), INFINITY));
  CHECK(is_float(rd("##-inf"), -INFINITY));
  V nan = rd("##nan");
  CHECK(nan && IS(nan, T_FLOAT) && isnan(((Float *)nan)->d));
  V z = rd("-0.0");
  CHECK(is_float(z, 0.0) && signbit(((Float *)z)->d));
}

static void test_strings(void) {
  CHECK(IS_STR_LIT(rd("\"abc\""), "abc"));
  CHECK(IS_STR_LIT(rd("\"\""), ""));
  CHECK(IS_STR_LIT(rd("\"a b ; not a comment ( ]\""), "a b ; not a comment ( ]"));
  CHECK(IS_STR_LIT(rd("\"line1\nline2\""), "line1\nline2")); /* raw newline */
  CHECK(IS_STR_LIT(rd("\"\\n\\t\\r\\\\\\\"\""), "\n\t\r\\\""));
  CHECK(IS_STR_LIT(rd("\"a\\0b\""), "a\0b"));
  CHECK(IS_STR_LIT(rd("\"\\x41\\x00\\xff\\xAb\""), "A\0\xff\xab"));
  CHECK(IS_STR_LIT(rd("\"\\u{41}\\u{e9}\\u{20AC}\\u{1F600}\\u{10FFFF}\""),
                   "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"));
  CHECK(IS_STR_LIT(rd("\"\\u{0}\""), "\0"));
  CHECK(IS_STR_LIT(rd("\"\\u{00007F}\""), "\x7f")); /* six digits allowed */
  CHECK(IS_STR_LIT(rd("\"h\xc3\xa9llo \xe2\x9c\x93\""), "h\xc3\xa9llo \xe2\x9c\x93")); /* raw UTF-8 */
  /* a raw NUL byte inside a string literal is kept */
  static const char nul_src[] = "\"a\0b\"";
  CHECK(is_str(read_n(nul_src, sizeof nul_src - 1), "a\0b", 3));
}

static void test_symbols_keywords_constants(void) {
  const char *names[] = {"foo", "+", "-", "*", "/", "\\", "=", "<", ">", "<=", "!=", "set!", "nil?",
                         "a-b", "a_b", "x.y", "~x", "^y", "&", "%", "*args*", "h\xc3\xa9", "-x", "+a", "..."};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    V v = rd(names[i]);
    CHECK(v && IS(v, T_SYM) && strcmp(AS_SYM(v)->name, names[i]) == 0);
    CHECK(v == valk_sym(names[i])); /* interned */
  }
  V k = rd(":name");
  CHECK(k && IS(k, T_KW) && strcmp(AS_SYM(k)->name, "name") == 0);
  CHECK(k == valk_kw("name"));
  CHECK(rd(":a-b?") == valk_kw("a-b?"));
  CHECK(rd(":name") != valk_sym("name"));
  CHECK(rd("nil") == NIL);
  CHECK(rd("true") == VTRUE);
  CHECK(rd("false") == VFALSE);
  CHECK(rd("nil?") == valk_sym("nil?"));
  CHECK(rd("truex") == valk_sym("truex"));
}

static void test_lists(void) {
  V l = rd("(1 2 3)");
  CHECK(IS_CONS(l) && l->kind == K_SEXPR && valk_list_len(l) == 3);
  CHECK(is_int(nth(l, 0), 1) && is_int(nth(l, 2), 3));
  V q = rd("{a b}");
  CHECK(IS_CONS(q) && q->kind == K_QEXPR && nth(q, 1) == valk_sym("b"));
  V v = rd("[x \"s\" 1.5]");
  CHECK(IS_CONS(v) && v->kind == K_VEC && valk_list_len(v) == 3 && IS_STR_LIT(nth(v, 1), "s"));
  CHECK(rd("()") == EMPTY && rd("{}") == EMPTY && rd("[ ]") == EMPTY);
  /* every cell carries the list's kind */
  for (V c = q; IS_CONS(c); c = CDR(c)) CHECK(c->kind == K_QEXPR);
  /* nesting keeps the inner kinds */
  V n = rd("(a {b [c (d)]})");
  V inner = nth(n, 1);
  CHECK(IS_CONS(inner) && inner->kind == K_QEXPR);
  CHECK(nth(inner, 1)->kind == K_VEC && nth(nth(inner, 1), 1)->kind == K_SEXPR);
  CHECK(nth(nth(nth(inner, 1), 1), 0) == valk_sym("d"));
  /* a brace form starting with a non-keyword stays a list */
  CHECK(IS_CONS(rd("{result}")) && IS_CONS(rd("{1 :a 2}")));
}

static void test_map_literals(void) {
  V m = rd("{:a 1 :b \"x\"}");
  CHECK(m && IS(m, T_MAP) && AS_MAP(m)->count == 2);
  CHECK(is_int(valk_map_get(m, valk_kw("a"), NIL), 1));
  CHECK(IS_STR_LIT(valk_map_get(m, valk_kw("b"), NIL), "x"));
  /* insertion order */
  uint32_t i = 0;
  V k, v;
  CHECK(valk_map_next(m, &i, &k, &v) && k == valk_kw("a"));
  CHECK(valk_map_next(m, &i, &k, &v) && k == valk_kw("b"));
  CHECK(!valk_map_next(m, &i, &k, &v));
  /* values are unevaluated forms */
  V m2 = rd("{:status :failed :sum (+ 1 2) :err err}");
  V sum = valk_map_get(m2, valk_kw("sum"), NIL);
  CHECK(IS_CONS(sum) && sum->kind == K_SEXPR && CAR(sum) == valk_sym("+"));
  CHECK(valk_map_get(m2, valk_kw("err"), NIL) == valk_sym("err"));
  CHECK(valk_map_get(m2, valk_kw("status"), NIL) == valk_kw("failed"));
  /* later keys may be of any type; a duplicate key keeps the last value */
  V m3 = rd("{:a 1 \"s\" 2 :a 3}");
  CHECK(IS(m3, T_MAP) && AS_MAP(m3)->count == 2);
  CHECK(is_int(valk_map_get(m3, valk_kw("a"), NIL), 3));
  CHECK(is_int(valk_map_get(m3, valk_cstr("s"), NIL), 2));
  /* #{...}: keys of any type, and the empty map */
  V e = rd("#{}");
  CHECK(e && IS(e, T_MAP) && AS_MAP(e)->count == 0);
  V m4 = rd("#{\"a\" 1 2 (x) :k #{}}");
  CHECK(IS(m4, T_MAP) && AS_MAP(m4)->count == 3);
  CHECK(is_int(valk_map_get(m4, valk_cstr("a"), NIL), 1));
  CHECK(IS_CONS(valk_map_get(m4, valk_int(2), NIL)));
  CHECK(IS(valk_map_get(m4, valk_kw("k"), NIL), T_MAP));
  V m5 = rd("#{:a 1}");
  CHECK(IS(m5, T_MAP) && is_int(valk_map_get(m5, valk_kw("a"), NIL), 1));
  CHECK(rd("#x") == valk_sym("#x")); /* # alone is a symbol character */
  /* [ ] and ( ) starting with a keyword stay lists */
  CHECK(IS_CONS(rd("[:a 1]")) && IS_CONS(rd("(:a m)")));
}

static void test_quote_forms(void) {
  V q = rd("'x");
  CHECK(IS_CONS(q) && CAR(q) == valk_sym("quote") && nth(q, 1) == valk_sym("x") && valk_list_len(q) == 2);
  V qq = rd("`(a ,b ,@c)");
  CHECK(CAR(qq) == valk_sym("quasiquote"));
  V body = nth(qq, 1);
  CHECK(IS_CONS(body) && body->kind == K_SEXPR && valk_list_len(body) == 3);
  CHECK(CAR(nth(body, 1)) == valk_sym("unquote") && nth(nth(body, 1), 1) == valk_sym("b"));
  CHECK(CAR(nth(body, 2)) == valk_sym("unquote-splicing") && nth(nth(body, 2), 1) == valk_sym("c"));
  V ql = rd("' (1 2)"); /* whitespace after the quote character is allowed */
  CHECK(CAR(ql) == valk_sym("quote") && IS_CONS(nth(ql, 1)) && valk_list_len(nth(ql, 1)) == 2);
  V nested = rd("''x");
  CHECK(CAR(nested) == valk_sym("quote") && CAR(nth(nested, 1)) == valk_sym("quote"));
}

static void test_comments_and_sequences(void) {
  CHECK(is_int(rd("; comment\n  42 ; trailing"), 42));
  CHECK(rd("") == NULL);
  CHECK(rd("   \n\t ; only a comment") == NULL);
  V all = rd_all("1 2.5 \"s\" sym :kw (a) ; c\n{b} [c] 'q");
  CHECK(valk_list_len(all) == 9);
  CHECK(is_int(nth(all, 0), 1) && is_float(nth(all, 1), 2.5) && IS_STR_LIT(nth(all, 2), "s"));
  CHECK(nth(all, 3) == valk_sym("sym") && nth(all, 4) == valk_kw("kw"));
  CHECK(nth(all, 5)->kind == K_SEXPR && nth(all, 6)->kind == K_QEXPR && nth(all, 7)->kind == K_VEC);
  /* atoms end at brackets, quotes and comments */
  V tight = rd_all("(a(b)c)\"x\"d;e\nf");
  CHECK(valk_list_len(tight) == 4 && valk_list_len(nth(tight, 0)) == 3);
  /* \r\n line endings and form feeds are whitespace */
  CHECK(valk_list_len(rd_all("1\r\n2\f3\v4")) == 4);
}

static void test_positions(void) {
  V l = rd("(a\n  (b c)\n\t [d]\n  {e})");
  Cons *c = (Cons *)l;
  CHECK_INT_EQ(l->line, 1);
  CHECK_INT_EQ(l->col, 1);
  CHECK(c->file && strcmp(c->file, FILE_NAME) == 0);
  V b = nth(l, 1), d = nth(l, 2), e = nth(l, 3);
  CHECK_INT_EQ(b->line, 2);
  CHECK_INT_EQ(b->col, 3);
  CHECK_INT_EQ(d->line, 3);
  CHECK_INT_EQ(d->col, 3); /* a tab counts as one column */
  CHECK_INT_EQ(e->line, 4);
  CHECK_INT_EQ(e->col, 3);
  /* every cell of a list carries its opening bracket's position */
  for (V x = b; IS_CONS(x); x = CDR(x)) CHECK(x->line == 2 && x->col == 3 && ((Cons *)x)->file == c->file);
  /* positions of later forms in the same input */
  V all = rd_all("1\n\n   (x)  ; c\n (y\n z) 'w");
  CHECK_INT_EQ(nth(all, 1)->line, 3);
  CHECK_INT_EQ(nth(all, 1)->col, 4);
  CHECK_INT_EQ(nth(all, 2)->line, 4);
  CHECK_INT_EQ(nth(all, 2)->col, 2);
  CHECK_INT_EQ(nth(all, 3)->line, 5);
  CHECK_INT_EQ(nth(all, 3)->col, 5); /* the quote character */
  /* the position appears in error reports of evaluated code */
  V err = rd_err("(a\n  \"x\\q\")");
  CHECK(err != NULL);
  if (err) CHECK_STR_EQ(AS_STR(valk_error_report(err))->s, "t.valk:2:5: error: bad escape: \\q\n");
}

/* ---- errors ---- */
static void test_errors_unbalanced(void) {
  CHECK_READ_ERR("(1 2", "incomplete", 1, 1, "unbalanced '('");
  CHECK_READ_ERR("{a b", "incomplete", 1, 1, "missing '}'");
  CHECK_READ_ERR("[a", "incomplete", 1, 1, "missing ']'");
  CHECK_READ_ERR("(a\n  (b c)\n  {d [e", "incomplete", 3, 6, "unbalanced '['"); /* innermost open bracket */
  CHECK_READ_ERR(")", "syntax", 1, 1, "unbalanced ')'");
  CHECK_READ_ERR("(a) }", "syntax", 1, 5, "no matching opening bracket");
  CHECK_READ_ERR("1\n  ]", "syntax", 2, 3, "unbalanced ']'");
  CHECK_READ_ERR("(a ]", "syntax", 1, 4, "unexpected ']' (expected ')')");
  CHECK_READ_ERR("{a\n )", "syntax", 2, 2, "expected '}'");
  CHECK_READ_ERR("'", "incomplete", 1, 1, "after quote");
  CHECK_READ_ERR("(a ,@", "incomplete", 1, 4, "after quote");
  CHECK_READ_ERR("'   ; comment\n", "incomplete", 1, 1, "after quote");
  CHECK_READ_ERR("'(", "incomplete", 1, 2, "unbalanced");
}

static void test_errors_strings(void) {
  CHECK_READ_ERR("\"abc", "incomplete", 1, 1, "unterminated string");
  CHECK_READ_ERR("(a\n  \"abc\ndef", "incomplete", 2, 3, "unterminated string");
  CHECK_READ_ERR("x \"abc\\", "incomplete", 1, 3, "unterminated string");
  CHECK_READ_ERR("\"a\\qb\"", "syntax", 1, 3, "bad escape: \\q");
  CHECK_READ_ERR("\"\\c\"", "syntax", 1, 2, "bad escape");
  CHECK_READ_ERR("\"\\x4\"", "syntax", 1, 2, "\\x needs two hex digits");
  CHECK_READ_ERR("\"\\xZZ\"", "syntax", 1, 2, "\\x needs two hex digits");
  CHECK_READ_ERR("\"\\u1234\"", "syntax", 1, 2, "\\u{HHHH}");
  CHECK_READ_ERR("\"\\u{}\"", "syntax", 1, 2, "1 to 6 hex digits");
  CHECK_READ_ERR("\"\\u{1234567}\"", "syntax", 1, 2, "1 to 6 hex digits");
  CHECK_READ_ERR("\"\\u{12\"", "syntax", 1, 2, "\\u{HHHH}");
  CHECK_READ_ERR("\"\\u{110000}\"", "syntax", 1, 2, "not a Unicode scalar value");
  CHECK_READ_ERR("\"\\u{D800}\"", "syntax", 1, 2, "not a Unicode scalar value");
  CHECK_READ_ERR("\"\\u{dfff}\"", "syntax", 1, 2, "not a Unicode scalar value");
  CHECK_READ_ERR("(f\n   \"ok\" \"\\z\")", "syntax", 2, 10, "bad escape: \\z");
  static const char bad_byte_escape[] = "\"\\\x01\"";
  check_read_err(__LINE__, bad_byte_escape, sizeof bad_byte_escape - 1, "syntax", 1, 2, "bad escape: \\?");
}

static void test_errors_numbers(void) {
  CHECK_READ_ERR("9223372036854775808", "syntax", 1, 1, "integer literal out of 64-bit range");
  CHECK_READ_ERR("-9223372036854775809", "syntax", 1, 1, "out of 64-bit range");
  CHECK_READ_ERR("99999999999999999999999999", "syntax", 1, 1, "out of 64-bit range");
  CHECK_READ_ERR("0x10000000000000000", "syntax", 1, 1, "out of 64-bit range");
  CHECK_READ_ERR("(+ 1\n   18446744073709551616)", "syntax", 2, 4, "out of 64-bit range");
  CHECK_READ_ERR("1e999", "syntax", 1, 1, "float literal out of range");
  CHECK_READ_ERR("-1e400", "syntax", 1, 1, "float literal out of range");
  CHECK_READ_ERR("12abc", "syntax", 1, 1, "invalid number: 12abc");
  CHECK_READ_ERR("1.2.3", "syntax", 1, 1, "invalid number");
  CHECK_READ_ERR("1e", "syntax", 1, 1, "invalid number");
  CHECK_READ_ERR("0x", "syntax", 1, 1, "invalid number");
  CHECK_READ_ERR("0xg1", "syntax", 1, 1, "invalid number");
  char longnum[300];
  memset(longnum, '1', sizeof longnum - 1);
  longnum[sizeof longnum - 1] = '\0';
  CHECK_READ_ERR(longnum, "syntax", 1, 1, "number literal too long");
}

static void test_errors_other(void) {
  CHECK_READ_ERR(":", "syntax", 1, 1, "empty keyword");
  CHECK_READ_ERR("(a : b)", "syntax", 1, 4, "empty keyword");
  CHECK_READ_ERR("{:a 1 :b}", "syntax", 1, 1, "even number of forms");
  CHECK_READ_ERR("x\n {:a}", "syntax", 2, 2, "even number of forms");
  CHECK_READ_ERR("(a\n #{1 2 3})", "syntax", 2, 2, "even number of forms");
  CHECK_READ_ERR("#{1 2", "incomplete", 1, 2, "missing '}'");
  CHECK_READ_ERR("(x ##foo)", "syntax", 1, 4, "unknown ## literal");
  CHECK_READ_ERR("##", "syntax", 1, 1, "unknown ## literal");
  CHECK_READ_ERR("##infinity", "syntax", 1, 1, "unknown ## literal");
  static const char ctl[] = "(a \x01)";
  check_read_err(__LINE__, ctl, sizeof ctl - 1, "syntax", 1, 4, "unexpected byte 0x01");
  static const char nul[] = "(a \0)";
  check_read_err(__LINE__, nul, sizeof nul - 1, "syntax", 1, 4, "unexpected byte 0x00");
  static const char del[] = "\x7f";
  check_read_err(__LINE__, del, sizeof del - 1, "syntax", 1, 1, "unexpected byte 0x7f");
  /* an error after good forms is still reported at its own position */
  CHECK_READ_ERR("(ok)\n(ok 2)\n  (bad \"\\u{D800}\")", "syntax", 3, 9, "Unicode");
}

static char *repeat_wrap(int depth, const char *open, const char *inner, const char *close) {
  size_t lo = strlen(open), li = strlen(inner), lc = strlen(close);
  char *s = malloc((size_t)depth * (lo + lc) + li + 1), *p = s;
  for (int i = 0; i < depth; i++, p += lo) memcpy(p, open, lo);
  memcpy(p, inner, li);
  p += li;
  for (int i = 0; i < depth; i++, p += lc) memcpy(p, close, lc);
  *p = '\0';
  return s;
}

static void test_nesting_limits(void) {
  /* 10000 levels read fine */
  char *ok = repeat_wrap(10000, "(", "x", ")");
  V v = rd(ok);
  int depth = 0;
  while (IS_CONS(v)) { v = CAR(v); depth++; }
  CHECK_INT_EQ(depth, 10000);
  CHECK(v == valk_sym("x"));
  free(ok);
  /* one more is an error, not a stack overflow */
  char *deep = repeat_wrap(10001, "(", "x", ")");
  CHECK_READ_ERR(deep, "syntax", 1, 10001, "nesting too deep");
  free(deep);
  char *deep_open = repeat_wrap(200000, "[", "", "");
  CHECK_READ_ERR(deep_open, "syntax", 1, 10001, "nesting too deep");
  free(deep_open);
  char *quotes = repeat_wrap(20000, "'", "x", "");
  CHECK_READ_ERR(quotes, "syntax", 1, 10001, "nesting too deep");
  free(quotes);
  char *mixed = repeat_wrap(20000, "`(,", "x", ")");
  V e = rd_err(mixed);
  CHECK(e && AS_ERR(e)->kind == valk_kw("syntax") && strstr(AS_STR(AS_ERR(e)->msg)->s, "nesting too deep"));
  free(mixed);
  /* the depth counter resets between forms */
  char *two = malloc(2 * 20010);
  char *a = repeat_wrap(9000, "(", "", ")");
  snprintf(two, 2 * 20010, "%s %s", a, a);
  CHECK_INT_EQ(valk_list_len(rd_all(two)), 2);
  free(a);
  free(two);
}

/* Columns past 65535 saturate in the list header (uint16_t) but error
   positions keep the full column. */
static void test_long_line_columns(void) {
  size_t n = 70000;
  char *s = malloc(n + 16);
  memset(s, ' ', n);
  strcpy(s + n, "(a) \"\\q\"");
  V all = rd_err(s);
  CHECK(all && AS_ERR(all)->col == n + 6 && AS_ERR(all)->line == 1);
  s[n + 3] = '\0';
  V l = rd(s);
  CHECK(IS_CONS(l) && l->col == 65535);
  free(s);
}

UNIT_MAIN(T(test_integers), T(test_floats), T(test_strings), T(test_symbols_keywords_constants), T(test_lists),
          T(test_map_literals), T(test_quote_forms), T(test_comments_and_sequences), T(test_positions),
          T(test_errors_unbalanced), T(test_errors_strings), T(test_errors_numbers), T(test_errors_other),
          T(test_nesting_limits), T(test_long_line_columns))
