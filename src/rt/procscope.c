/*
 * procscope.c - process scopes: every process started while a scope is
 * bound to :process-scope, and all of its descendants wherever they go,
 * can be listed and killed.
 *
 * Why: a command's process group (process.c) does not hold its
 * descendants: ninja puts compilers in groups of their own, and a daemon
 * double-forks into a new session and is reparented away from its
 * parent. A scope follows them all, with the best tracking the machine
 * offers, chosen once per scope:
 *
 *  - cgroup: a cgroup v2 directory per scope (valk-PID-N) below valk's own
 *    cgroup (the "0::" line of /proc/self/cgroup, under the cgroup2 mount
 *    of /proc/self/mountinfo). A child joins it before it runs anything
 *    (spawn.c), and every process it forks is born in it, whatever its
 *    session or group. cgroup.kill kills them all; cgroup.events tells
 *    when none is left; the directory is removed once empty.
 *  - subreaper: where no cgroup can be made (not root, no writable v2
 *    hierarchy, any error making one), valk becomes a child subreaper, so
 *    orphans are reparented to valk instead of init, and every child gets
 *    the scope's token in VALK_PROCESS_SCOPE (a ':'-separated list, so a
 *    valk inside a scope adds its own), which its descendants inherit. A
 *    scope's members are the processes whose /proc/PID/environ holds the
 *    token; one that clears its environment escapes. The orphans valk
 *    adopts are reaped on SIGCHLD by pid, only those that are not commands
 *    process.c started (it reaps its own: valk_process_owns).
 *
 * VALK_PROCESS_TRACKING=subreaper forces the fallback (tests use it to
 * run both), =cgroup makes a scope an error where cgroups are unusable.
 *
 * Lifetime: a valk_scope is malloc'd and owned by its handle; it is in
 * `open_scopes` until closed. Closing (process/scope-close, the handle's
 * finalizer, or valk's exit) SIGKILLs what is left and removes the cgroup;
 * a cgroup whose last processes are still dying is kept in `doomed` and
 * removed later (at the next scope, and at exit); an empty one is kept
 * open as a spare for the next scope (a few at most), so that a step costs
 * no mkdir and rmdir. Everything closing runs uses plain C memory only, as
 * a finalizer must.
 */
#include "rt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TOKEN_VAR "VALK_PROCESS_SCOPE"
#define DEFAULT_GRACE 0.5 /* seconds, as for a cancelled command */
#define POLL_MS 10
#define KILL_WAIT_MS 2000 /* after SIGKILL: processes in the kernel (D state) take a moment */
#define EXIT_WAIT_MS 1000

enum { M_CGROUP, M_SUBREAPER };

struct valk_scope {
  int mode;
  bool closed;
  bool clean;      /* subreaper: no member since the last look found none */
  char *dir;       /* cgroup directory (malloc'd) */
  int procs_fd;    /* its cgroup.procs, which children write "0" to */
  char token[64];  /* subreaper: this scope's entry in VALK_PROCESS_SCOPE */
  struct valk_scope *prev, *next; /* in `open` */
};

static valk_scope *open_scopes;
static unsigned long scope_seq;

/* How new scopes track: decided at the first scope. */
static bool decided;
static int tracking;             /* M_CGROUP or M_SUBREAPER */
static bool cgroup_required;     /* VALK_PROCESS_TRACKING=cgroup */
static char cg_base[PATH_MAX];   /* valk's own cgroup directory */
static char why_not_cgroup[256]; /* when tracking is M_SUBREAPER */
static bool subreaper_on;
static uv_signal_t sigchld;

/* cgroup directories still to remove (their processes were dying) */
typedef struct Doomed { struct Doomed *next; char dir[]; } Doomed;
static Doomed *doomed;

/* Empty cgroups of closed scopes, kept open for the next scopes: a step
   then costs no mkdir and rmdir. */
#define MAX_SPARES 4
typedef struct Spare { struct Spare *next; char *dir; int procs_fd; } Spare;
static Spare *spares;
static int nspares;

