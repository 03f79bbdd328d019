/*
 * eval.c - the evaluator: special forms, function application, macros.
 *
 * A tree-walking evaluator over the forms the reader produces. Calls in
 * tail position (the last form of a body, the branches of if/when/cond/
 * select/case, the last operand of and/or, a Q-expression branch) do not
 * recurse in C: eval_impl rebinds x/env and jumps back to its top, so a
 * self-recursive loop runs in constant C stack. Non-tail recursion uses
 * the C stack, and valk_S->stack_limit turns exhaustion into a catchable
 * "stack depth exceeded" error.
 *
 * Evaluation rules:
 *   ( ... )  S-expression: special form, macro call or function call; a
 *            one-element S-expression whose element is not callable
 *            evaluates to that element.
 *   { ... }  Q-expression: a quoted list. Evaluated "as code" (if branches,
 *            lambda bodies, eval) it is an S-expression, except that a
 *            one-element Q-expression is just its element: {x} is x.
 *   [ ... ]  vector: each element evaluated, the result is a list.
 *   {:k v}   map literal (read as a map): values evaluated, fresh map.
 *
 * Every lambda application in a C frame links a valk_callinfo into the
 * call chain (updated in place on tail calls) so errors can carry a
 * Valkyria backtrace.
 */
#include "valk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static V sym_amp, sym_quote, sym_unquote, sym_splice, sym_quasiquote, sym_catch, sym_finally;
static V sym_otherwise, sym_else, sym_default, sym_underscore, kw_else;

enum { MODE_NORMAL, MODE_CODE };
static V eval_impl(V x, Env *env, int mode);

V valk_eval(V x, Env *env) { return eval_impl(x, env, MODE_NORMAL); }

/* ---- environments ---- */
Env *valk_env_new(Env *parent, int cap) {
  Env *e = valk_alloc(sizeof(Env) + (size_t)(2 * cap) * sizeof(V));
  e->parent = parent;
  e->cap = cap;
  e->slots = (V *)(e + 1);
  return e;
}

void valk_env_define(Env *e, V sym, V val) {
  if (!e) { AS_SYM(sym)->global = val; return; }
  for (int i = 0; i < e->n; i++)
    if (e->slots[2 * i] == sym) { e->slots[2 * i + 1] = val; return; }
  VALK_ASSERT(e->n <= e->cap, "an environment holds at most cap bindings");
  if (e->n == e->cap) {
    int ncap = e->cap ? e->cap * 2 : 4;
    V *ns = valk_alloc((size_t)(2 * ncap) * sizeof(V));
    memcpy(ns, e->slots, (size_t)(2 * e->n) * sizeof(V));
    e->slots = ns;
    e->cap = ncap;
  }
  e->slots[2 * e->n] = sym;
  e->slots[2 * e->n + 1] = val;
  e->n++;
}

static inline V lookup(V sym, Env *env) {
  for (Env *e = env; e; e = e->parent) {
    V *s = e->slots;
    for (int i = 0, n = e->n; i < n; i++)
      if (s[2 * i] == sym) return s[2 * i + 1];
  }
  return AS_SYM(sym)->global;
}

V valk_lookup(V sym, Env *env) { return lookup(sym, env); }

/* Evaluates x; ctx is the enclosing form, used to place errors about
   unbound symbols. Symbols and constants are handled without a call. */
static inline V eval_in(V x, Env *env, V ctx) {
  if (IS_FIX(x)) return x;
  if (x->type == T_SYM) {
    V v = lookup(x, env);
    if (!v && !(v = valk_autoload(x))) valk_raise_at(ctx, "unbound symbol: %s", AS_SYM(x)->name);
    return v;
  }
  if (x->type == T_CONS || x->type == T_MAP) return eval_impl(x, env, MODE_NORMAL);
  return x;
}

/* ---- helpers ---- */
static inline V second(V l) { return CAR(CDR(l)); }

static int list_count(V l) {
  int n = 0;
  for (; IS_CONS(l); l = CDR(l)) n++;
  return n;
}

static bool is_qexpr(V x) { return IS_CONS(x) && (x->kind == K_QEXPR || x->kind == K_DATA); }

static const char *sym_name(V s) {
  VALK_ASSERT(IS(s, T_SYM) || IS(s, T_KW), "only symbols and keywords have names");
  return AS_SYM(s)->name;
}

static _Noreturn void bad_form(V form, const char *what, const char *usage) {
  valk_raise_at(form, "%s: malformed, expected %s", what, usage);
}

/* A list written as a literal ({a b}, [a b]) is used as is; an S-expression
   is evaluated and must produce a list. Used for parameter and name lists. */
static V literal_or_eval_list(V form, Env *env, V ctx, const char *who) {
  V l = form;
  if (IS_CONS(form) && form->kind == K_SEXPR) l = eval_impl(form, env, MODE_NORMAL);
  else if (IS(form, T_SYM)) l = eval_in(form, env, ctx);
  if (!IS_LIST(l)) valk_raise_at(ctx, "%s: expected a list of symbols, got %s", who, valk_type_name(l));
  return l;
}

