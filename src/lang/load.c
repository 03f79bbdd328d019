/*
 * load.c - running source text and files, `load` and `require`.
 *
 * Relative paths in load/require resolve against the directory of the
 * file doing the loading (or the working directory at the top level).
 * require loads a file or an embedded library at most once; load always
 * runs the file. The file being loaded belongs to the fiber loading it
 * (valk_S->file), so a fiber loading one file never changes what
 * current-file answers in another.
 *
 * Embedded libraries and the autoload table come from the host
 * (valk_set_libs): the language names no library above it. The host's
 * tables are generated from the libraries' own `;; exports:` lines
 * (scripts/embed-libs.sh); an embedded library's name is its path under
 * lib/ without .valk ("ci/engine").
 */
#include "valk.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static V loaded; /* map: resolved name -> true */
static const valk_embedded *libs;    /* set by the host, NULL-name ended */
static const valk_export *exports;

void valk_set_libs(const valk_embedded *l, const valk_export *e) {
  libs = l;
  exports = e;
}

const char *valk_current_file(void) { return valk_S->file; }

typedef struct { Reader *r; V result; } EvalJob;
static void run_forms(void *ud) {
  EvalJob *j = ud;
  for (V form; (form = valk_read(j->r));) j->result = valk_eval(form, NULL);
}

V valk_eval_string(const char *src, size_t len, const char *file) {
  Reader r;
  valk_reader_init(&r, src, len, file);
  const char *saved = valk_S->file;
  valk_S->file = file;
  EvalJob job = {&r, NIL};
  V err = valk_pcall(run_forms, &job);
  valk_S->file = saved;
  if (err) {
    Error *e = AS_ERR(err);
    if (!e->file) { /* raised outside any list form: place it at the top-level form */
      e->file = file;
      e->line = r.form_line;
      e->col = r.form_col;
    }
    valk_throw(err);
  }
  return job.result;
}

/* Reads a whole file into a string; NULL with errno set on failure. */
V valk_read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  Buf b;
  buf_init(&b, 4096);
  char chunk[65536];
  size_t k;
  while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) buf_put(&b, chunk, k);
  int err = ferror(f) ? errno : 0;
  fclose(f);
  if (err) {
    errno = err;
    return NULL;
  }
  return buf_to_str(&b);
}

V valk_load_file(const char *path) {
  V text = valk_read_file(path);
  if (!text) valk_raise("load: %s: %s", path, strerror(errno));
  size_t pl = strlen(path);
  char *name = valk_alloc_atomic(pl + 1); /* positions keep pointing at it */
  memcpy(name, path, pl + 1);
  return valk_eval_string(AS_STR(text)->s, AS_STR(text)->len, name);
}

/* Resolves path against the directory of the loading file. */
static V resolve(const char *path) {
  const char *cur_file = valk_S->file;
  if (path[0] == '/' || !cur_file || cur_file[0] == '<') return valk_cstr(path);
  const char *slash = strrchr(cur_file, '/');
  if (!slash) return valk_cstr(path);
  return valk_strf("%.*s/%s", (int)(slash - cur_file), cur_file, path);
}

static const valk_embedded *find_embedded(const char *name) {
  if (!libs) return NULL;
  for (const valk_embedded *e = libs; e->name; e++)
    if (strcmp(e->name, name) == 0) return e;
  return NULL;
}

V valk_require(const char *name, const char *from_file) {
  (void)from_file;
  if (!loaded) loaded = valk_map_new(16);
  const valk_embedded *emb = strstr(name, ".valk") ? NULL : find_embedded(name);
  if (emb) {
    V key = valk_strf("lib:%s", name);
    if (valk_map_has(loaded, key)) return NIL;
    valk_map_set(loaded, key, VTRUE);
    char *fname = valk_alloc_atomic(strlen(name) + 16);
    sprintf(fname, "<lib/%s.valk>", name);
    return valk_eval_string(emb->data, (size_t)(emb->end - emb->data), fname);
  }
  V path = resolve(name);
  if (access(AS_STR(path)->s, R_OK) != 0) {
    V with_ext = valk_strf("%s.valk", AS_STR(path)->s);
    if (access(AS_STR(with_ext)->s, R_OK) == 0) path = with_ext;
    else valk_raise("require: cannot find %s (looked for %s and %s)", name, AS_STR(path)->s, AS_STR(with_ext)->s);
  }
  char real[PATH_MAX];
  if (!realpath(AS_STR(path)->s, real)) valk_raise("require: %s: %s", AS_STR(path)->s, strerror(errno));
  V key = valk_cstr(real);
  if (valk_map_has(loaded, key)) return NIL;
  valk_map_set(loaded, key, VTRUE);
  return valk_load_file(AS_STR(path)->s);
}

/* Libraries are loaded on first use of a name they export, so that
   start-up and the live heap stay small for programs that never use them. */
static bool exported(const char *name, const char *export) {
  size_t k = strlen(export);
  if (k && export[k - 1] == '/') return strncmp(name, export, k) == 0;
  return strcmp(name, export) == 0;
}

V valk_autoload(V sym) {
  if (!exports) return NULL;
  const char *name = AS_SYM(sym)->name;
  for (const valk_export *e = exports; e->name; e++) {
    if (!exported(name, e->name)) continue;
    V key = valk_strf("lib:%s", e->lib);
    if (loaded && valk_map_has(loaded, key)) return NULL;
    valk_require(e->lib, NULL);
    return AS_SYM(sym)->global;
  }
  return NULL;
}

static V bi_load(V *a, int n) {
  Str *p = valk_arg_str(a, n, 0, "load");
  return valk_load_file(AS_STR(resolve(p->s))->s);
}

static V bi_require(V *a, int n) {
  Str *p = valk_arg_str(a, n, 0, "require");
  return valk_require(p->s, valk_S->file);
}

void (*valk_exit_hook)(int code);

static V bi_exit(V *a, int n) {
  int code = n ? (int)valk_arg_int(a, n, 0, "exit") : 0;
  if (valk_exit_hook) valk_exit_hook(code);
  fflush(stdout);
  exit(code);
}

static V bi_current_file(V *a, int n) {
  (void)a; (void)n;
  return valk_S->file ? valk_cstr(valk_S->file) : NIL;
}

static const valk_reg io_fns[] = {
    {"load", bi_load, 1, 1, "(load path) runs a file, relative to the loading file"},
    {"require", bi_require, 1, 1, "(require name) loads a library or file once"},
    {"exit", bi_exit, 0, 1, "(exit [code]) ends the program"},
    {"current-file", bi_current_file, 0, 0, "(current-file) path of the file being loaded"},
    {NULL, NULL, 0, 0, NULL}};

void valk_io_register(void) { valk_register(io_fns); }
