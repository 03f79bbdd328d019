/*
 * fuzz_reader.c - libFuzzer harness for the reader (src/lang/reader.c) and
 * the printer (src/lang/print.c).
 *
 * For every input: read all forms (a reader error is a normal outcome),
 * and for each form read, print it with valk_repr and read the printed
 * text back. That re-read must succeed, give exactly one form, and print
 * the same text again (repr is a fixed point); anything else aborts, so
 * libFuzzer reports it as a crash with the input.
 *
 * Build and run: make fuzz FUZZ_SECONDS=N (clang -fsanitize=fuzzer,address,undefined).
 */
#include "valk.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Make UBSan findings fatal (the Makefile does not pass
   -fno-sanitize-recover) and keep ASan's fake stacks off: the collector
   must see real stack frames. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) { return "halt_on_error=1:print_stacktrace=1"; }
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "detect_stack_use_after_return=0"; }

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int initialized;

static void init_once(void) {
  if (initialized) return;
  initialized = 1;
  valk_gc_init();
  valk_init(0, NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  init_once();
  return 0;
}

static _Noreturn void fail(const char *what, V form, V text, V err) {
  fprintf(stderr, "fuzz_reader: %s\n", what);
  if (text) fprintf(stderr, "  printed: %.*s\n", (int)AS_STR(text)->len, AS_STR(text)->s);
  if (err) fprintf(stderr, "  error: %s", AS_STR(valk_error_report(err))->s);
  (void)form;
  abort();
}

/* ---- printing and re-reading one form ---- */
typedef struct { V form, text, back, text2, extra; } RoundTrip;

static void do_repr(void *ud) {
  RoundTrip *t = ud;
  t->text = valk_repr(t->form);
}

static void do_reread(void *ud) {
  RoundTrip *t = ud;
  Reader r;
  valk_reader_init(&r, AS_STR(t->text)->s, AS_STR(t->text)->len, "<repr>");
  t->back = valk_read(&r);
  t->extra = t->back ? valk_read(&r) : NULL;
  if (t->back) t->text2 = valk_repr(t->back);
}

static bool is_stack_error(V err) { return AS_ERR(err)->kind == valk_kw("stack-overflow"); }

static void round_trip(V form) {
  RoundTrip t = {form, NULL, NULL, NULL, NULL};
  V err = valk_pcall(do_repr, &t);
  if (err) {
    /* a structure the reader accepted may still be too deep for the
       printer's C stack; that is reported as an error, not a crash */
    if (is_stack_error(err)) return;
    fail("valk_repr raised on a form the reader produced", form, NULL, err);
  }
  err = valk_pcall(do_reread, &t);
  if (err) {
    if (is_stack_error(err)) return;
    fail("printed form does not read back", form, t.text, err);
  }
  if (!t.back) fail("printed form reads back as nothing", form, t.text, NULL);
  if (t.extra) fail("printed form reads back as more than one form", form, t.text, NULL);
  if (AS_STR(t.text)->len != AS_STR(t.text2)->len ||
      memcmp(AS_STR(t.text)->s, AS_STR(t.text2)->s, AS_STR(t.text)->len) != 0) {
    fprintf(stderr, "  re-printed: %.*s\n", (int)AS_STR(t.text2)->len, AS_STR(t.text2)->s);
    fail("repr(read(repr(x))) differs from repr(x)", form, t.text, NULL);
  }
}

/* ---- reading all forms of the input ---- */
typedef struct { Reader r; V form; } ReadAll;

static void read_next(void *ud) {
  ReadAll *a = ud;
  a->form = valk_read(&a->r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  init_once();
  /* Copy into a buffer of exactly `size` bytes so ASan catches reads past
     the end (the reader must not rely on a terminating NUL). */
  char *src = malloc(size ? size : 1);
  if (size) memcpy(src, data, size);
  ReadAll a;
  valk_reader_init(&a.r, src, size, "<fuzz>");
  for (int n = 0; n < 100000; n++) {
    a.form = NULL;
    V err = valk_pcall(read_next, &a);
    if (err) {
      Error *e = AS_ERR(err);
      /* errors must carry a position inside the input */
      if (!e->file || e->line < 1 || e->col < 1) fail("reader error without a position", NULL, NULL, err);
      if (e->kind != valk_kw("syntax") && e->kind != valk_kw("incomplete") && e->kind != valk_kw("stack-overflow"))
        fail("reader error of an unexpected kind", NULL, NULL, err);
      break;
    }
    if (!a.form) break;
    round_trip(a.form);
  }
  free(src);
  return 0;
}
