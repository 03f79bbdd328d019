/*
 * error.c - raising errors and reporting them.
 *
 * Errors are values (T_ERROR). Raising one is a non-returning longjmp to
 * the nearest handler installed with VALK_TRY (the `try` form, the REPL,
 * the test runner, the top level of a script). The handler restores the
 * call chain it saved, so the Valkyria backtrace recorded in the error is
 * taken at the raise point, before unwinding.
 */
#include "valk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static valk_state main_state;
valk_state *valk_S = &main_state;
volatile int valk_interrupted;

V valk_error_new(V kind, V msg, V form) {
  Error *e = valk_alloc(sizeof(Error));
  e->h.type = T_ERROR;
  e->kind = kind ? kind : valk_kw("error");
  e->msg = msg;
  e->data = NIL;
  e->trace = EMPTY;
  if (form && IS_CONS(form) && form->line) {
    e->file = ((Cons *)form)->file;
    e->line = form->line;
    e->col = form->col;
  }
  return (V)e;
}

V valk_error_at_pos(const char *kind, const char *file, uint32_t line, uint32_t col, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  Error *e = (Error *)valk_error_new(valk_kw(kind), valk_cstr(msg), NULL);
  e->file = file;
  e->line = line;
  e->col = col;
  return (V)e;
}

static void append_pos(Buf *b, V form) {
  if (form && IS_CONS(form) && form->line)
    buf_printf(b, "%s:%u:%u", ((Cons *)form)->file, form->line, form->col);
  else
    buf_puts(b, "?");
}

static V frame_line(valk_callinfo *ci) {
  Buf b;
  buf_init(&b, 64);
  Lambda *f = (Lambda *)ci->fn;
  buf_puts(&b, "at ");
  if (f && f->name) buf_puts(&b, AS_SYM(f->name)->name);
  else buf_puts(&b, "<anonymous fn>");
  if (ci->form && IS_CONS(ci->form) && ci->form->line) {
    buf_puts(&b, " (");
    append_pos(&b, ci->form);
    buf_putc(&b, ')');
  }
  return buf_to_str(&b);
}

static bool same_frame(valk_callinfo *a, valk_callinfo *b) { return a->fn == b->fn && a->form == b->form; }

/* Records the Valkyria call chain (innermost first) into the error.
   Runs of the same frame (deep recursion) collapse into one line, and at
   most MAX_TRACE lines are kept. */
#define MAX_TRACE 30
void valk_error_fill_trace(V err) {
  Error *e = AS_ERR(err);
  if (e->trace != EMPTY) return;
  V items[MAX_TRACE + 1];
  int n = 0;
  size_t omitted = 0;
  for (valk_callinfo *ci = valk_S->ci; ci;) {
    size_t run = 1;
    valk_callinfo *next = ci->prev;
    while (next && same_frame(next, ci)) { run++; next = next->prev; }
    if (n < MAX_TRACE) {
      V line = frame_line(ci);
      if (run > 1) line = valk_strf("%s [repeated %zu times]", AS_STR(line)->s, run);
      items[n++] = line;
    } else {
      omitted += run;
    }
    ci = next;
  }
  if (omitted) items[n++] = valk_strf("... %zu more frames", omitted);
  e->trace = valk_list_from(items, n);
}

void valk_assert_fail(const char *cond, const char *why, const char *file, int line) {
  fprintf(stderr, "%s:%d: valk internal error: assertion %s failed: %s\n", file, line, cond, why);
  abort();
}

void valk_throw(V err) {
  valk_error_fill_trace(err);
  valk_handler *h = valk_S->handler;
  if (!h) {
    fprintf(stderr, "%s", AS_STR(valk_error_report(err))->s);
    exit(1);
  }
  VALK_ASSERT(h->prev != h, "the handler chain has no cycle");
  h->err = err;
  valk_S->handler = h->prev;
  valk_S->ci = h->ci;
  valk_S->expansion = h->expansion;
  longjmp(h->jb, 1);
}

V valk_pcall(valk_pfn f, void *ud) {
  valk_handler h;
  V saved_form = valk_S->form;
  if (VALK_TRY(&h)) {
    valk_callinfo *ci = valk_S->ci;
    f(ud);
    VALK_ASSERT(valk_S->ci == ci, "a call that returns normally has popped every call info it pushed");
    VALK_END_TRY(&h);
    return NULL;
  }
  valk_S->form = saved_form;
  return h.err;
}

static _Noreturn void raise_v(const char *kind, V form, const char *fmt, va_list ap) {
  char small[512];
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  V msg;
  if (n < (int)sizeof small) {
    msg = valk_str(small, (size_t)n);
  } else {
    char *big = valk_alloc_atomic((size_t)n + 1);
    vsnprintf(big, (size_t)n + 1, fmt, ap2);
    msg = valk_str(big, (size_t)n);
  }
  va_end(ap2);
  valk_throw(valk_error_new(valk_kw(kind), msg, form));
}

void valk_raise(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  raise_v("error", valk_S->form, fmt, ap);
}

void valk_raise_kind(const char *kind, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  raise_v(kind, valk_S->form, fmt, ap);
}

void valk_raise_at(V form, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  raise_v("error", form, fmt, ap);
}

V valk_error_report(V err) {
  Error *e = AS_ERR(err);
  Buf b;
  buf_init(&b, 128);
  if (e->file) buf_printf(&b, "%s:%u:%u: ", e->file, e->line, e->col);
  buf_puts(&b, "error: ");
  buf_put(&b, AS_STR(e->msg)->s, AS_STR(e->msg)->len);
  buf_putc(&b, '\n');
  for (V l = e->trace; IS_CONS(l); l = CDR(l)) {
    buf_puts(&b, "  ");
    buf_put(&b, AS_STR(CAR(l))->s, AS_STR(CAR(l))->len);
    buf_putc(&b, '\n');
  }
  return buf_to_str(&b);
}

void valk_set_stack_limit_from(char *base, size_t size) {
  /* Leave room below the limit for raising the error and printing it. */
  size_t margin = 256 * 1024;
  if (size < 2 * margin) margin = size / 2;
  valk_S->stack_limit = base - (size - margin);
}

void valk_stack_check(void) {
  char probe;
  if (&probe < valk_S->stack_limit) {
    valk_raise_kind("stack-overflow", "stack depth exceeded");
  }
}
