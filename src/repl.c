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

typedef struct { Reader *r; V *out; } ReadJob;
static void read_next(void *ud) {
  ReadJob *j = ud;
  *j->out = valk_read(j->r);
}

static char *read_line(bool tty, const char *prompt) {
  if (tty) return readline(prompt);
  static char buf[65536];
  if (!fgets(buf, sizeof buf, stdin)) return NULL;
  size_t n = strlen(buf);
  if (n && buf[n - 1] == '\n') buf[n - 1] = '\0';
  return strdup(buf);
}

typedef struct {
  Buf *entry;
  bool tty;
  bool incomplete;
} Entry;

/* Parses the entry so far; unless it stops inside a form, evaluates each
   form and prints its readable form. Runs under valk_pcall. */
static void run_entry(void *ud) {
  Entry *e = ud;
  Reader r;
  valk_reader_init(&r, e->entry->s, e->entry->len, "<repl>");
  V forms = EMPTY;
  V err = NULL;
  e->incomplete = false;
  {
    V f;
    for (;;) {
      err = valk_pcall(read_next, &(ReadJob){&r, &f});
      if (err || !f) break;
      forms = valk_cons(f, forms);
    }
  }
  if (err && AS_ERR(err)->kind == valk_kw("incomplete")) {
    e->incomplete = true;
    return;
  }
  if (e->tty && e->entry->len > 1) {
    e->entry->s[e->entry->len - 1] = '\0';
    add_history(e->entry->s);
  }
  e->entry->len = 0;
  if (err) valk_throw(err);
  valk_interrupted = 0;
  for (V l = valk_list_reverse(forms); IS_CONS(l); l = CDR(l)) {
    V v = valk_eval(CAR(l), NULL);
    Str *s = AS_STR(valk_repr(v));
    fwrite(s->s, 1, s->len, stdout);
    fputc('\n', stdout);
  }
  fflush(stdout);
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
    Entry e = {&entry, tty, false};
    V err = valk_pcall(run_entry, &e);
    if (err) {
      entry.len = 0;
      fflush(stdout);
      Str *msg = AS_STR(valk_error_report(err));
      fwrite(msg->s, 1, msg->len, stderr);
      fflush(stderr);
    }
  }
  if (tty) {
    printf("\n");
    if (hist[0]) write_history(hist);
  }
}