static V make_lambda(V params, V body, Env *env, int flags, V name, V ctx, const char *who) {
  Lambda *f = valk_alloc(sizeof(Lambda));
  f->h.type = T_LAMBDA;
  f->h.kind = (uint8_t)flags;
  f->name = name;
  f->env = env;
  f->body = body;
  int n = list_count(params);
  f->params = valk_alloc((size_t)(n ? n : 1) * sizeof(V));
  for (V l = params; IS_CONS(l); l = CDR(l)) {
    V p = CAR(l);
    if (!IS(p, T_SYM)) valk_raise_at(ctx, "%s: parameter must be a symbol, got %s", who, valk_repr_c(p));
    if (p == sym_amp) {
      V rest = CDR(l);
      if (!IS_CONS(rest) || !IS(CAR(rest), T_SYM) || CDR(rest) != EMPTY)
        valk_raise_at(ctx, "%s: '&' must be followed by exactly one parameter name", who);
      f->rest = CAR(rest);
      break;
    }
    f->params[f->nparams++] = p;
  }
  return (V)f;
}

static void name_value(V val, V name) {
  if (IS(val, T_LAMBDA) && !((Lambda *)val)->name) ((Lambda *)val)->name = name;
}

static Env *bind_args(Lambda *f, V *args, int n, V form) {
  if (n < f->nparams || (!f->rest && n > f->nparams)) {
    const char *nm = f->name ? sym_name(f->name) : "<anonymous fn>";
    if (f->rest)
      valk_raise_at(form, "%s: expected at least %d argument%s, got %d", nm, f->nparams, f->nparams == 1 ? "" : "s", n);
    valk_raise_at(form, "%s: expected %d argument%s, got %d", nm, f->nparams, f->nparams == 1 ? "" : "s", n);
  }
  int np = f->nparams;
  Env *e = valk_env_new(f->env, np + (f->rest ? 1 : 0));
  VALK_ASSERT(e->cap == np + (f->rest ? 1 : 0), "a call environment has room for exactly the parameters");
  V *s = e->slots;
  for (int i = 0; i < np; i++) { s[2 * i] = f->params[i]; s[2 * i + 1] = args[i]; }
  e->n = np;
  if (f->rest) {
    s[2 * np] = f->rest;
    s[2 * np + 1] = valk_list_from(args + np, n - np);
    e->n++;
  }
  return e;
}

static _Noreturn void arity_error(Builtin *b, int n, V form) {
  if (b->max < 0)
    valk_raise_at(form, "%s: expected at least %d argument%s, got %d", b->name, b->min, b->min == 1 ? "" : "s", n);
  if (b->min == b->max)
    valk_raise_at(form, "%s: expected %d argument%s, got %d", b->name, b->min, b->min == 1 ? "" : "s", n);
  valk_raise_at(form, "%s: expected %d to %d arguments, got %d", b->name, b->min, b->max, n);
}

/* (:key map [default]) and (map key [default]) */
static V apply_lookup(V f, V *args, int n, V form) {
  if (IS(f, T_KW)) {
    if (n < 1 || n > 2) valk_raise_at(form, "keyword %s: expected a map and an optional default", valk_repr_c(f));
    V m = args[0];
    V dflt = n == 2 ? args[1] : NIL;
    return IS(m, T_MAP) ? valk_map_get(m, f, dflt) : dflt;
  }
  if (n < 1 || n > 2) valk_raise_at(form, "map as function: expected a key and an optional default");
  return valk_map_get(f, args[0], n == 2 ? args[1] : NIL);
}

/* ---- quasiquote ---- */
static V quasi(V t, Env *env, V ctx) {
  valk_stack_check();
  if (IS(t, T_MAP)) {
    V m = valk_map_new(AS_MAP(t)->count);
    V k, v;
    for (uint32_t i = 0; valk_map_next(t, &i, &k, &v);) valk_map_set(m, quasi(k, env, ctx), quasi(v, env, ctx));
    return m;
  }
  if (!IS_CONS(t)) return t;
  if (CAR(t) == sym_unquote) {
    if (!IS_CONS(CDR(t))) bad_form(t, "unquote", "(unquote form)");
    return eval_in(second(t), env, t);
  }
  if (CAR(t) == sym_quasiquote) return t; /* nested levels stay literal */
  /* code a macro builds stands where the macro was called: an error in
     it (an unbound name the caller wrote) points at the caller's code,
     not at the macro's template in its library */
  V pos = valk_S->expansion && valk_S->expansion->line ? valk_S->expansion : t;
  V head = EMPTY, tail = NULL;
  for (V l = t; IS_CONS(l); l = CDR(l)) {
    V e = CAR(l);
    V piece;
    if (IS_CONS(e) && CAR(e) == sym_splice) {
      if (!IS_CONS(CDR(e))) bad_form(e, "unquote-splicing", "(unquote-splicing form)");
      piece = eval_in(second(e), env, e);
      if (piece == NIL) continue;
      if (!IS_LIST(piece)) valk_raise_at(e, ",@ expects a list, got %s", valk_type_name(piece));
    } else {
      piece = valk_cons(quasi(e, env, ctx), EMPTY);
    }
    for (V p = piece; IS_CONS(p); p = CDR(p)) {
      Cons *c = (Cons *)valk_cons_kind(CAR(p), EMPTY, t->kind);
      c->h.line = pos->line;
      c->h.col = pos->col;
      c->file = ((Cons *)pos)->file;
      if (tail) ((Cons *)tail)->cdr = (V)c;
      else head = (V)c;
      tail = (V)c;
    }
  }
  return head;
}