/* ---- small file helpers (plain C, usable from a finalizer) ---- */

/* Reads from fd into buf until end of file or until buf's n-1 bytes are
   full; the number of bytes read (no NUL is added). */
static size_t read_fd(int fd, char *buf, size_t n) {
  size_t got = 0;
  while (got + 1 < n) {
    ssize_t k = read(fd, buf + got, n - 1 - got);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    got += (size_t)k;
  }
  return got;
}

/* Reads up to n-1 bytes of path into buf, NUL-terminated; length or -1. */
static ssize_t read_small(const char *path, char *buf, size_t n) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t got = read_fd(fd, buf, n);
  close(fd);
  buf[got] = 0;
  return (ssize_t)got;
}

static bool write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t k = write(fd, text, strlen(text));
  close(fd);
  return k == (ssize_t)strlen(text);
}

/* snprintf of a path or a reason; false when it did not fit */
__attribute__((format(printf, 3, 4))) static bool textf(char *out, size_t n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(out, n, fmt, ap);
  va_end(ap);
  return k >= 0 && (size_t)k < n;
}

static void sleep_ms_blocking(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

static uint64_t now_ms(void) { return uv_hrtime() / 1000000u; }

/* ---- cgroup tracking ---- */

/* valk's cgroup v2 directory into cg_base; false with why_not_cgroup set. */
static bool find_cgroup_base(void) {
  char cg[4096], rel[PATH_MAX] = "";
  if (read_small("/proc/self/cgroup", cg, sizeof cg) < 0) {
    (void)textf(why_not_cgroup, sizeof why_not_cgroup, "/proc/self/cgroup: %s", strerror(errno));
    return false;
  }
  char *line = strstr(cg, "0::");
  if (line && line != cg && line[-1] != '\n') line = NULL;
  if (!line) {
    (void)textf(why_not_cgroup, sizeof why_not_cgroup, "valk is in no cgroup v2 hierarchy");
    return false;
  }
  line += 3;
  size_t len = strcspn(line, "\n");
  if (len >= sizeof rel) return false;
  memcpy(rel, line, len);
  rel[len] = 0;
  FILE *mi = fopen("/proc/self/mountinfo", "re");
  if (!mi) {
    (void)textf(why_not_cgroup, sizeof why_not_cgroup, "/proc/self/mountinfo: %s", strerror(errno));
    return false;
  }
  char buf[4096];
  bool found = false;
  while (!found && fgets(buf, sizeof buf, mi)) {
    /* id parent major:minor root mountpoint options [optional...] - fstype source superoptions */
    char root[PATH_MAX], mnt[PATH_MAX];
    const char *sep = strstr(buf, " - ");
    if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0) continue;
    if (sscanf(buf, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 || strchr(mnt, '\\')) continue;
    /* the mount shows the hierarchy from root: valk's cgroup must be inside it */
    size_t rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
    if (strncmp(rel, root, rl) != 0 || (rel[rl] != '/' && rel[rl] != 0)) continue;
    if (!textf(cg_base, sizeof cg_base, "%s%s", mnt, rel + rl)) continue;
    found = true;
  }
  fclose(mi);
  if (!found) {
    (void)textf(why_not_cgroup, sizeof why_not_cgroup, "no cgroup2 mount holds valk's cgroup %s", rel);
    return false;
  }
  size_t bl = strlen(cg_base);
  if (bl > 1 && cg_base[bl - 1] == '/') cg_base[bl - 1] = 0;
  return true;
}

/* true when dir or a cgroup below it has a live process */
static bool cg_populated(const char *dir) {
  char path[PATH_MAX], ev[512];
  if (!textf(path, sizeof path, "%s/cgroup.events", dir) || read_small(path, ev, sizeof ev) < 0) return false; /* gone */
  return strstr(ev, "populated 1") != NULL;
}

/* Removes dir and the cgroups below it (a valk inside the scope may have
   made some); true when dir is gone. */
static bool cg_remove(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT;
  struct dirent *e;
  char sub[PATH_MAX];
  while ((e = readdir(d)))
    if (e->d_type == DT_DIR && e->d_name[0] != '.' &&
        textf(sub, sizeof sub, "%s/%s", dir, e->d_name))
      cg_remove(sub);
  closedir(d);
  return rmdir(dir) == 0 || errno == ENOENT;
}

static void doom(const char *dir) {
  size_t n = strlen(dir) + 1;
  Doomed *d = malloc(sizeof *d + n);
  if (!d) return; /* the empty directory stays behind */
  memcpy(d->dir, dir, n);
  d->next = doomed;
  doomed = d;
}

/* Removes the doomed cgroups that are empty by now. */
static void reap_doomed(void) {
  for (Doomed **pp = &doomed; *pp;) {
    Doomed *d = *pp;
    if (!cg_populated(d->dir) && cg_remove(d->dir)) {
      *pp = d->next;
      free(d);
    } else {
      pp = &d->next;
    }
  }
}

/* Calls f(pid, ud) for every process in dir and the cgroups below it;
   returns how many. */
static int cg_each(const char *dir, void (*f)(int pid, void *ud), void *ud) {
  char path[PATH_MAX];
  int n = 0;
  FILE *fp = textf(path, sizeof path, "%s/cgroup.procs", dir) ? fopen(path, "re") : NULL;
  if (fp) {
    int pid;
    while (fscanf(fp, "%d", &pid) == 1) {
      if (f) f(pid, ud);
      n++;
    }
    fclose(fp);
  }
  DIR *d = opendir(dir);
  if (!d) return n;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_type == DT_DIR && e->d_name[0] != '.' &&
        textf(path, sizeof path, "%s/%s", dir, e->d_name))
      n += cg_each(path, f, ud);
  closedir(d);
  return n;
}

