/*
 * forms.c - source positions of forms, and a static check of code.
 *
 * Why: a library that takes code from its caller (the CI DSL's `pipeline`
 * and `step`) must report mistakes where the caller wrote them, and
 * before the code runs: an unknown option at the line of the step, a
 * misspelt function name when the pipeline is defined, not when a run
 * reaches the step ten minutes later. The evaluator knows where each
 * list was read (Cons.file/line/col) and who called whom (valk_callinfo);
 * these builtins expose that:
 *   (call-form)            the form that called the running function or
 *                          macro (a list carrying its position)
 *   (form-location form)   "file:line:col" of a list, or nil
 *   (form-kind form)       :call (...), :vector [...], :code {...} or :data
 *   (error-at form fmt..)  raises an error placed at form
 *   (unbound-calls form)   the calls in form whose head symbol is bound
 *                          neither locally nor globally
 *
 * unbound-calls follows the binding forms of the language (let, fn,
 * defun, defmacro, try/catch, for-each, def) and expands macros, so that
 * a local function or a macro's own bindings are not reported. It errs on
 * the side of silence: code it cannot follow ({...} code lists, \ and
 * fun, malformed forms, macros that fail to expand) is not reported, and
 * a name that any def, defun or fun in the form defines counts as bound.
 */
#include "valk.h"

/* (call-form) */
static V bi_call_form(V *a, int n) {
  (void)a; (void)n;
  valk_callinfo *ci = valk_S->ci;
  return ci && ci->form ? ci->form : NIL;
}

/* (form-location form) */
static V bi_form_location(V *a, int n) {
  (void)n;
  V f = a[0];
  if (!IS_CONS(f) || !f->line || !((Cons *)f)->file) return NIL;
  return valk_strf("%s:%u:%u", ((Cons *)f)->file, f->line, f->col);
}

/* (form-kind form) */
static V bi_form_kind(V *a, int n) {
  (void)n;
  if (!IS_CONS(a[0])) return NIL;
  static const char *names[] = {"data", "call", "code", "vector"};
  return valk_kw(names[a[0]->kind]);
}

/* (error-at form fmt args...) */
static V bi_error_at(V *a, int n) {
  V msg = IS(a[1], T_STR) ? a[1] : valk_display(a[1]);
  if (n > 2) msg = valk_format(a[1], a + 2, n - 2, "error-at");
  V where = IS_CONS(a[0]) && a[0]->line ? a[0] : valk_S->form;
  valk_throw(valk_error_new(valk_kw("error"), msg, where));
}

/* ---- unbound-calls ---- */
typedef struct {
  V defined; /* map: symbols some def/defun/fun in the form defines */
  V out;     /* reversed list of the offending calls */
} Check;

static bool is_sexpr(V x) { return IS_CONS(x) && x->kind == K_SEXPR; }

static bool member(V sym, V l) {
  for (; IS_CONS(l); l = CDR(l))
    if (CAR(l) == sym) return true;
  return false;
}

/* Adds every symbol of a parameter or name list to locals. */
static V bind_all(V names, V locals) {
  for (V l = names; IS_CONS(l); l = CDR(l))
    if (IS(CAR(l), T_SYM)) locals = valk_cons(CAR(l), locals);
  return locals;
}

/* First pass: names defined anywhere in x count as bound everywhere. */
static void collect_defs(V x, V defined) {
  valk_stack_check();
  if (!IS_CONS(x)) return;
  V h = CAR(x);
  if (IS(h, T_SYM)) {
    int sf = AS_SYM(h)->special;
    V rest = CDR(x);
    if ((sf == SF_DEFUN || sf == SF_DEFMACRO) && IS_CONS(rest) && IS(CAR(rest), T_SYM))
      valk_map_set(defined, CAR(rest), VTRUE);
    if ((sf == SF_DEF || sf == SF_SET || sf == SF_FUN) && IS_CONS(rest) && IS_CONS(CAR(rest)))
      for (V l = CAR(rest); IS_CONS(l); l = CDR(l))
        if (IS(CAR(l), T_SYM)) {
          valk_map_set(defined, CAR(l), VTRUE);
          if (sf == SF_FUN) break; /* (fun {name params...} ...) */
        }
  }
  for (V l = x; IS_CONS(l); l = CDR(l)) collect_defs(CAR(l), defined);
}

static void walk(Check *c, V x, V locals);

static void walk_all(Check *c, V l, V locals) {
  for (; IS_CONS(l); l = CDR(l)) walk(c, CAR(l), locals);
}

static void walk_quasi(Check *c, V t, V locals) {
  valk_stack_check();
  if (!IS_CONS(t)) return;
  if ((CAR(t) == valk_sym("unquote") || CAR(t) == valk_sym("unquote-splicing")) && IS_CONS(CDR(t))) {
    walk(c, CAR(CDR(t)), locals);
    return;
  }
  for (V l = t; IS_CONS(l); l = CDR(l)) walk_quasi(c, CAR(l), locals);
}

typedef struct { V form; V result; } Expand;
static void expand_body(void *ud) {
  Expand *e = ud;
  bool expanded;
  e->result = valk_macroexpand1(e->form, NULL, &expanded);
}

