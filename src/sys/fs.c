/*
 * fs.c - files and directories (file/..., dir/...).
 *
 * Every system call runs in libuv's thread pool (valk_run_blocking), so a
 * fiber reading a big file or deleting a tree never holds up the others.
 * A job (FsJob, GC memory) carries the inputs as C strings and brings back
 * an errno and plain bytes; the worker never creates values. Lists of
 * names come back as one malloc()ed buffer of NUL-terminated names.
 *
 * Errors name the path and the OS reason:
 *   file/read: /x/y: No such file or directory
 * Contents are byte strings, so binary files round-trip unchanged.
 * dir/delete and dir/walk never follow symbolic links: a link inside the
 * tree is removed or listed as a link, never entered.
 */
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { OP_READ, OP_WRITE, OP_APPEND, OP_STAT, OP_LIST, OP_MKDIRS, OP_RMTREE, OP_COPY, OP_MOVE,
       OP_UNLINK, OP_GLOB, OP_WALK, OP_MKDTEMP, OP_SYNC };

typedef struct {
  int op;
  const char *a, *b;  /* paths */
  const char *data;   /* bytes to write */
  size_t len;
  int err;            /* errno of the failure, 0 on success */
  const char *where;  /* the path the failure is about */
  char *out;          /* malloc()ed result bytes */
  size_t outlen, outcap;
  size_t count;       /* names in out */
  struct stat st;
} FsJob;

/* ---- worker side: plain C, errno, malloc ---- */
static int out_add(FsJob *j, const char *s, size_t n) {
  if (j->outlen + n + 1 > j->outcap) {
    size_t cap = j->outcap ? j->outcap * 2 : 4096;
    while (cap < j->outlen + n + 1) cap *= 2;
    char *o = realloc(j->out, cap);
    if (!o) return ENOMEM;
    j->out = o;
    j->outcap = cap;
  }
  memcpy(j->out + j->outlen, s, n);
  j->out[j->outlen + n] = '\0';
  j->outlen += n + 1;
  j->count++;
  return 0;
}

static int read_fd_all(FsJob *j, int fd) {
  for (;;) {
    if (j->outcap - j->outlen < 65536) {
      size_t cap = j->outcap ? j->outcap * 2 : 65536;
      char *o = realloc(j->out, cap);
      if (!o) return ENOMEM;
      j->out = o;
      j->outcap = cap;
    }
    ssize_t k = read(fd, j->out + j->outlen, j->outcap - j->outlen);
    if (k < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (k == 0) return 0;
    j->outlen += (size_t)k;
  }
}

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t k = write(fd, p, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

static int mkdirs(const char *path) {
  char buf[PATH_MAX];
  size_t n = strlen(path);
  if (n >= sizeof buf) return ENAMETOOLONG;
  memcpy(buf, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    char c = buf[i];
    buf[i] = '\0';
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) return errno;
    struct stat st;
    if (stat(buf, &st) != 0) return errno;
    if (!S_ISDIR(st.st_mode)) return ENOTDIR;
    buf[i] = c;
  }
  return 0;
}

static __thread int rm_err;
static __thread const char *rm_where;
static char rm_path[PATH_MAX];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f) {
  (void)st; (void)f;
  int rc = flag == FTW_DP ? rmdir(p) : unlink(p);
  if (rc != 0 && !rm_err) {
    rm_err = errno;
    snprintf(rm_path, sizeof rm_path, "%s", p);
    rm_where = rm_path;
  }
  return 0;
}

static int copy_file(const char *src, const char *dst) {
  int in = open(src, O_RDONLY | O_CLOEXEC);
  if (in < 0) return errno;
  struct stat st;
  if (fstat(in, &st) != 0) {
    int e = errno;
    close(in);
    return e;
  }
  if (S_ISDIR(st.st_mode)) {
    close(in);
    return EISDIR;
  }
  int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 07777);
  if (out < 0) {
    int e = errno;
    close(in);
    return e;
  }
  char buf[65536];
  int err = 0;
  for (;;) {
    ssize_t k = read(in, buf, sizeof buf);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) { err = errno; break; }
    if (k == 0) break;
    if ((err = write_all(out, buf, (size_t)k))) break;
  }
  close(in);
  if (close(out) != 0 && !err) err = errno;
  return err;
}