/* ---- special forms that never tail call ---- */
static V eval_map_literal(V m, Env *env) {
  V out = valk_map_new(AS_MAP(m)->count);
  V k, v;
  for (uint32_t i = 0; valk_map_next(m, &i, &k, &v);) valk_map_set(out, k, eval_in(v, env, NULL));
  return out;
}

static V eval_vector(V x, Env *env) {
  V head = EMPTY, tail = NULL;
  for (V l = x; IS_CONS(l); l = CDR(l)) {
    V c = valk_cons(eval_in(CAR(l), env, x), EMPTY);
    if (tail) ((Cons *)tail)->cdr = c;
    else head = c;
    tail = c;
  }
  return head;
}

static V sf_def(V x, Env *env) {
  V args = CDR(x);
  if (!IS_CONS(args)) bad_form(x, "def", "(def {names...} values...) or (def name value)");
  V names = CAR(args);
  if (IS(names, T_SYM)) {
    if (list_count(args) != 2) bad_form(x, "def", "(def name value)");
    V val = eval_in(second(args), env, x);
    name_value(val, names);
    AS_SYM(names)->global = val;
    return NIL;
  }
  names = literal_or_eval_list(names, env, x, "def");
  int nn = list_count(names), nv = list_count(CDR(args));
  if (nn != nv) valk_raise_at(x, "def: %d name%s but %d value%s", nn, nn == 1 ? "" : "s", nv, nv == 1 ? "" : "s");
  V vals = CDR(args);
  for (V l = names; IS_CONS(l); l = CDR(l), vals = CDR(vals)) {
    if (!IS(CAR(l), T_SYM)) valk_raise_at(x, "def: cannot define %s, expected a symbol", valk_repr_c(CAR(l)));
    V val = eval_in(CAR(vals), env, x);
    name_value(val, CAR(l));
    AS_SYM(CAR(l))->global = val;
  }
  return NIL;
}

static V sf_set(V x, Env *env) {
  V args = CDR(x);
  if (list_count(args) < 2) bad_form(x, "=", "(= {names...} values...) or (= (:key map) value)");
  V target = CAR(args);
  if (IS_CONS(target) && target->kind == K_SEXPR && IS(CAR(target), T_KW)) {
    if (list_count(args) != 2 || list_count(target) != 2) bad_form(x, "=", "(= (:key map) value)");
    V m = eval_in(second(target), env, x);
    if (!IS(m, T_MAP)) valk_raise_at(x, "=: cannot set %s of a %s, expected a map", valk_repr_c(CAR(target)), valk_type_name(m));
    V val = eval_in(second(args), env, x);
    valk_map_set(m, CAR(target), val);
    return val;
  }
  V names = IS(target, T_SYM) ? valk_cons(target, EMPTY) : literal_or_eval_list(target, env, x, "=");
  int nn = list_count(names), nv = list_count(CDR(args));
  if (nn != nv) valk_raise_at(x, "=: %d name%s but %d value%s", nn, nn == 1 ? "" : "s", nv, nv == 1 ? "" : "s");
  V vals = CDR(args), last = NIL;
  for (V l = names; IS_CONS(l); l = CDR(l), vals = CDR(vals)) {
    if (!IS(CAR(l), T_SYM)) valk_raise_at(x, "=: cannot assign to %s, expected a symbol", valk_repr_c(CAR(l)));
    last = eval_in(CAR(vals), env, x);
    name_value(last, CAR(l));
    valk_env_define(env, CAR(l), last);
  }
  return last;
}

/* (\ {params} {body}) */
static V sf_lambda(V x, Env *env) {
  if (list_count(x) != 3) bad_form(x, "\\", "(\\ {params} {body})");
  V params = literal_or_eval_list(second(x), env, x, "\\");
  V body = CAR(CDR(CDR(x)));
  if (IS_CONS(body) && body->kind == K_SEXPR) body = eval_impl(body, env, MODE_NORMAL);
  return make_lambda(params, valk_cons(body, EMPTY), env, LF_QBODY, NULL, x, "\\");
}

/* (fun {name params...} {body}) */
static V sf_fun(V x, Env *env) {
  if (list_count(x) != 3) bad_form(x, "fun", "(fun {name params...} {body})");
  V sig = literal_or_eval_list(second(x), env, x, "fun");
  if (!IS_CONS(sig) || !IS(CAR(sig), T_SYM)) bad_form(x, "fun", "(fun {name params...} {body})");
  V body = CAR(CDR(CDR(x)));
  V f = make_lambda(CDR(sig), valk_cons(body, EMPTY), env, LF_QBODY, CAR(sig), x, "fun");
  AS_SYM(CAR(sig))->global = f;
  return NIL;
}