/* A cgroup of a valk that died without closing its scopes (SIGKILL):
   valk-PID-N with no process PID. Its processes are killed and it is
   removed. */
static void sweep_dead_owners(void) {
  DIR *d = opendir(cg_base);
  if (!d) return;
  struct dirent *e;
  char path[PATH_MAX];
  while ((e = readdir(d))) {
    int pid;
    unsigned long seq;
    if (sscanf(e->d_name, "valk-%d-%lu", &pid, &seq) != 2 || pid == getpid()) continue;
    if (kill(pid, 0) == 0 || errno != ESRCH) continue;
    if (!textf(path, sizeof path, "%s/%s", cg_base, e->d_name)) continue;
    char kf[PATH_MAX + 16];
    if (textf(kf, sizeof kf, "%s/cgroup.kill", path) && cg_populated(path)) write_file(kf, "1");
    doom(path);
  }
  closedir(d);
}

/* true when dir has a cgroup below it */
static bool cg_has_children(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return false;
  struct dirent *e;
  bool any = false;
  while (!any && (e = readdir(d))) any = e->d_type == DT_DIR && e->d_name[0] != '.';
  closedir(d);
  return any;
}

/* Makes s's cgroup, or takes a spare one; false (nothing left behind)
   with why_not_cgroup set. */
static bool cg_create(valk_scope *s) {
  if (spares) {
    Spare *sp = spares;
    spares = sp->next;
    nspares--;
    s->dir = sp->dir;
    s->procs_fd = sp->procs_fd;
    free(sp);
    return true;
  }
  char dir[PATH_MAX], f[PATH_MAX + 16];
  if (!textf(dir, sizeof dir, "%s/valk-%d-%lu", cg_base, (int)getpid(), ++scope_seq)) {
    (void)textf(why_not_cgroup, sizeof why_not_cgroup, "cgroup path too long under %s", cg_base);
    return false;
  }
  if (mkdir(dir, 0755) != 0) {
    (void)textf(why_not_cgroup, sizeof why_not_cgroup, "cannot create a cgroup in %s: %s", cg_base, strerror(errno));
    return false;
  }
  if (!textf(f, sizeof f, "%s/cgroup.kill", dir) || access(f, W_OK) != 0) { /* before Linux 5.14 */
    (void)textf(why_not_cgroup, sizeof why_not_cgroup, "%s: %s", f, strerror(errno));
    rmdir(dir);
    return false;
  }
  s->procs_fd = textf(f, sizeof f, "%s/cgroup.procs", dir) ? open(f, O_WRONLY | O_CLOEXEC) : -1;
  if (s->procs_fd < 0) {
    (void)textf(why_not_cgroup, sizeof why_not_cgroup, "%s: %s", f, strerror(errno));
    rmdir(dir);
    return false;
  }
  s->dir = strdup(dir);
  if (!s->dir) {
    close(s->procs_fd);
    rmdir(dir);
    (void)textf(why_not_cgroup, sizeof why_not_cgroup, "out of memory");
    return false;
  }
  return true;
}

