/*
 * builtins_str.c - printing, string building and the reader as a function.
 *
 * print/println write display forms separated by spaces and end the line;
 * write and printf (C-style directives, as upstream Valkyria) write
 * without a newline; str concatenates display forms; repr gives the
 * readable form. Strings are byte strings: len and substring count bytes.
 */
#include "valk.h"

#include <stdio.h>
#include <string.h>

static void write_out(FILE *f, V *a, int n) {
  for (int i = 0; i < n; i++) {
    if (i) fputc(' ', f);
    Str *s = AS_STR(valk_display(a[i]));
    fwrite(s->s, 1, s->len, f);
  }
  fputc('\n', f);
}

bool (*valk_print_hook)(const char *text, size_t len);

static V bi_print(V *a, int n) {
  if (valk_print_hook) {
    Buf b;
    buf_init(&b, 64);
    for (int i = 0; i < n; i++) {
      if (i) buf_putc(&b, ' ');
      valk_print_to(&b, a[i], false);
    }
    if (valk_print_hook(b.s, b.len)) return NIL;
  }
  write_out(stdout, a, n);
  return NIL;
}

static V bi_eprint(V *a, int n) {
  write_out(stderr, a, n);
  return NIL;
}

static V bi_write(V *a, int n) {
  for (int i = 0; i < n; i++) {
    Str *s = AS_STR(valk_display(a[i]));
    fwrite(s->s, 1, s->len, stdout);
  }
  fflush(stdout);
  return NIL;
}

static V bi_repr(V *a, int n) {
  (void)n;
  return valk_repr(a[0]);
}

static V bi_str(V *a, int n) {
  if (n == 1 && IS(a[0], T_STR)) return a[0];
  Buf b;
  buf_init(&b, 64);
  for (int i = 0; i < n; i++) valk_print_to(&b, a[i], false);
  return buf_to_str(&b);
}

static V bi_format(V *a, int n) {
  valk_arg_str(a, n, 0, "format");
  return valk_format(a[0], a + 1, n - 1, "format");
}

/* (printf fmt args...) as upstream Valkyria: writes the formatted text
   (%s display, %d number, %% percent) with no newline, like write */
static V bi_printf(V *a, int n) {
  valk_arg_str(a, n, 0, "printf");
  V text = valk_format_c(a[0], a + 1, n - 1, "printf");
  return bi_write(&text, 1);
}

/* (substring s start [end]) byte offsets; negative counts from the end */
static V bi_substring(V *a, int n) {
  Str *s = valk_arg_str(a, n, 0, "substring");
  int64_t len = (int64_t)s->len;
  int64_t start = valk_arg_int(a, n, 1, "substring");
  int64_t end = n > 2 ? valk_arg_int(a, n, 2, "substring") : len;
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (start < 0 || start > len || end < start || end > len)
    valk_raise("substring: range %lld..%lld out of bounds for string of length %lld", (long long)start,
               (long long)end, (long long)len);
  return valk_str(s->s + start, (size_t)(end - start));
}

/* (read "text") parses the first form of text */
static V bi_read(V *a, int n) {
  Str *s = valk_arg_str(a, n, 0, "read");
  Reader r;
  valk_reader_init(&r, s->s, s->len, "<read>");
  V form = valk_read(&r);
  if (!form) valk_raise_kind("syntax", "read: no form in input");
  return form;
}

/* (read-all "text") parses every form of text into a list */
static V bi_read_all(V *a, int n) {
  Str *s = valk_arg_str(a, n, 0, "read-all");
  Reader r;
  valk_reader_init(&r, s->s, s->len, "<read>");
  V out = EMPTY;
  for (V f; (f = valk_read(&r));) out = valk_cons(f, out);
  return valk_list_reverse(out);
}

/* (eval-string text [name]) evaluates every form of text as a file would */
static V bi_eval_string(V *a, int n) {
  Str *s = valk_arg_str(a, n, 0, "eval-string");
  const char *name = n > 1 ? valk_arg_str(a, n, 1, "eval-string")->s : "<string>";
  return valk_eval_string(s->s, s->len, name);
}

static const valk_reg str_fns[] = {
    {"print", bi_print, 0, -1, "(print x...) writes display forms separated by spaces, then a newline"},
    {"println", bi_print, 0, -1, "(println x...) same as print"},
    {"eprint", bi_eprint, 0, -1, "(eprint x...) like print, to standard error"},
    {"write", bi_write, 0, -1, "(write x...) writes display forms with no separator or newline"},
    {"repr", bi_repr, 1, 1, "(repr x) readable form of x as a string"},
    {"str", bi_str, 0, -1, "(str x...) concatenation of display forms"},
    {"format", bi_format, 1, -1, "(format fmt args...) ~a display, ~s readable, ~d number, ~% newline"},
    {"printf", bi_printf, 1, -1, "(printf fmt args...) writes fmt with %s (display form) and %d (number) filled in, %% for %; no newline"},
    {"substring", bi_substring, 2, 3, "(substring s start [end]) bytes from start below end"},
    {"read", bi_read, 1, 1, "(read text) the first form in text, unevaluated"},
    {"read-all", bi_read_all, 1, 1, "(read-all text) all forms in text as a list"},
    {"eval-string", bi_eval_string, 1, 2, "(eval-string text [name]) evaluates all forms of text, returns the last value"},
    {NULL, NULL, 0, 0, NULL}};

void valk_str_register(void) { valk_register(str_fns); }
