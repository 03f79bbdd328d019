/* test_printer.c - unit tests for repr/display (src/lang/print.c). */
#include "unit.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

typedef struct { const char *src; size_t len; V out; } ReadJob;
static void read_job(void *ud) {
  ReadJob *j = ud;
  Reader r;
  valk_reader_init(&r, j->src, j->len, "p.valk");
  j->out = valk_read(&r);
  if (j->out && valk_read(&r)) valk_raise("more than one form in [%s]", j->src);
}

/* Reads exactly one form; a read error fails the test and gives NULL. */
static V rd_n(const char *src, size_t n) {
  ReadJob j = {src, n, NULL};
  V err = valk_pcall(read_job, &j);
  if (err) {
    fprintf(stderr, "read error for [%.*s]: %s", (int)(n > 80 ? 80 : n), src, AS_STR(valk_error_report(err))->s);
    unit_checks_failed++;
    return NULL;
  }
  return j.out;
}
static V rd(const char *src) { return rd_n(src, strlen(src)); }

static const char *repr(V v) { return valk_repr_c(v); }
static const char *disp(V v) { return AS_STR(valk_display(v))->s; }
static const char *repr_of(const char *src) { V v = rd(src); return v ? repr(v) : "<read error>"; }
static V kw(const char *s) { return valk_kw(s); }
static V I(int64_t i) { return valk_int(i); }
static V S(const char *s) { return valk_cstr(s); }

static void test_atoms(void) {
  CHECK_STR_EQ(repr(NIL), "nil");
  CHECK_STR_EQ(repr(VTRUE), "true");
  CHECK_STR_EQ(repr(VFALSE), "false");
  CHECK_STR_EQ(repr(EMPTY), "{}");
  CHECK_STR_EQ(repr(I(0)), "0");
  CHECK_STR_EQ(repr(I(-42)), "-42");
  CHECK_STR_EQ(repr(I(INT64_MAX)), "9223372036854775807");
  CHECK_STR_EQ(repr(I(INT64_MIN)), "-9223372036854775808");
  CHECK_STR_EQ(repr(I(FIX_MAX + 1)), "4611686018427387904");
  CHECK_STR_EQ(repr(valk_sym("foo-bar?")), "foo-bar?");
  CHECK_STR_EQ(repr(kw("name")), ":name");
  CHECK_STR_EQ(disp(kw("name")), ":name");
  CHECK_STR_EQ(repr_of("0x10"), "16");
}

static void test_floats(void) {
  struct { double d; const char *s; } cases[] = {
      {6.0, "6.0"}, {0.0, "0.0"}, {-0.0, "-0.0"}, {1.5, "1.5"}, {-2.25, "-2.25"}, {0.1, "0.1"},
      {0.1 + 0.2, "0.30000000000000004"}, {1.0 / 3.0, "0.3333333333333333"}, {100.0, "100.0"}, {1e15, "1000000000000000.0"}, {120.5, "120.5"},
      {123456789.0, "123456789.0"}, {1e16, "1e+16"}, {1e100, "1e+100"}, {1.5e-7, "1.5e-07"},
      {5e-324, "5e-324"}, {DBL_MAX, "1.7976931348623157e+308"}, {2.5e-3, "0.0025"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    CHECK_STR_EQ(repr(valk_float(cases[i].d)), cases[i].s);
    CHECK_STR_EQ(disp(valk_float(cases[i].d)), cases[i].s);
  }
  CHECK_STR_EQ(repr(valk_float(NAN)), "##nan");
  CHECK_STR_EQ(repr(valk_float(INFINITY)), "##inf");
  CHECK_STR_EQ(repr(valk_float(-INFINITY)), "##-inf");
  V nan = rd("##nan");
  CHECK(nan && IS(nan, T_FLOAT) && isnan(((Float *)nan)->d));
  CHECK_STR_EQ(repr_of("##inf"), "##inf");
  CHECK_STR_EQ(repr_of("##-inf"), "##-inf");
  CHECK_STR_EQ(repr_of("1e15"), "1000000000000000.0");
  CHECK_STR_EQ(repr_of("0.0001"), "0.0001");
  CHECK_STR_EQ(repr_of("0.00001"), "1e-05");
  CHECK_STR_EQ(repr_of("1e3"), "1000.0");
  CHECK_STR_EQ(repr_of(".5"), "0.5");
  /* shortest round trip over many values: the printed text reads back to
     the same bits */
  uint64_t x = 0x9E3779B97F4A7C15u;
  for (int i = 0; i < 20000; i++) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    double d;
    memcpy(&d, &x, sizeof d);
    if (!isfinite(d)) continue;
    if (i % 2) d = (double)(int64_t)(x >> 20) / 1000.0;
    const char *s = repr(valk_float(d));
    V back = rd(s);
    if (!back || !IS(back, T_FLOAT) || memcmp(&((Float *)back)->d, &d, sizeof d) != 0) {
      fprintf(stderr, "float %.17g printed as %s does not read back\n", d, s);
      unit_checks_failed++;
      break;
    }
    /* shortest: one significant digit less does not round trip */
    char digs[400];
    int nd = 0;
    for (const char *p = s; *p && *p != 'e'; p++)
      if (*p >= '0' && *p <= '9' && (nd > 0 || *p != '0')) digs[nd++] = *p;
    while (nd > 0 && digs[nd - 1] == '0') nd--;
    char shorter[400];
    snprintf(shorter, sizeof shorter, "%.*e", nd - 2, d);
    if (nd > 1 && strtod(shorter, NULL) == d) {
      fprintf(stderr, "float %.17g printed as %s is not the shortest (%s)\n", d, s, shorter);
      unit_checks_failed++;
      break;
    }
  }
}

