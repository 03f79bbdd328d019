/*
 * fs.c - reading and writing whole files (file/...).
 *
 * Synchronous for now; errors name the path and the OS reason, e.g.
 * "file/read: /x/y: No such file or directory". Contents are byte strings,
 * so binary files round-trip unchanged.
 */
#include "valk.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>

static V bi_read(V *a, int n) {
  const char *path = valk_arg_str(a, n, 0, "file/read")->s;
  V text = valk_read_file(path);
  if (!text) valk_raise("file/read: %s: %s", path, strerror(errno));
  return text;
}

static V write_mode(V *a, int n, const char *who, const char *mode) {
  Str *path = valk_arg_str(a, n, 0, who);
  Str *data = AS_STR(valk_display(a[1]));
  FILE *f = fopen(path->s, mode);
  if (!f) valk_raise("%s: %s: %s", who, path->s, strerror(errno));
  size_t w = fwrite(data->s, 1, data->len, f);
  int err = w < data->len ? errno : 0;
  if (fclose(f) != 0 && !err) err = errno;
  if (err) valk_raise("%s: %s: %s", who, path->s, strerror(err));
  return NIL;
}

static V bi_write(V *a, int n) { return write_mode(a, n, "file/write", "wb"); }
static V bi_append(V *a, int n) { return write_mode(a, n, "file/append", "ab"); }

static V bi_exists(V *a, int n) {
  struct stat st;
  return BOOL(stat(valk_arg_str(a, n, 0, "file/exists?")->s, &st) == 0);
}

/* POSIX dirname(1)/basename(1) semantics: trailing slashes are ignored,
   "a" has directory ".", "/" is its own directory and base name. */
static V bi_dirname(V *a, int n) {
  Str *p = valk_arg_str(a, n, 0, "path/dirname");
  size_t len = p->len;
  while (len > 1 && p->s[len - 1] == '/') len--;
  while (len > 0 && p->s[len - 1] != '/') len--;
  if (len == 0) return valk_cstr(".");
  while (len > 1 && p->s[len - 1] == '/') len--;
  return valk_str(p->s, len);
}

static V bi_basename(V *a, int n) {
  Str *p = valk_arg_str(a, n, 0, "path/basename");
  size_t end = p->len;
  while (end > 1 && p->s[end - 1] == '/') end--;
  size_t start = end;
  while (start > 0 && p->s[start - 1] != '/') start--;
  if (start == end && end == 1) return valk_cstr("/");
  return valk_str(p->s + start, end - start);
}

/* (path/join a b ...) joins with "/"; an absolute part starts over */
static V bi_join(V *a, int n) {
  Buf b;
  buf_init(&b, 64);
  for (int i = 0; i < n; i++) {
    Str *s = valk_arg_str(a, n, i, "path/join");
    if (s->len && s->s[0] == '/') b.len = 0;
    else if (b.len && b.s[b.len - 1] != '/' && s->len) buf_putc(&b, '/');
    buf_put(&b, s->s, s->len);
  }
  return buf_to_str(&b);
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(AS_STR(*(V const *)a)->s, AS_STR(*(V const *)b)->s);
}

/* (dir/list path) sorted names of the entries, without . and .. */
static V bi_dir_list(V *a, int n) {
  const char *path = valk_arg_str(a, n, 0, "dir/list")->s;
  DIR *d = opendir(path);
  if (!d) valk_raise("dir/list: %s: %s", path, strerror(errno));
  size_t cap = 64, cnt = 0;
  V *names = valk_alloc(cap * sizeof(V));
  for (struct dirent *e; (e = readdir(d));) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (cnt == cap) {
      V *nn = valk_alloc(2 * cap * sizeof(V));
      memcpy(nn, names, cap * sizeof(V));
      names = nn;
      cap *= 2;
    }
    names[cnt++] = valk_cstr(e->d_name);
  }
  closedir(d);
  qsort(names, cnt, sizeof(V), cmp_names);
  return valk_list_from(names, (int)cnt);
}

static const valk_reg fs_fns[] = {
    {"file/read", bi_read, 1, 1, "(file/read path) the whole file as a string"},
    {"file/write", bi_write, 2, 2, "(file/write path data) replaces the file's contents"},
    {"file/append", bi_append, 2, 2, "(file/append path data) adds to the end of the file"},
    {"file/exists?", bi_exists, 1, 1, "(file/exists? path) true when path exists"},
    {"dir/list", bi_dir_list, 1, 1, "(dir/list path) sorted names in a directory"},
    {"path/dirname", bi_dirname, 1, 1, "(path/dirname p) the directory part of p"},
    {"path/basename", bi_basename, 1, 1, "(path/basename p) the last component of p"},
    {"path/join", bi_join, 1, -1, "(path/join a b ...) parts joined with /; an absolute part starts over"},
    {NULL, NULL, 0, 0, NULL}};

void valk_fs_register(void) { valk_register(fs_fns); }