/* ---- subreaper tracking ---- */

/* true when the environment block env (n bytes) has token in its
   VALK_PROCESS_SCOPE list */
static bool env_has_token(const char *env, size_t n, const char *token) {
  size_t tl = strlen(token), vl = strlen(TOKEN_VAR "=");
  for (const char *e = env; e < env + n; e += strlen(e) + 1) {
    if (strncmp(e, TOKEN_VAR "=", vl) != 0) continue;
    for (const char *v = e + vl; *v;) {
      size_t k = strcspn(v, ":");
      if (k == tl && memcmp(v, token, tl) == 0) return true;
      v += k + (v[k] == ':');
    }
  }
  return false;
}

/* Calls f(pid, ud) for every live process whose environment holds token;
   returns how many. A zombie shows an empty environment: it is no longer
   a member. */
static int sr_each(const char *token, void (*f)(int pid, void *ud), void *ud) {
  DIR *d = opendir("/proc");
  if (!d) return 0;
  int n = 0, self = (int)getpid();
  size_t cap = 65536;
  char *env = malloc(cap);
  struct dirent *e;
  while (env && (e = readdir(d))) {
    int pid = atoi(e->d_name);
    if (pid <= 0 || pid == self) continue;
    char path[64];
    int fd = textf(path, sizeof path, "/proc/%d/environ", pid) ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) continue;
    size_t got = read_fd(fd, env, cap);
    while (got + 1 >= cap) { /* full: the environment may go on */
      char *bigger = realloc(env, cap * 2);
      if (!bigger) break;
      env = bigger;
      size_t more = read_fd(fd, env + got, cap * 2 - got);
      cap *= 2;
      if (!more) break;
      got += more;
    }
    close(fd);
    env[got] = 0;
    if (env_has_token(env, got, token)) {
      if (f) f(pid, ud);
      n++;
    }
  }
  free(env);
  closedir(d);
  return n;
}

/* Reaps the exited orphans valk adopted: its children that process.c did
   not start. Each is waited for by pid, so a command's exit, which
   process.c observes without reaping, is never taken from it. */
static void reap_child(int pid) {
  if (valk_process_owns(pid)) return;
  int ws;
  while (waitpid(pid, &ws, WNOHANG) < 0 && errno == EINTR) {}
}

static void reap_orphans(void) {
  char path[64], buf[8192];
  DIR *d = opendir("/proc/self/task");
  bool listed = false;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    if (!textf(path, sizeof path, "/proc/self/task/%.20s/children", e->d_name) || read_small(path, buf, sizeof buf) < 0) continue;
    listed = true;
    for (char *p = buf; *p;) {
      char *end;
      long pid = strtol(p, &end, 10);
      if (end == p) break;
      reap_child((int)pid);
      p = end;
    }
  }
  if (d) closedir(d);
  if (listed) return;
  /* a kernel without task children lists: each process's parent */
  if (!(d = opendir("/proc"))) return;
  int self = (int)getpid();
  while ((e = readdir(d))) {
    int pid = atoi(e->d_name), ppid = 0;
    if (pid <= 0) continue;
    if (!textf(path, sizeof path, "/proc/%d/stat", pid) || read_small(path, buf, sizeof buf) < 0) continue;
    const char *rp = strrchr(buf, ')'); /* the name may hold spaces */
    if (rp && sscanf(rp + 1, " %*c %d", &ppid) == 1 && ppid == self) reap_child(pid);
  }
  closedir(d);
}

