/*
 * repl.c - the interactive read-eval-print loop.
 *
 * Input is read with libedit (line editing, history in ~/.valk_history).
 * An entry may span lines: the text so far is parsed after every line, and
 * while the reader reports :incomplete (an open bracket or string) the
 * REPL asks for more. Results are printed with repr; errors are printed
 * with their location and backtrace and the session goes on. Ctrl-C
 * during evaluation interrupts it (the evaluator checks valk_interrupted).
 */
#include "repl.h"

#include "valk.h"

#include <editline/readline.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void on_sigint(int sig) {
  (void)sig;
  valk_interrupted = 1;
}

static char *read_line(bool tty, const char *prompt) {
  if (tty) return readline(prompt);
  static char buf[65536];
  if (!fgets(buf, sizeof buf, stdin)) return NULL;
  size_t n = strlen(buf);
  if (n && buf[n - 1] == '\n') buf[n - 1] = '\0';
  return strdup(buf);
}

/* Parses every form of text; returns NULL (and sets *incomplete) when
   the text stops inside a form, raises on other syntax errors. */
static V parse_entry(const char *text, size_t len, bool *incomplete) {
  Reader r;
  valk_reader_init(&r, text, len, "<repl>");
  valk_handler h;
  V forms = EMPTY;
  *incomplete = false;
  if (VALK_TRY(&h)) {
    for (V f; (f = valk_read(&r));) forms = valk_cons(f, forms);
    VALK_END_TRY(&h);
  } else {
    if (AS_ERR(h.err)->kind == valk_kw("incomplete")) {
      *incomplete = true;
      return NULL;
    }
    valk_throw(h.err);
  }
  return valk_list_reverse(forms);
}

void valk_repl(void) {
  bool tty = isatty(0) && isatty(1);
  char hist[4096] = "";
  const char *home = getenv("HOME");
  if (tty && home) {
    snprintf(hist, sizeof hist, "%s/.valk_history", home);
    using_history();
    read_history(hist);
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigaction(SIGINT, &sa, NULL);
  if (tty) printf("Valkyria %s - (exit) or Ctrl-D to quit\n", VALK_VERSION);

  Buf entry;
  buf_init(&entry, 256);
  for (;;) {
    char *line = read_line(tty, entry.len ? "  ... " : "valk> ");
    if (!line && valk_interrupted) { /* Ctrl-C at the prompt drops the entry */
      valk_interrupted = 0;
      entry.len = 0;
      if (tty) printf("\n");
      continue;
    }
    if (!line) break;
    buf_puts(&entry, line);
    buf_putc(&entry, '\n');
    free(line);
    valk_handler h;
    if (VALK_TRY(&h)) {
      bool incomplete;
      V forms = parse_entry(entry.s, entry.len, &incomplete);
      if (incomplete) {
        VALK_END_TRY(&h);
        continue;
      }
      if (tty && entry.len > 1) {
        entry.s[entry.len - 1] = '\0';
        add_history(entry.s);
      }
      entry.len = 0;
      valk_interrupted = 0;
      for (V l = forms; IS_CONS(l); l = CDR(l)) {
        V v = valk_eval(CAR(l), NULL);
        Str *s = AS_STR(valk_repr(v));
        fwrite(s->s, 1, s->len, stdout);
        fputc('\n', stdout);
      }
      fflush(stdout);
      VALK_END_TRY(&h);
    } else {
      entry.len = 0;
      fflush(stdout);
      Str *s = AS_STR(valk_error_report(h.err));
      fwrite(s->s, 1, s->len, stderr);
      fflush(stderr);
    }
  }
  if (tty) {
    printf("\n");
    if (hist[0]) write_history(hist);
  }
}
