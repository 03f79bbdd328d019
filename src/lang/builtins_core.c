/*
 * builtins_core.c - numbers, comparison, type predicates, errors.
 *
 * Integer arithmetic stays integer and raises on 64-bit overflow; any
 * float operand makes the result a float. Division by zero (integer or
 * float) is an error rather than inf/nan.
 */
#include "valk.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static V num_arg(V *args, int i, const char *who) {
  V v = args[i];
  if (!valk_is_number(v)) valk_raise("%s: expected a number, got %s (%s)", who, valk_type_name(v), valk_repr_c(v));
  return v;
}

enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD };
static const char *op_names[] = {"+", "-", "*", "/", "%"};

static V arith2(int op, V a, V b) {
  const char *who = op_names[op];
  if (vtype(a) != T_FLOAT && vtype(b) != T_FLOAT) {
    int64_t x = valk_int_get(a), y = valk_int_get(b), r;
    switch (op) {
    case OP_ADD: if (__builtin_add_overflow(x, y, &r)) valk_raise("+: integer overflow"); return valk_int(r);
    case OP_SUB: if (__builtin_sub_overflow(x, y, &r)) valk_raise("-: integer overflow"); return valk_int(r);
    case OP_MUL: if (__builtin_mul_overflow(x, y, &r)) valk_raise("*: integer overflow"); return valk_int(r);
    case OP_DIV:
      if (y == 0) valk_raise("/: division by zero");
      if (x == INT64_MIN && y == -1) valk_raise("/: integer overflow");
      return valk_int(x / y);
    default:
      if (y == 0) valk_raise("%%: division by zero");
      if (y == -1) return MK_FIX(0);
      return valk_int(x % y);
    }
  }
  double x = valk_num_get(a), y = valk_num_get(b);
  switch (op) {
  case OP_ADD: return valk_float(x + y);
  case OP_SUB: return valk_float(x - y);
  case OP_MUL: return valk_float(x * y);
  case OP_DIV: if (y == 0.0) valk_raise("/: division by zero"); return valk_float(x / y);
  default: if (y == 0.0) valk_raise("%%: division by zero"); (void)who; return valk_float(fmod(x, y));
  }
}

static V fold_arith(int op, V *args, int n, V unit) {
  if (n == 0) return unit;
  V acc = num_arg(args, 0, op_names[op]);
  if (n == 1) {
    if (op == OP_SUB) return arith2(OP_SUB, MK_FIX(0), acc);
    if (op == OP_DIV) return arith2(OP_DIV, vtype(acc) == T_FLOAT ? valk_float(1.0) : MK_FIX(1), acc);
    return acc;
  }
  for (int i = 1; i < n; i++) acc = arith2(op, acc, num_arg(args, i, op_names[op]));
  return acc;
}

static V bi_add(V *a, int n) {
  if (n == 2 && IS_FIX(a[0]) && IS_FIX(a[1])) return valk_int(FIX_VAL(a[0]) + FIX_VAL(a[1]));
  return fold_arith(OP_ADD, a, n, MK_FIX(0));
}
static V bi_sub(V *a, int n) {
  if (n == 2 && IS_FIX(a[0]) && IS_FIX(a[1])) return valk_int(FIX_VAL(a[0]) - FIX_VAL(a[1]));
  return fold_arith(OP_SUB, a, n, MK_FIX(0));
}
static V bi_mul(V *a, int n) { return fold_arith(OP_MUL, a, n, MK_FIX(1)); }
static V bi_div(V *a, int n) { return fold_arith(OP_DIV, a, n, MK_FIX(1)); }
static V bi_mod(V *a, int n) { (void)n; return arith2(OP_MOD, num_arg(a, 0, "%"), num_arg(a, 1, "%")); }

/* Compares two numbers, or two strings bytewise; -1, 0 or 1. */
static int compare2(V a, V b, const char *who) {
  if (IS(a, T_STR) && IS(b, T_STR)) {
    Str *x = AS_STR(a), *y = AS_STR(b);
    size_t m = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, m);
    if (c) return c < 0 ? -1 : 1;
    return x->len < y->len ? -1 : x->len > y->len;
  }
  num_arg(&a, 0, who);
  num_arg(&b, 0, who);
  if (vtype(a) != T_FLOAT && vtype(b) != T_FLOAT) {
    int64_t x = valk_int_get(a), y = valk_int_get(b);
    return x < y ? -1 : x > y;
  }
  double x = valk_num_get(a), y = valk_num_get(b);
  return x < y ? -1 : x > y;
}