/* (fn [params] body...), (defun name [params] "doc"? body...),
   (defmacro name [params] body...) */
static V sf_fn(V x, Env *env, int which) {
  V rest = CDR(x), name = NULL;
  const char *who = which == SF_FN ? "fn" : which == SF_DEFUN ? "defun" : "defmacro";
  if (which != SF_FN) {
    if (!IS_CONS(rest) || !IS(CAR(rest), T_SYM)) valk_raise_at(x, "%s: expected a name after %s", who, who);
    name = CAR(rest);
    rest = CDR(rest);
  } else if (IS_CONS(rest) && IS(CAR(rest), T_SYM)) {
    name = CAR(rest); /* (fn name [params] ...) names a recursive fn */
    rest = CDR(rest);
  }
  if (!IS_CONS(rest) || !IS_LIST(CAR(rest)))
    valk_raise_at(x, "%s: expected a parameter list like [x y & more]", who);
  V params = CAR(rest), body = CDR(rest), doc = NULL;
  if (IS_CONS(body) && IS(CAR(body), T_STR) && IS_CONS(CDR(body))) {
    doc = CAR(body);
    body = CDR(body);
  }
  Lambda *f = (Lambda *)make_lambda(params, body, env, which == SF_DEFMACRO ? LF_MACRO : 0, name, x, who);
  f->doc = doc;
  if (which == SF_FN) {
    if (name) { /* bind the name inside so the fn can call itself */
      Env *self = valk_env_new(env, 1);
      valk_env_define(self, name, (V)f);
      f->env = self;
    }
    return (V)f;
  }
  AS_SYM(name)->global = (V)f;
  return NIL;
}

/* (try body... (catch e handler...) (finally cleanup...)) */
typedef struct { V forms; Env *env; V ctx; V result; } BodyRun;

static void run_body(void *ud) {
  BodyRun *br = ud;
  br->result = NIL;
  for (V l = br->forms; IS_CONS(l); l = CDR(l)) br->result = eval_in(CAR(l), br->env, br->ctx);
}

static V sf_try(V x, Env *env) {
  V body = EMPTY, btail = NULL, catch_clause = NULL, finally_clause = NULL;
  for (V l = CDR(x); IS_CONS(l); l = CDR(l)) {
    V f = CAR(l);
    if (IS_CONS(f) && f->kind == K_SEXPR && CAR(f) == sym_catch) {
      if (!IS_CONS(CDR(f)) || !IS(second(f), T_SYM)) bad_form(f, "catch", "(catch e handler...)");
      catch_clause = f;
    } else if (IS_CONS(f) && f->kind == K_SEXPR && CAR(f) == sym_finally) {
      finally_clause = f;
    } else {
      V c = valk_cons(f, EMPTY);
      if (btail) ((Cons *)btail)->cdr = c;
      else body = c;
      btail = c;
    }
  }
  BodyRun br = {body, env, x, NIL};
  V err = valk_pcall(run_body, &br);
  V result = br.result;
  if (err && catch_clause) {
    Env *ce = valk_env_new(env, 1);
    valk_env_define(ce, second(catch_clause), err);
    BodyRun hr = {CDR(CDR(catch_clause)), ce, catch_clause, NIL};
    if (finally_clause) {
      err = valk_pcall(run_body, &hr);
    } else {
      err = NULL;
      run_body(&hr);
    }
    result = hr.result;
  }
  if (finally_clause) {
    BodyRun fr = {CDR(finally_clause), env, finally_clause, NIL};
    run_body(&fr);
  }
  if (err) valk_throw(err);
  return result;
}

/* (for-each x xs body...) binds x to each element; (for-each f xs) calls f */
static V sf_for_each(V x, Env *env) {
  int n = list_count(CDR(x));
  V a = CDR(x);
  if (n >= 3 && IS(CAR(a), T_SYM)) {
    V items = valk_as_list(eval_in(second(a), env, x), x, "for-each");
    for (V l = items; IS_CONS(l); l = CDR(l)) {
      Env *e = valk_env_new(env, 1);
      valk_env_define(e, CAR(a), CAR(l));
      for (V b = CDR(CDR(a)); IS_CONS(b); b = CDR(b)) eval_in(CAR(b), e, x);
    }
    return NIL;
  }
  if (n != 2) bad_form(x, "for-each", "(for-each x list body...) or (for-each f list)");
  V f = eval_in(CAR(a), env, x);
  V items = valk_as_list(eval_in(second(a), env, x), x, "for-each");
  for (V l = items; IS_CONS(l); l = CDR(l)) valk_apply(f, &CAR(l), 1);
  return NIL;
}

static V sf_while(V x, Env *env) {
  if (!IS_CONS(CDR(x))) bad_form(x, "while", "(while cond body...)");
  while (valk_truthy(eval_in(second(x), env, x))) {
    for (V b = CDR(CDR(x)); IS_CONS(b); b = CDR(b)) eval_in(CAR(b), env, x);
    if (valk_interrupted) return NIL; /* let the loop top raise it */
  }
  return NIL;
}

