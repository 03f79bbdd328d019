/*
 * dyn.c - dynamic bindings: `dyn` and `with-dyn*` (the `with-dyn` macro
 * is in lib/core.valk).
 *
 * Why: code deep inside a call (a process start, a file function, print)
 * needs settings its caller chose - the directory to run in, the
 * environment, where output goes - without every function in between
 * passing them along. Like Janet's dyn, the bindings belong to the fiber:
 * valk_S->dyn is a map (NULL for none) that a new fiber copies from its
 * parent (src/rt/task.c), so two fibers never see each other's bindings.
 *
 * Invariant: a bindings map is never changed once installed; with-dyn*
 * installs a fresh merged copy and puts the old map back afterwards, on
 * every path (return or error).
 */
#include "valk.h"

V valk_dyn(V key, V dflt) {
  V d = valk_S->dyn;
  return d ? valk_map_get(d, key, dflt) : dflt;
}

/* (dyn key [default]) */
static V bi_dyn(V *a, int n) { return valk_dyn(a[0], n > 1 ? a[1] : NIL); }

typedef struct { V f; V result; } DynJob;
static void dyn_body(void *ud) {
  DynJob *j = ud;
  j->result = valk_apply(j->f, NULL, 0);
}

/* (with-dyn* bindings f) */
static V bi_with_dyn(V *a, int n) {
  (void)n;
  if (!IS(a[0], T_MAP)) valk_raise("with-dyn*: bindings must be a map, got %s", valk_type_name(a[0]));
  if (!valk_is_callable(a[1])) valk_raise("with-dyn*: argument 2 must be a function, got %s", valk_type_name(a[1]));
  V saved = valk_S->dyn;
  V merged = saved ? valk_map_copy(saved) : valk_map_new(8);
  V k, v;
  for (uint32_t i = 0; valk_map_next(a[0], &i, &k, &v);) valk_map_set(merged, k, v);
  valk_S->dyn = merged;
  DynJob j = {a[1], NIL};
  V err = valk_pcall(dyn_body, &j);
  valk_S->dyn = saved;
  if (err) valk_throw(err);
  return j.result;
}

static const valk_reg dyn_fns[] = {
    {"dyn", bi_dyn, 1, 2, "(dyn key [default]) the current fiber's dynamic binding of key, or default (nil)"},
    {"with-dyn*", bi_with_dyn, 2, 2,
     "(with-dyn* bindings f) calls f with the map bindings merged over the current dynamic bindings; fibers started inside inherit them"},
    {NULL, NULL, 0, 0, NULL}};

void valk_dyn_register(void) { valk_register(dyn_fns); }
