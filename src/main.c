/*
 * main.c - the `valk` command line.
 *
 *   valk                  interactive REPL
 *   valk FILE [args...]   run a script; *args* holds args
 *   valk -e EXPR [args]   evaluate EXPR and print its readable form
 *   valk test PATH...     run every deftest in the files/directories
 *   valk ci run FILE ...  run a pipeline locally; also ci history, ci logs
 *                         (lib/ci/cli.valk parses the ci command lines)
 *   valk -h, --help       the usage; `valk test --help` that of test
 *
 * Exit status is 0, 1 after an uncaught error (reported on stderr), or 2
 * after a usage error (one line saying what was wrong, then the usage).
 */
#include "host.h"
#include "repl.h"
#include "rt.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage_text[] =
    "usage: valk                   start the REPL\n"
    "       valk FILE [args...]    run a script; *args* holds args\n"
    "       valk -e EXPR [args...] evaluate EXPR and print its readable form\n"
    "       valk test PATH...      run the deftests in files and directories\n"
    "       valk ci SUBCOMMAND ... run pipelines, list runs, print logs\n"
    "                              (valk ci --help lists its subcommands)\n"
    "       valk -h, --help        print this help\n";

static const char test_usage_text[] =
    "usage: valk test PATH...\n"
    "\n"
    "Runs every deftest of the .valk files given and of those under the\n"
    "directories given (recursively, in name order); exit status 1 when one fails.\n";

/* Prints the help asked for on standard output; exit status 0. */
static int help(const char *text) {
  fputs(text, stdout);
  return 0;
}

/* A usage error: a line saying what was wrong, then the usage, on standard
   error; exit status 2. */
static int usage_error(const char *what, const char *arg, const char *text) {
  fprintf(stderr, "valk: %s%s\n%s", what, arg ? arg : "", text);
  return 2;
}

static bool is_help(const char *a) { return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0; }

/* The usage error of a command line main cannot run, or 0 when it is fine
   (or -1 when help was printed). */
static int check_args(int argc, char **argv) {
  if (argc < 2) return 0;
  const char *a = argv[1];
  if (is_help(a)) return help(usage_text), -1;
  if (strcmp(a, "-e") == 0) return argc < 3 ? usage_error("-e needs an expression", NULL, usage_text) : 0;
  if (strcmp(a, "test") == 0) {
    for (int i = 2; i < argc; i++) {
      if (is_help(argv[i])) return help(test_usage_text), -1;
      if (argv[i][0] == '-') return usage_error("test: unknown option ", argv[i], test_usage_text);
    }
    return argc < 3 ? usage_error("test: PATH is missing", NULL, test_usage_text) : 0;
  }
  if (a[0] == '-' && a[1] != '\0') return usage_error("unknown option ", a, usage_text);
  return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Adds the .valk files under path (sorted, recursive) to the list. */
static V collect_tests(const char *path, V acc) {
  struct stat st;
  if (stat(path, &st) != 0) valk_raise("test: %s: no such file or directory", path);
  if (!S_ISDIR(st.st_mode)) return valk_cons(valk_cstr(path), acc);
  DIR *d = opendir(path);
  if (!d) valk_raise("test: cannot open directory %s", path);
  size_t n = 0, cap = 16;
  char **names = malloc(cap * sizeof *names);
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    if (n == cap) names = realloc(names, (cap *= 2) * sizeof *names);
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_str);
  for (size_t i = 0; i < n; i++) {
    char *full = malloc(strlen(path) + strlen(names[i]) + 2);
    sprintf(full, "%s/%s", path, names[i]);
    struct stat cst;
    if (stat(full, &cst) == 0 && (S_ISDIR(cst.st_mode) || strstr(full, ".valk") == full + strlen(full) - 5))
      acc = collect_tests(full, acc);
    free(full);
    free(names[i]);
  }
  free(names);
  return acc;
}

static int run_tests(int argc, char **argv) {
  V files = EMPTY;
  for (int i = 0; i < argc; i++) files = collect_tests(argv[i], files);
  valk_require("test", NULL);
  V failed = valk_call(valk_lookup(valk_sym("test/run-files"), NULL), 1, valk_list_reverse(files));
  return valk_truthy(failed) ? 1 : 0;
}

static struct {
  int argc;
  char **argv;
  int status;
} cli;

/* What the command line asks for, run as the main task. */
static void run_command(void *ud) {
  (void)ud;
  int argc = cli.argc;
  char **argv = cli.argv;
  /* the REPL handles Ctrl-C itself; elsewhere a termination signal winds
     the program down through its exit handlers (terminate.c) */
  if (argc >= 2) valk_terminate_trap(valk_task_current());
  if (argc >= 3 && strcmp(argv[1], "-e") == 0) {
    V v = valk_eval_string(argv[2], strlen(argv[2]), "<-e>");
    Str *s = AS_STR(valk_repr(v));
    fwrite(s->s, 1, s->len, stdout);
    fputc('\n', stdout);
  } else if (argc >= 2 && strcmp(argv[1], "test") == 0) {
    /* the run ends with the tests, even if one left a server or a
       fiber behind */
    int status = run_tests(argc - 2, argv + 2);
    fflush(stdout);
    exit(status);
  } else if (argc >= 2 && strcmp(argv[1], "ci") == 0) {
    /* progress lines must reach a pipe or a log file as they happen */
    setvbuf(stdout, NULL, _IOLBF, 0);
    valk_require("ci", NULL);
    V args = EMPTY;
    for (int i = argc - 1; i >= 2; i--) args = valk_cons(valk_cstr(argv[i]), args);
    V status = valk_call(valk_lookup(valk_sym("ci/main"), NULL), 1, args);
    fflush(stdout);
    exit(vtype(status) == T_INT ? (int)valk_int_get(status) : 1);
  } else if (argc >= 2) {
    valk_load_file(argv[1]);
  } else {
    int code = valk_repl();
    if (code >= 0) { /* (exit code) at the prompt */
      fflush(stdout);
      exit(code);
    }
  }
}

static _Noreturn void die_with(V err) {
  fflush(stdout);
  int sig = valk_terminate_signal();
  if (sig && AS_ERR(err)->kind == valk_kw("interrupted")) {
    /* a Ctrl-C is no bug of the program: no backtrace */
    fprintf(stderr, "valk: %s\n", AS_STR(AS_ERR(err)->msg)->s);
    exit(128 + sig);
  }
  Str *s = AS_STR(valk_error_report(err));
  fwrite(s->s, 1, s->len, stderr);
  exit(1);
}

/* An uncaught error in the main task ends the program at once, even if
   other fibers or servers would keep the loop busy. */
static V main_task(V data) {
  V err = valk_pcall(run_command, NULL);
  if (err) die_with(err);
  return data;
}

static void init_all(void *ud) {
  (void)ud;
  int skip = cli.argc >= 3 && strcmp(cli.argv[1], "-e") == 0 ? 3 : 2;
  valk_host_open(cli.argc > skip ? cli.argc - skip : 0, cli.argv + skip);
}

int main(int argc, char **argv) {
  valk_gc_init();
  int bad = check_args(argc, argv);
  if (bad) return bad < 0 ? 0 : bad;
  cli.argc = argc;
  cli.argv = argv;
  V err = valk_pcall(init_all, NULL);
  if (err) die_with(err);
  valk_rt_init();
  valk_rt_run_main(main_task, NIL);
  fflush(stdout);
  return cli.status;
}