static void test_strings(void) {
  V s = valk_str("a\"b\\c\n\t\r\0\x01\x1f\x7f\xc3\xa9 ok", 17);
  CHECK_STR_EQ(repr(s), "\"a\\\"b\\\\c\\n\\t\\r\\0\\x01\\x1f\\x7f\xc3\xa9 ok\"");
  CHECK_STR_EQ(repr(valk_str("\a\b\f\v", 4)), "\"\\a\\b\\f\\v\"");
  CHECK(valk_display(s) == s); /* display of a string is the string itself */
  CHECK_STR_EQ(repr(S("")), "\"\"");
  CHECK_STR_EQ(disp(S("plain")), "plain");
  CHECK_STR_EQ(repr_of("\"\\u{20AC}\\x41\""), "\"\xe2\x82\xac" "A\"");
  /* every byte value reads back */
  char all[256];
  for (int i = 0; i < 256; i++) all[i] = (char)i;
  V a = valk_str(all, 256);
  V back = rd(repr(a));
  CHECK(back && IS(back, T_STR) && AS_STR(back)->len == 256 && memcmp(AS_STR(back)->s, all, 256) == 0);
}

static void test_lists(void) {
  CHECK_STR_EQ(repr(valk_list(3, I(1), I(2), I(3))), "{1 2 3}");
  CHECK_STR_EQ(repr(valk_list(2, I(1), valk_list(2, I(2), I(3)))), "{1 {2 3}}");
  CHECK_STR_EQ(repr_of("(1 2 3)"), "{1 2 3}");     /* a top-level S-expression prints as a list */
  CHECK_STR_EQ(repr_of("{1 2 3}"), "{1 2 3}");
  CHECK_STR_EQ(repr_of("[1 2 3]"), "[1 2 3]");
  CHECK_STR_EQ(repr_of("{1 (+ 1 2) {a b} [c]}"), "{1 (+ 1 2) {a b} [c]}");
  CHECK_STR_EQ(repr_of("(if (> x 1) {x} {(print \"no\")})"), "{if (> x 1) {x} {(print \"no\")}}");
  CHECK_STR_EQ(repr_of("(a (b (c ())))"), "{a (b (c {}))}");
  CHECK_STR_EQ(repr_of("'x"), "{quote x}");
  CHECK_STR_EQ(repr_of("{'x `(a ,b ,@c)}"), "{(quote x) (quasiquote (a (unquote b) (unquote-splicing c)))}");
  CHECK_STR_EQ(repr(valk_list(3, S("a"), I(1), NIL)), "{\"a\" 1 nil}");
  /* elements of a list print readably even in display form */
  CHECK_STR_EQ(disp(valk_list(2, S("a"), I(1))), "{\"a\" 1}");
  /* a list a program builds prints with { } whatever its first element;
     code read from source that starts with a keyword keeps [ ] so that it
     reads back as code, not as a map literal */
  CHECK_STR_EQ(repr(valk_list(2, kw("a"), I(1))), "{:a 1}");
  CHECK_STR_EQ(repr(valk_list(1, valk_list(2, kw("a"), I(1)))), "{{:a 1}}");
  CHECK_STR_EQ(repr_of("(:a m)"), "[:a m]");
  CHECK_STR_EQ(repr_of("{(:name m)}"), "{(:name m)}");
  V l = rd("[:a 1]");
  CHECK(IS_CONS(l) && IS_CONS(rd(repr(l))));
}