static _Noreturn void assert_fail(V form, V msg, V text) {
  Buf b;
  buf_init(&b, 128);
  buf_put(&b, AS_STR(text)->s, AS_STR(text)->len);
  if (msg) {
    Str *m = AS_STR(valk_display(msg));
    buf_puts(&b, ": ");
    buf_put(&b, m->s, m->len);
  }
  valk_throw(valk_error_new(valk_kw("assert"), buf_to_str(&b), form));
}

static const char *code_c(V form) {
  Buf b;
  buf_init(&b, 64);
  valk_print_code(&b, form);
  return AS_STR(buf_to_str(&b))->s;
}

static V sf_assert(V x, Env *env, int which) {
  V a = CDR(x);
  int n = list_count(a);
  if (which == SF_ASSERT) {
    if (n < 1 || n > 2) bad_form(x, "assert", "(assert cond [message])");
    V c = eval_in(CAR(a), env, x);
    if (!valk_truthy(c))
      assert_fail(x, n == 2 ? eval_in(second(a), env, x) : NULL, valk_strf("assertion failed: %s", code_c(CAR(a))));
    return VTRUE;
  }
  if (which == SF_ASSERT_EQ) {
    if (n < 2 || n > 3) bad_form(x, "assert-eq", "(assert-eq expected actual [message])");
    V want = eval_in(CAR(a), env, x);
    V got = eval_in(second(a), env, x);
    if (!valk_equal(want, got)) {
      const char *ws = valk_repr_c(want), *gs = valk_repr_c(got);
      /* {:a :b} is how both a map and a list of two keywords print */
      V msg = strcmp(ws, gs) ? valk_strf("assert-eq failed: expected %s, actual %s", ws, gs)
                             : valk_strf("assert-eq failed: expected %s (a %s), actual %s (a %s)", ws,
                                         valk_type_name(want), gs, valk_type_name(got));
      assert_fail(x, n == 3 ? eval_in(CAR(CDR(CDR(a))), env, x) : NULL, msg);
    }
    return VTRUE;
  }
  /* assert-error: the form must raise; an optional string must occur in the message */
  if (n < 1 || n > 2) bad_form(x, "assert-error", "(assert-error expr [message-substring])");
  BodyRun br = {valk_cons(CAR(a), EMPTY), env, x, NIL};
  V err = valk_pcall(run_body, &br);
  if (!err)
    assert_fail(x, NULL, valk_strf("assert-error: expected %s to raise an error, it returned %s", code_c(CAR(a)),
                                   valk_repr_c(br.result)));
  if (n == 2) {
    V want = eval_in(second(a), env, x);
    if (!IS(want, T_STR)) valk_raise_at(x, "assert-error: message to look for must be a string");
    Str *m = AS_STR(AS_ERR(err)->msg);
    if (!memmem(m->s, m->len, AS_STR(want)->s, AS_STR(want)->len))
      assert_fail(x, NULL, valk_strf("assert-error: error message %s does not contain %s",
                                     valk_repr_c(AS_ERR(err)->msg), valk_repr_c(want)));
  }
  return err;
}

/* Splits a select/case clause, {test body...} or [test body...], into its
   test and body forms. A clause whose test is a keyword was read as a
   one-entry map literal ({:else x}); it is taken apart the same way. */
static void clause_parts(V cl, V *test, V *body, V form, const char *complaint) {
  if (IS(cl, T_MAP) && AS_MAP(cl)->count == 1) {
    uint32_t i = 0;
    V b;
    valk_map_next(cl, &i, test, &b);
    *body = valk_cons(b, EMPTY);
  } else if (IS_CONS(cl) && IS_CONS(CDR(cl))) {
    *test = CAR(cl);
    *body = CDR(cl);
  } else {
    valk_raise_at(form, "%s, got %s", complaint, valk_repr_c(cl));
  }
}

/* ---- macros ---- */
static V expand_macro(Lambda *m, V x) {
  V argv[16];
  int n = list_count(CDR(x));
  V *args = n <= 16 ? argv : valk_alloc((size_t)n * sizeof(V));
  int i = 0;
  for (V l = CDR(x); IS_CONS(l); l = CDR(l)) args[i++] = CAR(l);
  Env *e = bind_args(m, args, n, x);
  valk_callinfo ci = {valk_S->ci, (V)m, x};
  valk_S->ci = &ci;
  V outer = valk_S->expansion; /* put back by a handler when the body raises */
  if (IS_CONS(x) && x->line) valk_S->expansion = x;
  V r = NIL;
  for (V b = m->body; IS_CONS(b); b = CDR(b)) r = eval_impl(CAR(b), e, MODE_NORMAL);
  valk_S->expansion = outer;
  valk_S->ci = ci.prev;
  return r;
}

V valk_macroexpand1(V form, Env *env, bool *expanded) {
  *expanded = false;
  if (!IS_CONS(form) || !IS(CAR(form), T_SYM)) return form;
  V f = lookup(CAR(form), env);
  if (!f || !IS(f, T_LAMBDA) || !(f->kind & LF_MACRO)) return form;
  *expanded = true;
  return expand_macro((Lambda *)f, form);
}