static void walk_special(Check *c, V x, V locals, int sf) {
  V rest = CDR(x);
  switch (sf) {
  case SF_QUOTE: case SF_LAMBDA: case SF_FUN: return; /* data, or {code} we do not follow */
  case SF_QUASIQUOTE: walk_quasi(c, rest, locals); return;
  case SF_LET: {
    if (!IS_CONS(rest) || !IS_LIST(CAR(rest))) return;
    for (V l = CAR(rest); IS_CONS(l) && IS_CONS(CDR(l)); l = CDR(CDR(l))) {
      if (IS(CAR(l), T_SYM)) locals = valk_cons(CAR(l), locals); /* a value sees its own name */
      walk(c, CAR(CDR(l)), locals);
    }
    walk_all(c, CDR(rest), locals);
    return;
  }
  case SF_FN: case SF_DEFUN: case SF_DEFMACRO:
    if (IS_CONS(rest) && IS(CAR(rest), T_SYM)) {
      locals = valk_cons(CAR(rest), locals);
      rest = CDR(rest);
    }
    if (!IS_CONS(rest) || !IS_LIST(CAR(rest))) return;
    walk_all(c, CDR(rest), bind_all(CAR(rest), locals));
    return;
  case SF_DEF: case SF_SET:
    if (IS_CONS(rest)) walk_all(c, CDR(rest), locals);
    return;
  case SF_TRY:
    for (V l = rest; IS_CONS(l); l = CDR(l)) {
      V f = CAR(l);
      if (is_sexpr(f) && CAR(f) == valk_sym("catch") && IS_CONS(CDR(f))) {
        walk_all(c, CDR(CDR(f)), bind_all(valk_cons(CAR(CDR(f)), EMPTY), locals));
      } else if (is_sexpr(f) && CAR(f) == valk_sym("finally")) {
        walk_all(c, CDR(f), locals);
      } else {
        walk(c, f, locals);
      }
    }
    return;
  case SF_FOR_EACH:
    if (IS_CONS(rest) && IS(CAR(rest), T_SYM) && IS_CONS(CDR(rest)) && IS_CONS(CDR(CDR(rest)))) {
      walk(c, CAR(CDR(rest)), locals);
      walk_all(c, CDR(CDR(rest)), valk_cons(CAR(rest), locals));
      return;
    }
    walk_all(c, rest, locals);
    return;
  default: walk_all(c, rest, locals); return;
  }
}

static void walk(Check *c, V x, V locals) {
  valk_stack_check();
  if (IS(x, T_MAP)) {
    V k, v;
    for (uint32_t i = 0; valk_map_next(x, &i, &k, &v);) {
      walk(c, k, locals);
      walk(c, v, locals);
    }
    return;
  }
  if (!IS_CONS(x)) return;
  if (x->kind == K_VEC) { walk_all(c, x, locals); return; }
  if (x->kind != K_SEXPR) return; /* {code} and data lists are not evaluated here */
  V h = CAR(x);
  if (!IS(h, T_SYM)) { walk_all(c, x, locals); return; }
  if (member(h, locals) || valk_map_has(c->defined, h)) { walk_all(c, CDR(x), locals); return; }
  if (AS_SYM(h)->special) { walk_special(c, x, locals, AS_SYM(h)->special); return; }
  V f = AS_SYM(h)->global;
  if (!f) f = valk_autoload(h);
  if (!f) {
    c->out = valk_cons(x, c->out);
    walk_all(c, CDR(x), locals);
    return;
  }
  if (IS(f, T_LAMBDA) && (f->kind & LF_MACRO)) {
    Expand e = {x, NIL};
    if (valk_pcall(expand_body, &e)) return; /* the run will report it */
    walk(c, e.result, locals);
    return;
  }
  walk_all(c, CDR(x), locals);
}

/* (unbound-calls form) */
static V bi_unbound_calls(V *a, int n) {
  (void)n;
  Check c = {valk_map_new(8), EMPTY};
  collect_defs(a[0], c.defined);
  walk(&c, a[0], EMPTY);
  return valk_list_reverse(c.out);
}

static const valk_reg forms_fns[] = {
    {"call-form", bi_call_form, 0, 0,
     "(call-form) the form that called the running function or macro (a list carrying its file:line:col), or nil"},
    {"form-location", bi_form_location, 1, 1, "(form-location form) \"file:line:col\" where form was read, or nil"},
    {"form-kind", bi_form_kind, 1, 1,
     "(form-kind form) how a list was written: :call for (...), :vector for [...], :code for {...}, :data for a list made at run time; nil for other values"},
    {"error-at", bi_error_at, 2, -1,
     "(error-at form fmt args...) raises an error placed at form's file:line:col (see call-form)"},
    {"unbound-calls", bi_unbound_calls, 1, 1,
     "(unbound-calls form) the calls (f ...) in form whose f is bound neither globally nor by an enclosing let, fn, catch, for-each or def; macros are expanded"},
    {NULL, NULL, 0, 0, NULL}};

void valk_forms_register(void) { valk_register(forms_fns); }