#define CMP_BUILTIN(fname, who, test)                                          \
  static V fname(V *a, int n) {                                                \
    if (n == 2 && IS_FIX(a[0]) && IS_FIX(a[1])) {                              \
      int64_t x = FIX_VAL(a[0]), y = FIX_VAL(a[1]);                            \
      int c = x < y ? -1 : x > y;                                              \
      return BOOL(test);                                                       \
    }                                                                          \
    for (int i = 0; i + 1 < n; i++) {                                          \
      int c = compare2(a[i], a[i + 1], who);                                   \
      if (!(test)) return VFALSE;                                              \
    }                                                                          \
    return VTRUE;                                                              \
  }
CMP_BUILTIN(bi_lt, "<", c < 0)
CMP_BUILTIN(bi_gt, ">", c > 0)
CMP_BUILTIN(bi_le, "<=", c <= 0)
CMP_BUILTIN(bi_ge, ">=", c >= 0)

static V bi_eq(V *a, int n) {
  for (int i = 0; i + 1 < n; i++)
    if (!valk_equal(a[i], a[i + 1])) return VFALSE;
  return VTRUE;
}
static V bi_ne(V *a, int n) { (void)n; return BOOL(!valk_equal(a[0], a[1])); }
static V bi_identical(V *a, int n) { (void)n; return BOOL(a[0] == a[1]); }
static V bi_not(V *a, int n) { (void)n; return BOOL(!valk_truthy(a[0])); }

static V bi_min(V *a, int n) {
  V m = num_arg(a, 0, "min");
  for (int i = 1; i < n; i++) if (compare2(num_arg(a, i, "min"), m, "min") < 0) m = a[i];
  return m;
}
static V bi_max(V *a, int n) {
  V m = num_arg(a, 0, "max");
  for (int i = 1; i < n; i++) if (compare2(num_arg(a, i, "max"), m, "max") > 0) m = a[i];
  return m;
}
static V bi_abs(V *a, int n) {
  (void)n;
  V v = num_arg(a, 0, "abs");
  if (vtype(v) == T_FLOAT) return valk_float(fabs(valk_num_get(v)));
  int64_t i = valk_int_get(v);
  if (i == INT64_MIN) valk_raise("abs: integer overflow");
  return valk_int(i < 0 ? -i : i);
}

static V float_to_int(double d, const char *who) {
  if (isnan(d) || d >= 9223372036854775808.0 || d < -9223372036854775808.0)
    valk_raise("%s: %g does not fit in an integer", who, d);
  return valk_int((int64_t)d);
}
static V bi_floor(V *a, int n) { (void)n; return float_to_int(floor(valk_num_get(num_arg(a, 0, "floor"))), "floor"); }
static V bi_ceil(V *a, int n) { (void)n; return float_to_int(ceil(valk_num_get(num_arg(a, 0, "ceil"))), "ceil"); }
static V bi_round(V *a, int n) { (void)n; return float_to_int(round(valk_num_get(num_arg(a, 0, "round"))), "round"); }
static V bi_int(V *a, int n) { (void)n; return float_to_int(trunc(valk_num_get(num_arg(a, 0, "int"))), "int"); }
static V bi_float(V *a, int n) { (void)n; return valk_float(valk_num_get(num_arg(a, 0, "float"))); }
static V bi_sqrt(V *a, int n) {
  (void)n;
  double d = valk_num_get(num_arg(a, 0, "sqrt"));
  if (d < 0) valk_raise("sqrt: negative argument %g", d);
  return valk_float(sqrt(d));
}
static V bi_pow(V *a, int n) {
  (void)n;
  V b = num_arg(a, 0, "pow"), e = num_arg(a, 1, "pow");
  if (vtype(b) != T_FLOAT && vtype(e) != T_FLOAT && valk_int_get(e) >= 0) {
    int64_t base = valk_int_get(b), ex = valk_int_get(e), r = 1;
    while (ex-- > 0)
      if (__builtin_mul_overflow(r, base, &r)) valk_raise("pow: integer overflow");
    return valk_int(r);
  }
  return valk_float(pow(valk_num_get(b), valk_num_get(e)));
}