static bool is_dir_nofollow(const char *p) {
  struct stat st;
  return lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* glob: pattern segments matched one directory level at a time; "**"
   matches any number of directories (not entering hidden ones or links) */
static int glob_rec(FsJob *j, char *path, size_t plen, char **segs, int nseg, int i) {
  if (i == nseg) return out_add(j, path, plen);
  if (strcmp(segs[i], "**") == 0) {
    int e = glob_rec(j, path, plen, segs, nseg, i + 1);
    if (e) return e;
  }
  DIR *d = opendir(plen ? path : ".");
  if (!d) return 0; /* unreadable or not a directory: no match */
  int err = 0;
  for (struct dirent *de; !err && (de = readdir(d));) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    size_t nl = strlen(de->d_name);
    if (plen + nl + 2 >= PATH_MAX) continue;
    size_t np = plen;
    if (plen && path[plen - 1] != '/') path[np++] = '/';
    memcpy(path + np, de->d_name, nl + 1);
    np += nl;
    if (strcmp(segs[i], "**") == 0) {
      if (de->d_name[0] != '.' && is_dir_nofollow(path)) err = glob_rec(j, path, np, segs, nseg, i);
    } else if (fnmatch(segs[i], de->d_name, FNM_PERIOD) == 0) {
      if (i + 1 == nseg) err = out_add(j, path, np);
      else err = glob_rec(j, path, np, segs, nseg, i + 1);
    }
    path[plen] = '\0';
  }
  closedir(d);
  return err;
}

static bool has_magic(const char *s) { return strpbrk(s, "*?[") != NULL; }