static void on_sigchld(uv_signal_t *h, int sig) {
  (void)h;
  (void)sig;
  reap_orphans();
}

/* valk adopts the orphans of its commands from now on. */
static void subreaper_start(void) {
  static bool watching;
  if (subreaper_on) return;
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
    valk_raise("process/scope: cannot become a child subreaper: %s", strerror(errno));
  int rc = 0;
  if (!watching) {
    if ((rc = uv_signal_init(valk_loop(), &sigchld)))
      valk_raise("process/scope: cannot watch SIGCHLD: %s", uv_strerror(rc));
    uv_unref((uv_handle_t *)&sigchld); /* reaping keeps nothing running */
    watching = true;
  }
  if ((rc = uv_signal_start(&sigchld, on_sigchld, SIGCHLD)))
    valk_raise("process/scope: cannot watch SIGCHLD: %s", uv_strerror(rc));
  subreaper_on = true;
}

/* ---- scopes ---- */

static void decide(void) {
  if (decided) return;
  const char *want = getenv("VALK_PROCESS_TRACKING");
  if (!want || !*want || !strcmp(want, "auto")) tracking = M_CGROUP;
  else if (!strcmp(want, "cgroup")) tracking = M_CGROUP, cgroup_required = true;
  else if (!strcmp(want, "subreaper")) {
    tracking = M_SUBREAPER;
    (void)textf(why_not_cgroup, sizeof why_not_cgroup, "VALK_PROCESS_TRACKING=subreaper");
  } else
    valk_raise("VALK_PROCESS_TRACKING: unknown tracking %s (known: auto, cgroup, subreaper)", want);
  decided = true;
  if (tracking == M_CGROUP) {
    if (find_cgroup_base()) sweep_dead_owners();
    else tracking = M_SUBREAPER;
  }
}

static void scope_unlink(valk_scope *s) {
  if (s->prev) s->prev->next = s->next;
  else if (open_scopes == s) open_scopes = s->next;
  if (s->next) s->next->prev = s->prev;
  s->prev = s->next = NULL;
}

static void sigkill_pid(int pid, void *ud) {
  (void)ud;
  kill(pid, SIGKILL);
}

static void sigterm_pid(int pid, void *ud) {
  (void)ud;
  kill(pid, SIGTERM);
}

/* Calls f on every member of s; returns how many there are. */
static int scope_each(valk_scope *s, void (*f)(int pid, void *ud), void *ud) {
  if (s->mode == M_CGROUP) return cg_each(s->dir, f, ud);
  int n = s->clean ? 0 : sr_each(s->token, f, ud);
  return n;
}

/* SIGKILLs every member at once, without waiting. */
static void scope_kill_now(valk_scope *s) {
  if (s->mode == M_CGROUP) {
    char f[PATH_MAX + 16];
    if (cg_populated(s->dir) && !(textf(f, sizeof f, "%s/cgroup.kill", s->dir) && write_file(f, "1")))
      cg_each(s->dir, sigkill_pid, NULL); /* one by one, then */
  } else {
    scope_each(s, sigkill_pid, NULL);
  }
}

/* Closes s: what is left is killed, the cgroup removed (now or, while its
   processes die, later). Plain C only: the finalizer runs it. */
static void scope_close(valk_scope *s) {
  if (s->closed) return;
  s->closed = true;
  scope_unlink(s);
  scope_kill_now(s);
  if (s->mode != M_CGROUP) return;
  Spare *sp = NULL;
  if (nspares < MAX_SPARES && !cg_populated(s->dir) && !cg_has_children(s->dir) && (sp = malloc(sizeof *sp))) {
    sp->dir = s->dir;
    sp->procs_fd = s->procs_fd;
    sp->next = spares;
    spares = sp;
    nspares++;
  } else {
    close(s->procs_fd);
    if (cg_populated(s->dir) || !cg_remove(s->dir)) doom(s->dir);
    free(s->dir);
  }
  s->procs_fd = -1;
  s->dir = NULL;
}

