/*
 * main.c - the `valk` command line.
 *
 *   valk                  interactive REPL
 *   valk FILE [args...]   run a script; *args* holds args
 *   valk -e EXPR [args]   evaluate EXPR and print its readable form
 *   valk test PATH...     run every deftest in the files/directories
 *   valk ci run FILE ...  run a pipeline locally; also ci history, ci logs
 *
 * Exit status is 0, or 1 after an uncaught error (reported on stderr).
 */
#include "host.h"
#include "repl.h"
#include "rt.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int usage(void) {
  fprintf(stderr,
          "usage: valk                  start the REPL\n"
          "       valk FILE [args...]   run a script\n"
          "       valk -e EXPR          evaluate EXPR and print the result\n"
          "       valk test PATH...     run the deftests in files and directories\n");
  return 2;
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
    valk_repl();
  }
}

static _Noreturn void die_with(V err) {
  fflush(stdout);
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
  if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) return usage(), 0;
  if (argc == 2 && strcmp(argv[1], "-e") == 0) return usage();
  cli.argc = argc;
  cli.argv = argv;
  V err = valk_pcall(init_all, NULL);
  if (err) die_with(err);
  valk_rt_init();
  valk_rt_run_main(main_task, NIL);
  fflush(stdout);
  return cli.status;
}
