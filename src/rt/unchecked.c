/*
 * unchecked.c - failed process results that nobody looked at.
 *
 * Why: in a CI step, `(exec "cmake" ...)` followed by `(exec "ctest")`
 * must not report success when cmake failed and the program never asked
 * how it ended (the spirit of `set -e`), while a program that does ask,
 * `(when (failed? r) ...)`, keeps the decision. The rule is policy (lib/ci
 * applies it to steps); this file is the mechanism, and it does nothing
 * unless a collector is bound to the dynamic binding :unchecked.
 *
 * Under such a binding (shared by every fiber started inside it, since a
 * fiber copies its parent's bindings), each failed process result is
 * marked "not yet inspected" (MAP_UNCHECKED, src/lang/map.c: any lookup,
 * change or iteration of the map clears it) and recorded with the fiber
 * that produced it and a ready error value (its message names the full
 * command and how it ended, its location and backtrace are those of the
 * call that ran it, its data is the result). Then:
 *   - when a fiber starts its next process (valk_unchecked_check, called
 *     by exec, exec-stream and spawn), a failure of that fiber still
 *     marked is raised there, so a failed cmake stops the step before
 *     ctest runs;
 *   - a fiber that awaits a future whose value is a marked result
 *     (valk_unchecked_adopt, called by await) takes the failure over;
 *   - (unchecked-failures c) gives the errors still marked, for the end of
 *     the work (lib/ci checks it when a step's attempt ends).
 * A failure that was raised stays marked but belongs to no fiber: it is
 * not raised again, and it is still among the unchecked failures unless
 * the program inspects it (the error's data is the result). So a failure
 * is never lost by an error nobody awaits (a `go` fiber's) or a handler
 * that ignores the error.
 */
#include "rt.h"

typedef struct Failure {
  struct Failure *next;
  V result;          /* the process result map */
  valk_task *owner;  /* the fiber it is raised in; NULL once raised */
  V error;           /* raised at the owner's next process start */
} Failure;

/* GC memory only (the entries are GC objects): nothing to finalize. */
typedef struct {
  Failure *head, *tail;
} Collector;

static const valk_native_type collector_type = {"failure-collector", NULL};

/* The collector bound to :unchecked in the calling fiber, or NULL. */
static Collector *bound(void) {
  V c = valk_dyn(valk_kw("unchecked"), NIL);
  return valk_native_is(c, &collector_type) ? ((Native *)c)->ptr : NULL;
}

bool valk_unchecked_bound(void) { return bound() != NULL; }

/* Drops the entries whose result has been inspected. */
static void prune(Collector *c) {
  Failure **at = &c->head;
  c->tail = NULL;
  while (*at) {
    if (!valk_map_unchecked((*at)->result)) *at = (*at)->next;
    else {
      c->tail = *at;
      at = &(*at)->next;
    }
  }
}

void valk_unchecked_note(V result, V form, V msg) {
  Collector *c = bound();
  if (!c || !valk_task_current()) return;
  Failure *f = valk_alloc(sizeof *f);
  f->result = result;
  f->owner = valk_task_current();
  f->error = valk_error_new(valk_kw("error"), msg, form);
  AS_ERR(f->error)->data = result;
  valk_error_fill_trace(f->error); /* the call chain that ran the command */
  valk_map_mark_unchecked(result);
  if (c->tail) c->tail->next = f;
  else c->head = f;
  c->tail = f;
}

void valk_unchecked_adopt(V result) {
  Collector *c = bound();
  if (!c || !valk_task_current()) return;
  for (Failure *f = c->head; f; f = f->next)
    if (f->result == result && f->owner) f->owner = valk_task_current();
}

void valk_unchecked_check(void) {
  Collector *c = bound();
  valk_task *t = valk_task_current();
  if (!c || !c->head || !t) return;
  prune(c);
  for (Failure *f = c->head; f; f = f->next)
    if (f->owner == t) {
      f->owner = NULL;
      valk_throw(f->error);
    }
}

/* (failure-collector) */
static V bi_collector(V *a, int n) {
  (void)a; (void)n;
  return valk_native(&collector_type, valk_alloc(sizeof(Collector)), NIL);
}

/* (unchecked-failures c) */
static V bi_unchecked_failures(V *a, int n) {
  (void)n;
  Collector *c = valk_native_check(a[0], &collector_type, "unchecked-failures", 0);
  prune(c);
  V out = EMPTY;
  for (Failure *f = c->head; f; f = f->next) out = valk_cons(f->error, out);
  return valk_list_reverse(out);
}

static const valk_reg unchecked_fns[] = {
    {"failure-collector", bi_collector, 0, 0,
     "(failure-collector) a collector of failed process results; bound to :unchecked, a failure the program never inspects is raised at its fiber's next process start"},
    {"unchecked-failures", bi_unchecked_failures, 1, 1,
     "(unchecked-failures c) errors for the failed process results recorded in collector c that were never inspected, oldest first (data: the result)"},
    {NULL, NULL, 0, 0, NULL}};

void valk_unchecked_register(void) { valk_register(unchecked_fns); }