static void scope_finalize(void *ptr) {
  scope_close(ptr);
  free(ptr);
}

static const valk_native_type scope_type = {"process-scope", scope_finalize};

static valk_scope *scope_arg(V *a, int n, const char *who) {
  (void)n;
  valk_scope *s = valk_native_check(a[0], &scope_type, who, 0);
  if (s->closed) valk_raise("%s: the process scope is closed", who);
  return s;
}

valk_scope *valk_scope_bound(const char *who) {
  V v = valk_dyn(valk_kw("process-scope"), NIL);
  if (v == NIL) return NULL;
  if (!valk_native_is(v, &scope_type))
    valk_raise("%s: :process-scope must be a process scope (from process/scope), got %s", who, valk_type_name(v));
  valk_scope *s = ((Native *)v)->ptr;
  if (s->closed) valk_raise("%s: the process scope bound to :process-scope is closed", who);
  return s;
}

int valk_scope_prepare(valk_scope *s, char ***envp) {
  if (s->mode == M_CGROUP) return s->procs_fd;
  s->clean = false;
  size_t n = 0;
  const char *inherited = NULL;
  for (char **e = *envp; *e; e++, n++)
    if (!strncmp(*e, TOKEN_VAR "=", strlen(TOKEN_VAR "="))) inherited = *e + strlen(TOKEN_VAR "=");
  char **out = valk_alloc((n + 2) * sizeof(char *));
  size_t k = 0;
  for (char **e = *envp; *e; e++)
    if (strncmp(*e, TOKEN_VAR "=", strlen(TOKEN_VAR "="))) out[k++] = *e;
  /* a valk running in a scope adds its own: the outer scope still finds it */
  out[k++] = inherited && *inherited ? AS_STR(valk_strf(TOKEN_VAR "=%s:%s", inherited, s->token))->s
                                     : AS_STR(valk_strf(TOKEN_VAR "=%s", s->token))->s;
  out[k] = NULL;
  *envp = out;
  return -1;
}

/* (process/scope) */
static V bi_scope(V *a, int n) {
  (void)a;
  (void)n;
  decide();
  reap_doomed();
  valk_scope made;
  memset(&made, 0, sizeof made);
  made.procs_fd = -1;
  made.mode = tracking;
  if (made.mode == M_CGROUP && !cg_create(&made)) made.mode = M_SUBREAPER;
  if (made.mode == M_SUBREAPER && cgroup_required)
    valk_raise("process/scope: VALK_PROCESS_TRACKING=cgroup but %s", why_not_cgroup);
  if (made.mode == M_SUBREAPER) {
    tracking = M_SUBREAPER; /* and so for every later scope */
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != sizeof r) r = uv_hrtime();
    snprintf(made.token, sizeof made.token, "%d.%lu.%016llx", (int)getpid(), ++scope_seq, (unsigned long long)r);
    made.clean = true;
    subreaper_start();
  }
  valk_scope *s = malloc(sizeof *s);
  if (!s) {
    if (made.mode == M_CGROUP) {
      close(made.procs_fd);
      if (!cg_remove(made.dir)) doom(made.dir);
      free(made.dir);
    }
    valk_raise("process/scope: out of memory");
  }
  *s = made;
  s->next = open_scopes;
  if (open_scopes) open_scopes->prev = s;
  open_scopes = s;
  return valk_native(&scope_type, s, NIL);
}

/* Waits (parking the fiber) until s has no member or ms have passed;
   true when none is left. */
static bool wait_empty(valk_scope *s, uint64_t ms) {
  uint64_t end = now_ms() + ms;
  for (;;) {
    bool empty = s->mode == M_CGROUP ? !cg_populated(s->dir) : scope_each(s, NULL, NULL) == 0;
    if (empty) return true;
    if (now_ms() >= end) return false;
    valk_task_sleep(POLL_MS);
  }
}