/* ---- the evaluator ---- */
static _Noreturn void stack_overflow(V x) {
  valk_throw(valk_error_new(valk_kw("stack-overflow"), valk_cstr("stack depth exceeded"), IS_CONS(x) ? x : valk_S->form));
}

#define BODY_TAIL(b, ctxform)                                                  \
  do {                                                                         \
    V b_ = (b);                                                                \
    if (!IS_CONS(b_)) { res = NIL; goto ret; }                                 \
    for (; IS_CONS(CDR(b_)); b_ = CDR(b_)) eval_in(CAR(b_), env, ctxform);     \
    x = CAR(b_);                                                               \
    goto tail;                                                                 \
  } while (0)

static V eval_impl(V x, Env *env, int mode) {
  valk_callinfo ci;
  bool pushed = false;
  V res;
  V argbuf[6];
  {
    char probe;
    if (&probe < valk_S->stack_limit) stack_overflow(x);
  }
  if (mode == MODE_CODE) goto code;
tail:
  if (valk_interrupted && valk_S->interruptible) {
    valk_interrupted = 0;
    valk_throw(valk_error_new(valk_kw("interrupted"), valk_cstr("interrupted"), IS_CONS(x) ? x : NULL));
  }
  if (IS_FIX(x)) { res = x; goto ret; }
  switch (x->type) {
  case T_SYM:
    res = lookup(x, env);
    if (!res && !(res = valk_autoload(x))) valk_raise("unbound symbol: %s", sym_name(x));
    goto ret;
  case T_CONS:
    if (x->kind == K_SEXPR) goto sexpr;
    if (x->kind == K_VEC) { res = eval_vector(x, env); goto ret; }
    res = x;
    goto ret;
  case T_MAP:
    res = eval_map_literal(x, env);
    goto ret;
  default:
    res = x;
    goto ret;
  }

code: /* x is evaluated as code: a Q-expression is an S-expression */
  if (IS_CONS(x) && x->kind != K_VEC) {
    if (x->kind != K_SEXPR && !IS_CONS(CDR(x))) { x = CAR(x); goto tail; }
    goto sexpr;
  }
  goto tail;

sexpr: {
  V head = CAR(x);
  V f;
  if (!IS_FIX(head) && head->type == T_SYM) {
    int sf = AS_SYM(head)->special;
    if (sf) {
      switch (sf) {
      case SF_QUOTE:
        if (list_count(x) != 2) bad_form(x, "quote", "(quote form)");
        res = second(x);
        goto ret;
      case SF_QUASIQUOTE:
        if (list_count(x) != 2) bad_form(x, "quasiquote", "(quasiquote form)");
        res = quasi(second(x), env, x);
        goto ret;
      case SF_UNQUOTE: case SF_SPLICE:
        valk_raise_at(x, "%s used outside of a quasiquote (`)", sym_name(head));
      case SF_IF: {
        int n = list_count(x);
        if (n < 3 || n > 4) bad_form(x, "if", "(if cond then [else])");
        V c = eval_in(second(x), env, x);
        V br = CDR(CDR(x));
        if (!valk_truthy(c)) {
          if (!IS_CONS(CDR(br))) { res = NIL; goto ret; }
          br = CDR(br);
        }
        x = CAR(br);
        if (is_qexpr(x)) goto code;
        goto tail;
      }
      case SF_DO:
        BODY_TAIL(CDR(x), x);
      case SF_LET: {
        if (!IS_CONS(CDR(x)) || !IS_LIST(second(x))) bad_form(x, "let", "(let [name value ...] body...)");
        V binds = second(x);
        int nb = list_count(binds);
        if (nb % 2) valk_raise_at(x, "let: bindings need name value pairs, got an odd number of forms");
        V form = x;
        Env *e = valk_env_new(env, nb / 2);
        for (V l = binds; IS_CONS(l); l = CDR(CDR(l))) {
          if (!IS(CAR(l), T_SYM)) valk_raise_at(form, "let: cannot bind %s, expected a symbol", valk_repr_c(CAR(l)));
          valk_env_define(e, CAR(l), eval_in(second(l), e, form));
        }
        env = e;
        V b = CDR(CDR(form));
        if (!IS_CONS(b)) { res = NIL; goto ret; }
        for (; IS_CONS(CDR(b)); b = CDR(b)) eval_impl(CAR(b), env, is_qexpr(CAR(b)) ? MODE_CODE : MODE_NORMAL);
        x = CAR(b);
        if (is_qexpr(x)) goto code;
        goto tail;
      }
      case SF_FN: case SF_DEFUN: case SF_DEFMACRO: res = sf_fn(x, env, sf); goto ret;
      case SF_LAMBDA: res = sf_lambda(x, env); goto ret;
      case SF_FUN: res = sf_fun(x, env); goto ret;
      case SF_DEF: res = sf_def(x, env); goto ret;
      case SF_SET: res = sf_set(x, env); goto ret;
      case SF_AND: case SF_OR: {
        V l = CDR(x);
        if (!IS_CONS(l)) { res = sf == SF_AND ? VTRUE : VFALSE; goto ret; }
        for (; IS_CONS(CDR(l)); l = CDR(l)) {
          V v = eval_in(CAR(l), env, x);
          if (valk_truthy(v) != (sf == SF_AND)) { res = v; goto ret; }
        }
        x = CAR(l);
        goto tail;
      }
      case SF_WHEN: case SF_UNLESS: {
        if (!IS_CONS(CDR(x))) bad_form(x, sym_name(head), "(when cond body...)");
        V c = eval_in(second(x), env, x);
        if (valk_truthy(c) != (sf == SF_WHEN)) { res = NIL; goto ret; }
        BODY_TAIL(CDR(CDR(x)), x);
      }
      case SF_COND: {
        V l = CDR(x);
        if (list_count(l) % 2) valk_raise_at(x, "cond: expected test expression pairs, got an odd number of forms");
        for (; IS_CONS(l); l = CDR(CDR(l))) {
          if (valk_truthy(eval_in(CAR(l), env, x))) { x = second(l); goto tail; }
        }
        res = NIL;
        goto ret;
      }
      case SF_SELECT: {
        for (V l = CDR(x); IS_CONS(l); l = CDR(l)) {
          V cl = CAR(l), test, body;
          clause_parts(cl, &test, &body, x, "select: each clause must be {condition expression}");
          if (valk_truthy(eval_in(test, env, IS_CONS(cl) ? cl : x))) BODY_TAIL(body, x);
        }
        res = NIL;
        goto ret;
      }
      case SF_CASE: {
        if (!IS_CONS(CDR(x))) bad_form(x, "case", "(case value {match expr}...) or (case value match expr ... default)");
        V val = eval_in(second(x), env, x);
        V cls = CDR(CDR(x));
        bool braced = IS_CONS(cls) && ((IS_CONS(CAR(cls)) && CAR(cls)->kind != K_SEXPR) || IS(CAR(cls), T_MAP));
        for (V l = cls; IS_CONS(l);) {
          V test, body;
          if (braced) {
            clause_parts(CAR(l), &test, &body, x, "case: each clause must be {value expression}");
            l = CDR(l);
          } else if (!IS_CONS(CDR(l))) { /* trailing default */
            x = CAR(l);
            goto tail;
          } else {
            test = CAR(l);
            body = valk_cons(second(l), EMPTY);
            l = CDR(CDR(l));
          }
          bool dflt = test == sym_otherwise || test == sym_else || test == sym_default || test == sym_underscore || test == kw_else;
          if (dflt || valk_equal(val, eval_in(test, env, x))) BODY_TAIL(body, x);
        }
        res = NIL;
        goto ret;
      }
      case SF_TRY: res = sf_try(x, env); goto ret;
      case SF_FOR_EACH: res = sf_for_each(x, env); goto ret;
      case SF_WHILE: res = sf_while(x, env); goto ret;
      case SF_ASSERT: case SF_ASSERT_EQ: case SF_ASSERT_ERROR: res = sf_assert(x, env, sf); goto ret;
      }
    }
    f = lookup(head, env);
    if (!f && !(f = valk_autoload(head))) valk_raise_at(x, "unbound symbol: %s", sym_name(head));
  } else {
    f = eval_in(head, env, x);
  }

  if (!IS_FIX(f) && f->type == T_LAMBDA && (f->kind & LF_MACRO)) {
    V call = x;
    x = expand_macro((Lambda *)f, x);
    if (IS_CONS(x) && call->line) { /* errors in the expansion point at the call */
      ((Cons *)x)->file = ((Cons *)call)->file;
      x->line = call->line;
      x->col = call->col;
    }
    if (IS_CONS(x) && x->kind != K_VEC) goto sexpr;
    goto tail;
  }

  /* evaluate arguments */
  int n = 0;
  for (V l = CDR(x); IS_CONS(l); l = CDR(l)) n++;
  V *args = n <= 6 ? argbuf : valk_alloc((size_t)n * sizeof(V));
  {
    int i = 0;
    for (V l = CDR(x); IS_CONS(l); l = CDR(l)) args[i++] = eval_in(CAR(l), env, x);
  }
  if (IS_FIX(f)) {
    if (n == 0) { res = f; goto ret; }
    valk_raise_at(x, "not a function: %s", valk_repr_c(f));
  }
  switch (f->type) {
  case T_BUILTIN: {
    Builtin *b = (Builtin *)f;
    if (n < b->min || (b->max >= 0 && n > b->max)) arity_error(b, n, x);
    valk_S->form = x;
    res = b->fn(args, n);
    goto ret;
  }
  case T_LAMBDA: {
    Lambda *fn = (Lambda *)f;
    env = bind_args(fn, args, n, x);
    if (!pushed) {
      ci.prev = valk_S->ci;
      valk_S->ci = &ci;
      pushed = true;
    }
    ci.fn = f;
    ci.form = x;
    V b = fn->body;
    if (!IS_CONS(b)) { res = NIL; goto ret; }
    for (; IS_CONS(CDR(b)); b = CDR(b)) eval_in(CAR(b), env, x);
    x = CAR(b);
    if (fn->h.kind & LF_QBODY) goto code;
    goto tail;
  }
  case T_KW: case T_MAP:
    res = apply_lookup(f, args, n, x);
    goto ret;
  default:
    if (n == 0) { res = f; goto ret; }
    valk_raise_at(x, "not a function: %s (a %s) cannot be called", valk_repr_c(f), valk_type_name(f));
  }
}

ret:
  if (pushed) {
    VALK_ASSERT(valk_S->ci == &ci, "an evaluation pops exactly the call info it pushed");
    valk_S->ci = ci.prev;
  }
  return res;
}