static int do_glob(FsJob *j) {
  char pat[PATH_MAX];
  size_t n = strlen(j->a);
  if (n >= sizeof pat) return ENAMETOOLONG;
  memcpy(pat, j->a, n + 1);
  char *segs[256];
  int nseg = 0;
  char path[PATH_MAX];
  size_t plen = 0;
  if (pat[0] == '/') path[plen++] = '/';
  path[plen] = '\0';
  for (char *save, *s = strtok_r(pat, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
    if (nseg == 256) return EINVAL;
    segs[nseg++] = s;
  }
  int i = 0;
  /* literal leading segments form the base directory */
  for (; i < nseg - 1 && !has_magic(segs[i]); i++) {
    size_t sl = strlen(segs[i]);
    if (plen + sl + 2 >= sizeof path) return ENAMETOOLONG;
    if (plen && path[plen - 1] != '/') path[plen++] = '/';
    memcpy(path + plen, segs[i], sl + 1);
    plen += sl;
  }
  if (i == nseg - 1 && !has_magic(segs[i])) { /* no wildcard at all: the path if it exists */
    struct stat st;
    return lstat(j->a, &st) == 0 ? out_add(j, j->a, strlen(j->a)) : 0;
  }
  return glob_rec(j, path, plen, segs, nseg, i);
}

static __thread FsJob *walk_job;
static __thread int walk_err;
static int walk_one(const char *p, const struct stat *st, int flag, struct FTW *f) {
  (void)st; (void)f;
  if (flag == FTW_F || flag == FTW_SL || flag == FTW_SLN) {
    int e = out_add(walk_job, p, strlen(p));
    if (e) { walk_err = e; return 1; }
  }
  return 0;
}

static void fs_work(void *data) {
  FsJob *j = data;
  j->where = j->a;
  errno = 0;
  switch (j->op) {
  case OP_READ: {
    int fd = open(j->a, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { j->err = errno; return; }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) j->err = EISDIR;
    else j->err = read_fd_all(j, fd);
    close(fd);
    return;
  }
  case OP_WRITE: case OP_APPEND: {
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (j->op == OP_APPEND ? O_APPEND : O_TRUNC);
    int fd = open(j->a, flags, 0666);
    if (fd < 0) { j->err = errno; return; }
    j->err = write_all(fd, j->data, j->len);
    if (close(fd) != 0 && !j->err) j->err = errno;
    return;
  }
  case OP_STAT:
    if (stat(j->a, &j->st) != 0) j->err = errno;
    return;
  case OP_SYNC: {
    /* fsync flushes the file's data whichever descriptor wrote it */
    int fd = open(j->a, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { j->err = errno; return; }
    if (fsync(fd) != 0) j->err = errno;
    close(fd);
    return;
  }
  case OP_LIST: {
    DIR *d = opendir(j->a);
    if (!d) { j->err = errno; return; }
    for (struct dirent *de; (de = readdir(d));)
      if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
        if ((j->err = out_add(j, de->d_name, strlen(de->d_name)))) break;
    closedir(d);
    return;
  }
  case OP_MKDIRS:
    j->err = mkdirs(j->a);
    return;
  case OP_RMTREE: {
    struct stat st;
    if (lstat(j->a, &st) != 0) { j->err = errno; return; }
    if (!S_ISDIR(st.st_mode)) { j->err = ENOTDIR; return; }
    rm_err = 0;
    rm_where = j->a;
    if (nftw(j->a, rm_one, 64, FTW_DEPTH | FTW_PHYS) != 0 && !rm_err) rm_err = errno;
    j->err = rm_err;
    j->where = rm_where;
    return;
  }
  case OP_COPY:
    j->err = copy_file(j->a, j->b);
    return;
  case OP_MOVE:
    if (rename(j->a, j->b) == 0) return;
    if (errno != EXDEV) { j->err = errno; return; }
    if ((j->err = copy_file(j->a, j->b))) return;
    if (unlink(j->a) != 0) j->err = errno;
    return;
  case OP_UNLINK: {
    struct stat st;
    if (lstat(j->a, &st) == 0 && S_ISDIR(st.st_mode)) { j->err = EISDIR; return; }
    if (unlink(j->a) != 0) j->err = errno;
    return;
  }
  case OP_GLOB:
    j->err = do_glob(j);
    return;
  case OP_WALK: {
    walk_job = j;
    walk_err = 0;
    if (nftw(j->a, walk_one, 64, FTW_PHYS) < 0) j->err = errno;
    if (walk_err) j->err = walk_err;
    return;
  }
  case OP_MKDTEMP: {
    char tmpl[PATH_MAX];
    snprintf(tmpl, sizeof tmpl, "%s/%sXXXXXX", j->a, j->b);
    if (!mkdtemp(tmpl)) { j->err = errno; return; }
    j->err = out_add(j, tmpl, strlen(tmpl));
    return;
  }
  }
}

static void fs_cleanup(void *data) { free(((FsJob *)data)->out); }

/* ---- loop side ---- */

/* Runs the job; raises "who: path: reason" on failure. */
static FsJob *run(int op, const char *who, const char *a, const char *b) {
  FsJob *j = valk_alloc(sizeof *j);
  j->op = op;
  j->a = a;
  j->b = b;
  valk_run_blocking(fs_work, fs_cleanup, j);
  if (j->err) {
    free(j->out);
    j->out = NULL;
    valk_raise("%s: %s: %s", who, j->where ? j->where : a, strerror(j->err));
  }
  return j;
}

/* The job's output as one string; releases the malloc()ed buffer. */
static V take_bytes(FsJob *j) {
  V s = valk_str(j->out ? j->out : "", j->outlen);
  free(j->out);
  j->out = NULL;
  return s;
}

static int cmp_str(const void *x, const void *y) {
  const Str *a = AS_STR(*(V const *)x), *b = AS_STR(*(V const *)y);
  size_t m = a->len < b->len ? a->len : b->len;
  int c = memcmp(a->s, b->s, m);
  return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* The job's names as a sorted list without duplicates. */
static V take_names(FsJob *j) {
  V *items = valk_alloc((j->count ? j->count : 1) * sizeof(V));
  size_t k = 0;
  for (size_t off = 0; off < j->outlen && k < j->count; k++) {
    size_t l = strlen(j->out + off);
    items[k] = valk_str(j->out + off, l);
    off += l + 1;
  }
  free(j->out);
  j->out = NULL;
  qsort(items, k, sizeof(V), cmp_str);
  size_t u = 0;
  for (size_t i = 0; i < k; i++)
    if (u == 0 || cmp_str(&items[u - 1], &items[i]) != 0) items[u++] = items[i];
  return valk_list_from(items, (int)u);
}

static const char *path_arg(V *a, int n, int i, const char *who) {
  Str *s = valk_arg_str(a, n, i, who);
  if (!s->len) valk_raise("%s: empty path", who);
  if (memchr(s->s, '\0', s->len)) valk_raise("%s: path contains a NUL byte", who);
  return valk_dyn_path(s->s);
}

static V bi_read(V *a, int n) {
  const char *p = path_arg(a, n, 0, "file/read");
  return take_bytes(run(OP_READ, "file/read", p, NULL));
}

static V bi_read_lines(V *a, int n) {
  const char *p = path_arg(a, n, 0, "file/read-lines");
  V text = take_bytes(run(OP_READ, "file/read-lines", p, NULL));
  return valk_str_lines(text);
}

static V write_op(V *a, int n, int op, const char *who) {
  const char *p = path_arg(a, n, 0, who);
  Str *data = AS_STR(valk_display(a[1]));
  FsJob *j = valk_alloc(sizeof *j);
  j->op = op;
  j->a = p;
  j->data = data->s;
  j->len = data->len;
  valk_run_blocking(fs_work, fs_cleanup, j);
  if (j->err) valk_raise("%s: %s: %s", who, p, strerror(j->err));
  return NIL;
}

static V bi_write(V *a, int n) { return write_op(a, n, OP_WRITE, "file/write"); }
static V bi_append(V *a, int n) { return write_op(a, n, OP_APPEND, "file/append"); }

static V bi_exists(V *a, int n) {
  FsJob *j = valk_alloc(sizeof *j);
  j->op = OP_STAT;
  j->a = path_arg(a, n, 0, "file/exists?");
  valk_run_blocking(fs_work, fs_cleanup, j);
  return BOOL(j->err == 0);
}

static V bi_size(V *a, int n) {
  FsJob *j = run(OP_STAT, "file/size", path_arg(a, n, 0, "file/size"), NULL);
  return valk_int((int64_t)j->st.st_size);
}

static V bi_mtime(V *a, int n) {
  FsJob *j = run(OP_STAT, "file/modified-time", path_arg(a, n, 0, "file/modified-time"), NULL);
  return valk_float((double)j->st.st_mtim.tv_sec + (double)j->st.st_mtim.tv_nsec / 1e9);
}

static V bi_is_dir(V *a, int n) {
  FsJob *j = valk_alloc(sizeof *j);
  j->op = OP_STAT;
  j->a = path_arg(a, n, 0, "dir/exists?");
  valk_run_blocking(fs_work, fs_cleanup, j);
  return BOOL(j->err == 0 && S_ISDIR(j->st.st_mode));
}

static V bi_dir_list(V *a, int n) {
  return take_names(run(OP_LIST, "dir/list", path_arg(a, n, 0, "dir/list"), NULL));
}

static V bi_dir_create(V *a, int n) {
  run(OP_MKDIRS, "dir/create", path_arg(a, n, 0, "dir/create"), NULL);
  return NIL;
}

static V bi_dir_delete(V *a, int n) {
  const char *p = path_arg(a, n, 0, "dir/delete");
  char real[PATH_MAX];
  if (realpath(p, real) && strcmp(real, "/") == 0) valk_raise("dir/delete: refusing to delete /");
  run(OP_RMTREE, "dir/delete", p, NULL);
  return NIL;
}

/* destination for copy/move: inside dst when dst is a directory */
static const char *target_path(const char *src, const char *dst) {
  struct stat st;
  if (stat(dst, &st) != 0 || !S_ISDIR(st.st_mode)) return dst;
  const char *base = strrchr(src, '/');
  base = base ? base + 1 : src;
  return AS_STR(valk_strf("%s/%s", dst, base))->s;
}

static V bi_copy(V *a, int n) {
  const char *src = path_arg(a, n, 0, "file/copy");
  const char *dst = target_path(src, path_arg(a, n, 1, "file/copy"));
  run(OP_COPY, "file/copy", src, dst);
  return valk_cstr(dst);
}

static V bi_move(V *a, int n) {
  const char *src = path_arg(a, n, 0, "file/move");
  const char *dst = target_path(src, path_arg(a, n, 1, "file/move"));
  run(OP_MOVE, "file/move", src, dst);
  return valk_cstr(dst);
}

static V bi_delete(V *a, int n) {
  run(OP_UNLINK, "file/delete", path_arg(a, n, 0, "file/delete"), NULL);
  return NIL;
}

static V bi_sync(V *a, int n) {
  run(OP_SYNC, "file/sync", path_arg(a, n, 0, "file/sync"), NULL);
  return NIL;
}

static V bi_glob(V *a, int n) {
  return take_names(run(OP_GLOB, "file/glob", path_arg(a, n, 0, "file/glob"), NULL));
}

static V bi_walk(V *a, int n) {
  return take_names(run(OP_WALK, "dir/walk", path_arg(a, n, 0, "dir/walk"), NULL));
}

/* (dir/temp [prefix]) a new empty directory under $TMPDIR or /tmp */
static V bi_temp(V *a, int n) {
  const char *prefix = n > 0 ? valk_arg_str(a, n, 0, "dir/temp")->s : "valk-";
  if (strchr(prefix, '/')) valk_raise("dir/temp: prefix must not contain /");
  const char *base = getenv("TMPDIR");
  if (!base || !*base) base = "/tmp";
  FsJob *j = run(OP_MKDTEMP, "dir/temp", base, prefix);
  V s = valk_str(j->out, strlen(j->out));
  free(j->out);
  j->out = NULL;
  return s;
}

static const valk_reg fs_fns[] = {
    {"file/read", bi_read, 1, 1, "(file/read path) the whole file as a string"},
    {"file/read-lines", bi_read_lines, 1, 1, "(file/read-lines path) the file's lines without line endings"},
    {"file/write", bi_write, 2, 2, "(file/write path data) replaces the file's contents"},
    {"file/append", bi_append, 2, 2, "(file/append path data) adds to the end of the file"},
    {"file/exists?", bi_exists, 1, 1, "(file/exists? path) true when path exists"},
    {"file/size", bi_size, 1, 1, "(file/size path) size in bytes"},
    {"file/modified-time", bi_mtime, 1, 1, "(file/modified-time path) modification time, seconds since the epoch"},
    {"file/copy", bi_copy, 2, 2, "(file/copy src dst) copies a file (into dst when dst is a directory); returns the new path"},
    {"file/move", bi_move, 2, 2, "(file/move src dst) renames or moves a file; returns the new path"},
    {"file/delete", bi_delete, 1, 1, "(file/delete path) removes a file or symbolic link"},
    {"file/sync", bi_sync, 1, 1, "(file/sync path) waits until the file's written data is on the disk (fsync)"},
    {"file/glob", bi_glob, 1, 1, "(file/glob pattern) sorted paths matching * ? [..] and ** (any depth)"},
    {"dir/list", bi_dir_list, 1, 1, "(dir/list path) sorted names in a directory"},
    {"dir/exists?", bi_is_dir, 1, 1, "(dir/exists? path) true when path is a directory"},
    {"dir/create", bi_dir_create, 1, 1, "(dir/create path) creates the directory and its parents"},
    {"dir/delete", bi_dir_delete, 1, 1, "(dir/delete path) removes the tree; symbolic links are removed, not followed"},
    {"dir/walk", bi_walk, 1, 1, "(dir/walk path) sorted paths of every file below path (links not followed)"},
    {"dir/temp", bi_temp, 0, 1, "(dir/temp [prefix]) creates a new temporary directory"},
    {NULL, NULL, 0, 0, NULL}};

void valk_fs_register(void) { valk_register(fs_fns); }