static void test_maps(void) {
  CHECK_STR_EQ(repr_of("{:a 1 :b \"x\"}"), "{:a 1 :b \"x\"}");
  CHECK_STR_EQ(disp(rd("{:a 1 :b \"x\"}")), "{:a 1 :b \"x\"}");
  V m = valk_map_new(0);
  valk_map_set(m, kw("status"), kw("failed"));
  valk_map_set(m, kw("n"), valk_float(2.0));
  valk_map_set(m, kw("l"), valk_list(2, I(1), I(2)));
  valk_map_set(m, kw("m"), rd("{:x nil}"));
  valk_map_set(m, S("k"), VTRUE);
  CHECK_STR_EQ(repr(m), "{:status :failed :n 2.0 :l {1 2} :m {:x nil} \"k\" true}");
  valk_map_del(m, kw("n"));
  valk_map_set(m, kw("n"), I(3)); /* re-added at the end */
  CHECK_STR_EQ(repr(m), "{:status :failed :l {1 2} :m {:x nil} \"k\" true :n 3}");
  CHECK_STR_EQ(repr_of("{:code (+ 1 2) :q {a b}}"), "{:code (+ 1 2) :q {a b}}");
  CHECK_STR_EQ(repr(valk_list(2, I(1), rd("{:a 1}"))), "{1 {:a 1}}");
}

static void test_other_values(void) {
  V e = valk_error_new(kw("error"), S("boom \"x\""), NULL);
  CHECK_STR_EQ(repr(e), "<error \"boom \\\"x\\\"\">");
  CHECK_STR_EQ(disp(e), "boom \"x\"");
  CHECK_STR_EQ(repr(valk_lookup(valk_sym("+"), NULL)), "<builtin +>");
  CHECK_STR_EQ(repr(valk_eval_string("(fn [x] x)", 10, "p.valk")), "<fn>");
  const char *def = "(defun printer-test-f [x] x) printer-test-f";
  CHECK_STR_EQ(repr(valk_eval_string(def, strlen(def), "p.valk")), "<fn printer-test-f>");
  int dummy;
  static const valk_native_type thing = {"thing", NULL};
  V n = valk_native(&thing, &dummy, NULL);
  char want[64];
  snprintf(want, sizeof want, "<thing %p>", (void *)&dummy);
  CHECK_STR_EQ(repr(n), want);
}

static void test_format(void) {
  V args[] = {S("x"), S("y"), I(42), valk_list(2, I(1), S("z"))};
  CHECK_STR_EQ(AS_STR(valk_format(S("a=~a s=~s d=~d l=~a~%~~"), args, 4, "format"))->s,
               "a=x s=\"y\" d=42 l={1 \"z\"}\n~");
  CHECK_STR_EQ(AS_STR(valk_format(S("Tests failed: ~a"), (V[]){I(3)}, 1, "format"))->s, "Tests failed: 3");
}

/* read(repr(x)) == x, and repr is a fixed point (catches int/float and
   list-kind confusions that == would hide). */
static void check_round_trip(V x) {
  const char *s1 = repr(x);
  V back = rd(s1);
  if (!back) { fprintf(stderr, "  while round-tripping %s\n", s1); return; }
  const char *s2 = repr(back);
  if (!valk_equal(back, x) || vtype(back) != vtype(x) || strcmp(s1, s2) != 0) {
    fprintf(stderr, "round trip failed: %s -> %s\n", s1, s2);
    unit_checks_failed++;
  }
}