/* Calls any callable value with already evaluated arguments. */
V valk_apply(V f, V *args, int n) {
  V form = valk_S->form;
  V res;
  if (IS_FIX(f)) valk_raise("not a function: %s", valk_repr_c(f));
  switch (f->type) {
  case T_BUILTIN: {
    Builtin *b = (Builtin *)f;
    if (n < b->min || (b->max >= 0 && n > b->max)) arity_error(b, n, form);
    res = b->fn(args, n);
    break;
  }
  case T_LAMBDA: {
    Lambda *fn = (Lambda *)f;
    if (fn->h.kind & LF_MACRO) valk_raise("cannot apply macro %s as a function", fn->name ? sym_name(fn->name) : "");
    Env *e = bind_args(fn, args, n, form);
    valk_callinfo ci = {valk_S->ci, f, form};
    valk_S->ci = &ci;
    res = NIL;
    for (V b = fn->body; IS_CONS(b); b = CDR(b))
      res = eval_impl(CAR(b), e, (fn->h.kind & LF_QBODY) && !IS_CONS(CDR(b)) ? MODE_CODE : MODE_NORMAL);
    VALK_ASSERT(valk_S->ci == &ci, "an application pops exactly the call info it pushed");
    valk_S->ci = ci.prev;
    break;
  }
  case T_KW: case T_MAP:
    res = apply_lookup(f, args, n, form);
    break;
  default:
    valk_raise("not a function: %s (a %s) cannot be called", valk_repr_c(f), valk_type_name(f));
  }
  valk_S->form = form;
  return res;
}