/* (process/scope-kill s [grace]) */
static V bi_scope_kill(V *a, int n) {
  valk_scope *s = scope_arg(a, n, "process/scope-kill");
  double grace = n > 1 ? valk_arg_num(a, n, 1, "process/scope-kill") : DEFAULT_GRACE;
  if (grace < 0) valk_raise("process/scope-kill: the grace must be a number of seconds >= 0, got %g", grace);
  int found = s->mode == M_CGROUP && !cg_populated(s->dir) ? 0 : scope_each(s, sigterm_pid, NULL);
  if (found) {
    if (!wait_empty(s, (uint64_t)(grace * 1000))) {
      scope_kill_now(s);
      if (s->mode == M_SUBREAPER) { /* new children may have been forked meanwhile */
        uint64_t end = now_ms() + KILL_WAIT_MS;
        while (scope_each(s, sigkill_pid, NULL) && now_ms() < end) valk_task_sleep(POLL_MS);
      } else {
        wait_empty(s, KILL_WAIT_MS);
      }
    }
  }
  if (s->mode == M_SUBREAPER && scope_each(s, NULL, NULL) == 0) s->clean = true;
  return valk_int(found);
}

static V bi_scope_close(V *a, int n) {
  (void)n;
  valk_scope *s = valk_native_check(a[0], &scope_type, "process/scope-close", 0);
  scope_close(s);
  return NIL;
}

static V bi_scope_mode(V *a, int n) {
  (void)n;
  valk_scope *s = valk_native_check(a[0], &scope_type, "process/scope-mode", 0);
  return valk_kw(s->mode == M_CGROUP ? "cgroup" : "subreaper");
}

static void push_pid(int pid, void *ud) {
  V *l = ud;
  *l = valk_cons(valk_int(pid), *l);
}

static V bi_scope_pids(V *a, int n) {
  valk_scope *s = scope_arg(a, n, "process/scope-pids");
  V l = EMPTY;
  scope_each(s, push_pid, &l);
  return valk_list_reverse(l);
}

/* valk's exit kills every open scope and removes the cgroups. */
static void close_all_at_exit(void) {
  while (open_scopes) scope_close(open_scopes);
  while (spares) {
    Spare *sp = spares;
    spares = sp->next;
    close(sp->procs_fd);
    if (!cg_remove(sp->dir)) doom(sp->dir);
    free(sp->dir);
    free(sp);
  }
  for (int waited = 0; doomed && waited < EXIT_WAIT_MS; waited += POLL_MS) {
    reap_doomed();
    if (doomed) sleep_ms_blocking(POLL_MS);
  }
}

static const valk_reg scope_fns[] = {
    {"process/scope", bi_scope, 0, 0,
     "(process/scope) a new process scope: bound as :process-scope (with-dyn), it holds every process started meanwhile and all their descendants, whatever their session or group"},
    {"process/scope-kill", bi_scope_kill, 1, 2,
     "(process/scope-kill s [grace]) SIGTERMs every process of scope s, SIGKILLs what is left after grace seconds (default 0.5); returns how many processes it found"},
    {"process/scope-close", bi_scope_close, 1, 1,
     "(process/scope-close s) SIGKILLs what is left in scope s and releases it; no process can start in it afterwards"},
    {"process/scope-mode", bi_scope_mode, 1, 1,
     "(process/scope-mode s) how scope s tracks its processes: :cgroup (a cgroup v2 of its own) or :subreaper (an environment token, orphans adopted by valk)"},
    {"process/scope-pids", bi_scope_pids, 1, 1, "(process/scope-pids s) the pids of the live processes of scope s"},
    {NULL, NULL, 0, 0, NULL}};

void valk_procscope_register(void) {
  if (atexit(close_all_at_exit) != 0) valk_raise("process scopes: cannot register the exit handler");
  valk_register(scope_fns);
}