/* ---- type predicates ---- */
#define PRED(fname, cond) static V fname(V *a, int n) { (void)n; V v = a[0]; return BOOL(cond); }
PRED(bi_nilp, v == NIL || v == EMPTY)
PRED(bi_intp, vtype(v) == T_INT)
PRED(bi_floatp, vtype(v) == T_FLOAT)
PRED(bi_numberp, valk_is_number(v))
PRED(bi_stringp, IS(v, T_STR))
PRED(bi_symbolp, IS(v, T_SYM))
PRED(bi_keywordp, IS(v, T_KW))
PRED(bi_listp, IS_LIST(v))
PRED(bi_emptyp, v == EMPTY || v == NIL || (IS(v, T_STR) && AS_STR(v)->len == 0) || (IS(v, T_MAP) && AS_MAP(v)->count == 0))
PRED(bi_fnp, IS(v, T_BUILTIN) || (IS(v, T_LAMBDA) && !(v->kind & LF_MACRO)))
PRED(bi_macrop, IS(v, T_LAMBDA) && (v->kind & LF_MACRO))
PRED(bi_boolp, IS(v, T_BOOL))
PRED(bi_errorp, IS(v, T_ERROR))
PRED(bi_truep, v == VTRUE)
PRED(bi_falsep, v == VFALSE)

static V bi_type(V *a, int n) {
  (void)n;
  return valk_kw(valk_type_name(a[0]));
}

/* ---- errors ---- */
static V bi_error(V *a, int n) {
  V msg = n == 0 ? valk_cstr("error") : IS(a[0], T_STR) ? a[0] : valk_display(a[0]);
  if (n > 1) msg = valk_format(a[0], a + 1, n - 1, "error");
  valk_throw(valk_error_new(valk_kw("error"), msg, valk_S->form));
}

static V bi_make_error(V *a, int n) {
  Str *m = valk_arg_str(a, n, 0, "make-error");
  V e = valk_error_new(valk_kw("error"), (V)m, valk_S->form);
  if (n > 1) AS_ERR(e)->data = a[1];
  return e;
}

static V bi_throw(V *a, int n) {
  (void)n;
  if (!IS(a[0], T_ERROR)) valk_raise("throw: expected an error value, got %s", valk_type_name(a[0]));
  valk_throw(a[0]);
}

static V bi_error_message(V *a, int n) {
  valk_check_type(a[0], T_ERROR, "error-message", 0);
  (void)n;
  return AS_ERR(a[0])->msg;
}

static V bi_error_kind(V *a, int n) {
  valk_check_type(a[0], T_ERROR, "error-kind", 0);
  (void)n;
  return AS_ERR(a[0])->kind;
}

static V bi_error_data(V *a, int n) {
  valk_check_type(a[0], T_ERROR, "error-data", 0);
  (void)n;
  return AS_ERR(a[0])->data;
}

static V bi_error_location(V *a, int n) {
  valk_check_type(a[0], T_ERROR, "error-location", 0);
  (void)n;
  Error *e = AS_ERR(a[0]);
  if (!e->file) return NIL;
  return valk_strf("%s:%u:%u", e->file, e->line, e->col);
}

static V bi_error_trace(V *a, int n) {
  valk_check_type(a[0], T_ERROR, "error-trace", 0);
  (void)n;
  return AS_ERR(a[0])->trace;
}

static V bi_error_report(V *a, int n) {
  valk_check_type(a[0], T_ERROR, "error-report", 0);
  (void)n;
  return valk_error_report(a[0]);
}

static unsigned long gensym_counter;
static V bi_gensym(V *a, int n) {
  const char *prefix = n > 0 ? valk_arg_str(a, n, 0, "gensym")->s : "g";
  char buf[128];
  snprintf(buf, sizeof buf, "%.100s__%lu", prefix, ++gensym_counter);
  return valk_sym(buf);
}

static V bi_doc(V *a, int n) {
  (void)n;
  V f = a[0];
  if (IS(f, T_BUILTIN)) return ((Builtin *)f)->doc ? valk_cstr(((Builtin *)f)->doc) : NIL;
  if (IS(f, T_LAMBDA)) return ((Lambda *)f)->doc ? ((Lambda *)f)->doc : NIL;
  return NIL;
}

static V bi_gc_collect(V *a, int n) {
  (void)a; (void)n;
  valk_gc_collect();
  return NIL;
}

static V bi_gc_stress(V *a, int n) {
  (void)a; (void)n;
  return BOOL(valk_gc_stress_interval() > 0);
}