V valk_call(V f, int n, ...) {
  V args[8];
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n && i < 8; i++) args[i] = va_arg(ap, V);
  va_end(ap);
  return valk_apply(f, args, n < 8 ? n : 8);
}

/* (eval form): a list is evaluated as code, like a Q-expression body */
static V bi_eval(V *args, int n) {
  (void)n;
  return eval_impl(args[0], NULL, MODE_CODE);
}

static V bi_macroexpand(V *args, int n) {
  (void)n;
  V form = args[0];
  bool expanded = true;
  while (expanded) form = valk_macroexpand1(form, NULL, &expanded);
  return form;
}

static V bi_macroexpand1(V *args, int n) {
  (void)n;
  bool expanded;
  return valk_macroexpand1(args[0], NULL, &expanded);
}

static const valk_reg eval_fns[] = {
    {"eval", bi_eval, 1, 1, "(eval form) evaluates form; a list is evaluated as code"},
    {"macroexpand", bi_macroexpand, 1, 1, "(macroexpand form) expands macros at the head of form until none is left"},
    {"macroexpand-1", bi_macroexpand1, 1, 1, "(macroexpand-1 form) expands the macro at the head of form once"},
    {NULL, NULL, 0, 0, NULL}};

static const struct { const char *name; int sf; } special_forms[] = {
    {"quote", SF_QUOTE}, {"quasiquote", SF_QUASIQUOTE}, {"unquote", SF_UNQUOTE},
    {"unquote-splicing", SF_SPLICE}, {"if", SF_IF}, {"do", SF_DO}, {"let", SF_LET},
    {"fn", SF_FN}, {"\\", SF_LAMBDA}, {"lambda", SF_LAMBDA}, {"fun", SF_FUN}, {"defun", SF_DEFUN},
    {"defmacro", SF_DEFMACRO}, {"def", SF_DEF}, {"=", SF_SET}, {"and", SF_AND}, {"or", SF_OR},
    {"when", SF_WHEN}, {"unless", SF_UNLESS}, {"cond", SF_COND}, {"select", SF_SELECT},
    {"case", SF_CASE}, {"try", SF_TRY}, {"for-each", SF_FOR_EACH}, {"while", SF_WHILE},
    {"assert", SF_ASSERT}, {"assert-eq", SF_ASSERT_EQ}, {"assert-error", SF_ASSERT_ERROR},
    {NULL, 0}};

void valk_eval_init(void);
void valk_eval_init(void) {
  for (int i = 0; special_forms[i].name; i++) AS_SYM(valk_sym(special_forms[i].name))->special = (uint8_t)special_forms[i].sf;
  sym_amp = valk_sym("&");
  sym_quote = valk_sym("quote");
  sym_unquote = valk_sym("unquote");
  sym_splice = valk_sym("unquote-splicing");
  sym_quasiquote = valk_sym("quasiquote");
  sym_catch = valk_sym("catch");
  sym_finally = valk_sym("finally");
  sym_otherwise = valk_sym("otherwise");
  sym_else = valk_sym("else");
  sym_default = valk_sym("default");
  sym_underscore = valk_sym("_");
  kw_else = valk_kw("else");
  valk_register(eval_fns);
}