static void test_round_trip(void) {
  V big = EMPTY;
  for (int i = 0; i < 200; i++) big = valk_cons(i % 3 ? I(i * 7919) : valk_float(i / 7.0), big);
  V nested = EMPTY;
  for (int i = 0; i < 500; i++) nested = valk_list(2, I(i), nested);
  V m = valk_map_new(0);
  valk_map_set(m, kw("a"), I(1));
  valk_map_set(m, kw("b"), S("x\ny"));
  valk_map_set(m, kw("c"), valk_list(3, valk_float(0.5), NIL, VFALSE));
  valk_map_set(m, S("str-key"), rd("{:inner {1 2}}"));
  valk_map_set(m, I(7), kw("seven"));
  V values[] = {
      NIL, VTRUE, VFALSE, EMPTY, I(0), I(-1), I(FIX_MAX), I(FIX_MAX + 1), I(FIX_MIN - 1), I(INT64_MAX),
      I(INT64_MIN), valk_float(0.1), valk_float(-0.0), valk_float(1.0 / 3), valk_float(1e300),
      valk_float(5e-324), valk_float(6.0), valk_float(-123456.789), S(""), S("hello \"world\"\n"),
      valk_str("\0\x01\xff", 3), S("\xe2\x82\xac uni"), valk_sym("sym"), valk_sym("+"), valk_sym("a.b/c"),
      kw("kw"), kw("a-b?"), valk_list(3, I(1), I(2), I(3)), rd("(:k 1)"),
      valk_list(3, valk_list(0), EMPTY, valk_list(1, EMPTY)), big, nested, m,
      rd("{:a 1 :b \"x\"}"), rd("(def {x} (+ 1 2.5) [a :b \"c\"])"), rd("`(a ,b ,@c)"),
      rd("{:status :failed :error err}"), rd("[[1] {2} ((3))]"), rd("{result}"), valk_float(INFINITY),
      valk_float(-INFINITY), rd("#{}"), rd("#{1 \"one\" (x) #{}}"), valk_list(2, valk_map_new(0), rd("#{nil 1}")),
  };
  for (size_t i = 0; i < sizeof values / sizeof *values; i++) check_round_trip(values[i]);
}

/* Maps whose first key is not a keyword (or that are empty) print as #{...}. */
static void test_round_trip_maps_without_leading_keyword(void) {
  CHECK_STR_EQ(repr(valk_map_new(0)), "#{}");
  V sm = valk_map_new(0);
  valk_map_set(sm, S("a"), I(1));
  valk_map_set(sm, kw("b"), valk_map_new(0));
  CHECK_STR_EQ(repr(sm), "#{\"a\" 1 :b #{}}");
  CHECK_STR_EQ(repr_of("#{1 2 [3] {4}}"), "#{1 2 [3] {4}}");
  CHECK_STR_EQ(repr_of("#{:a 1}"), "{:a 1}");
  V empty = valk_map_new(0);
  check_round_trip(empty);
  V m = valk_map_new(0);
  valk_map_set(m, S("a"), I(1));
  check_round_trip(m);
  V d = rd("{:a 1 :b 2}");
  valk_map_del(d, kw("a"));
  valk_map_del(d, kw("b"));
  check_round_trip(d);
}

static void print_job(void *ud) { valk_repr(*(V *)ud); }

/* printing a too-deep structure raises instead of overflowing the C stack */
static void test_print_depth_limit(void) {
  V ok = EMPTY;
  for (int i = 0; i < 5000; i++) ok = valk_list(1, ok);
  CHECK(AS_STR(valk_repr(ok))->len == 5000 * 2 + 2);
  /* 300000 nested one-element lists in one allocation (cheap under GC stress) */
  enum { DEPTH = 300000 };
  Cons *cells = valk_alloc(DEPTH * sizeof(Cons));
  for (int i = 0; i < DEPTH; i++) {
    cells[i].h.type = T_CONS;
    cells[i].car = i + 1 < DEPTH ? (V)&cells[i + 1] : EMPTY;
    cells[i].cdr = EMPTY;
  }
  V deep = (V)cells;
  V e = valk_pcall(print_job, &deep);
  CHECK(e && (strstr(AS_STR(AS_ERR(e)->msg)->s, "too deep") || strstr(AS_STR(AS_ERR(e)->msg)->s, "stack depth")));
}

UNIT_MAIN(T(test_atoms), T(test_floats), T(test_strings), T(test_lists), T(test_maps), T(test_other_values),
          T(test_format), T(test_round_trip), T(test_round_trip_maps_without_leading_keyword),
          T(test_print_depth_limit))