static const valk_reg core_fns[] = {
    {"+", bi_add, 0, -1, "(+ x...) sum; integer unless an argument is a float"},
    {"-", bi_sub, 1, -1, "(- x y...) difference, or negation with one argument"},
    {"*", bi_mul, 0, -1, "(* x...) product"},
    {"/", bi_div, 1, -1, "(/ x y...) quotient; integer division truncates like C"},
    {"%", bi_mod, 2, 2, "(% x y) remainder"},
    {"mod", bi_mod, 2, 2, "(mod x y) remainder"},
    {"<", bi_lt, 1, -1, "(< a b...) true when increasing (numbers or strings)"},
    {">", bi_gt, 1, -1, "(> a b...) true when decreasing"},
    {"<=", bi_le, 1, -1, "(<= a b...) true when non-decreasing"},
    {">=", bi_ge, 1, -1, "(>= a b...) true when non-increasing"},
    {"==", bi_eq, 1, -1, "(== a b...) structural equality"},
    {"!=", bi_ne, 2, 2, "(!= a b) structural inequality"},
    {"identical?", bi_identical, 2, 2, "(identical? a b) same object"},
    {"not", bi_not, 1, 1, "(not x) true when x is false, nil, {} or 0"},
    {"min", bi_min, 1, -1, "(min x...) smallest number"},
    {"max", bi_max, 1, -1, "(max x...) largest number"},
    {"abs", bi_abs, 1, 1, "(abs x) absolute value"},
    {"floor", bi_floor, 1, 1, "(floor x) largest integer <= x"},
    {"ceil", bi_ceil, 1, 1, "(ceil x) smallest integer >= x"},
    {"round", bi_round, 1, 1, "(round x) nearest integer, halves away from zero"},
    {"int", bi_int, 1, 1, "(int x) truncates a number to an integer"},
    {"float", bi_float, 1, 1, "(float x) converts a number to a float"},
    {"sqrt", bi_sqrt, 1, 1, "(sqrt x) square root"},
    {"pow", bi_pow, 2, 2, "(pow base exp) power; integer for integer arguments"},
    {"nil?", bi_nilp, 1, 1, "(nil? x) true for nil and {}"},
    {"int?", bi_intp, 1, 1, "(int? x)"},
    {"integer?", bi_intp, 1, 1, "(integer? x)"},
    {"float?", bi_floatp, 1, 1, "(float? x)"},
    {"number?", bi_numberp, 1, 1, "(number? x)"},
    {"string?", bi_stringp, 1, 1, "(string? x)"},
    {"str?", bi_stringp, 1, 1, "(str? x)"},
    {"symbol?", bi_symbolp, 1, 1, "(symbol? x)"},
    {"keyword?", bi_keywordp, 1, 1, "(keyword? x)"},
    {"list?", bi_listp, 1, 1, "(list? x) true for lists including {}"},
    {"empty?", bi_emptyp, 1, 1, "(empty? x) true for {}, nil, \"\" and an empty map"},
    {"fn?", bi_fnp, 1, 1, "(fn? x) true for functions"},
    {"macro?", bi_macrop, 1, 1, "(macro? x)"},
    {"bool?", bi_boolp, 1, 1, "(bool? x)"},
    {"error?", bi_errorp, 1, 1, "(error? x) true for error values"},
    {"true?", bi_truep, 1, 1, "(true? x) true only for true"},
    {"false?", bi_falsep, 1, 1, "(false? x) true only for false"},
    {"type", bi_type, 1, 1, "(type x) keyword naming the type: :int :float :string :list :map ..."},
    {"error", bi_error, 0, -1, "(error msg) or (error fmt args...) raises an error"},
    {"make-error", bi_make_error, 1, 2, "(make-error msg [data]) an error value, not raised"},
    {"throw", bi_throw, 1, 1, "(throw err) raises an error value again"},
    {"error-message", bi_error_message, 1, 1, "(error-message e) the message string"},
    {"error-kind", bi_error_kind, 1, 1, "(error-kind e) keyword such as :error :syntax :assert"},
    {"error-data", bi_error_data, 1, 1, "(error-data e) data attached with make-error"},
    {"error-location", bi_error_location, 1, 1, "(error-location e) \"file:line:col\" or nil"},
    {"error-trace", bi_error_trace, 1, 1, "(error-trace e) list of backtrace lines"},
    {"error-report", bi_error_report, 1, 1, "(error-report e) message with location and backtrace"},
    {"gensym", bi_gensym, 0, 1, "(gensym [prefix]) a fresh symbol"},
    {"doc", bi_doc, 1, 1, "(doc f) documentation string of a function"},
    {"gc/collect", bi_gc_collect, 0, 0, "(gc/collect) runs a full garbage collection"},
    {"gc/stress?", bi_gc_stress, 0, 0, "(gc/stress?) true when VALK_GC_STRESS is on"},
    {NULL, NULL, 0, 0, NULL}};

void valk_core_register(void) { valk_register(core_fns); }
