/*
 * process.c - running external commands: exec, spawn, exec-stream.
 *
 * A command starts with valk_spawn (spawn.c, a vfork-style clone) in a
 * new session, so it leads its own process group and a timeout or a
 * cancel can signal the whole tree with kill(-pgid). Under a process scope
 * bound to :process-scope (procscope.c) it joins the scope before it runs,
 * so the scope also finds the descendants that leave its group. Not
 * uv_spawn: libuv 1.44 forks and copies the page tables of the whole heap
 * and every fiber stack, which made a start 3-5x slower in a busy valk
 * (measured in bench/ci.sh). The child's exit is watched through a pidfd
 * polled by the loop and read without reaping (WNOWAIT); only the orphans
 * a subreaper valk adopts are reaped elsewhere, by pid, never a command
 * of this file (valk_process_owns).
 * Output is read through pipes by the loop; stdout and stderr are kept
 * separately (up to a cap, then cut with a marker while the process runs
 * on) and as one interleaved list of timestamped lines. Only the calling
 * fiber waits.
 *
 * Lifetime: a Proc holds libuv handles, so it is root-allocated and freed
 * when the last of its handles has closed and its waiter has let go
 * (open counts both). The states it goes through, from start to the
 * closing of its handles, are described with proc_on() below.
 */
#include "rt.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define DEFAULT_CAP (64u << 20)
#define MAX_LINES 100000
#define DRAIN_MS 250      /* pipes still open this long after exit get closed */
#define CANCEL_GRACE_MS 500

enum { S_OUT, S_ERR };

typedef struct {
  Buf buf;        /* captured bytes */
  size_t dropped; /* bytes past the cap */
  Buf partial;    /* incomplete last line */
  bool eof;
} Stream;

/* ---- the process record and its state machine ----

   A Proc's life, written down once; proc_on() is the only function that
   changes p->state, and every event goes through it.

     RUNNING   the leader runs. The timeout timer is armed when :timeout
               was given.
     STOPPING  the leader runs; a timeout or a cancel sent SIGTERM to the
               process group.
     DRAINING  the leader has exited (its zombie is kept, see below); a
               pipe is still open. The drain timer closes it after
               DRAIN_MS (a background child may hold it forever).
     DONE      leader exited and output complete; the waiter was woken.
     CLOSED    the leader's zombie is reaped, the Proc has left `live`,
               its timers and exit poll are closing.

     RUNNING  --timeout/cancel--> STOPPING   SIGTERM group, arm grace
     RUNNING  --exit-----------> DRAINING   stop timeout, arm drain
     STOPPING --exit-----------> DRAINING   (grace stays armed)
     DRAINING --cancel---------> DRAINING   SIGTERM group, arm grace
     DRAINING --both pipes EOF-> DONE       wake the waiter
     DRAINING --drain expired--> DONE       close the pipes, wake the waiter
     DONE     --grace unarmed--> CLOSED     reap, leave `live`, close handles
     any state --grace expired-> same       SIGKILL group

   The kill grace is independent of the leader (D3): once SIGTERM was
   sent, the grace timer runs to its end and SIGKILLs the whole group,
   whether or not the leader exited meanwhile, so a grandchild that
   ignores SIGTERM never survives it. The leader's zombie is reaped only
   at CLOSED (the exit is observed with WNOWAIT), so until then its pid,
   which is the group id, cannot be reused and kill(-pid) never reaches
   an unrelated group. */
enum proc_state { P_RUNNING, P_STOPPING, P_DRAINING, P_DONE, P_CLOSED };
enum proc_event { EV_TIMEOUT, EV_STOP, EV_EXIT, EV_PIPE_END, EV_DRAIN, EV_GRACE };

typedef struct Proc {
  enum proc_state state;
  uv_poll_t exitpoll; /* readable when the child has exited */
  int pidfd;
  uv_pipe_t pipes[2]; /* stdout, stderr */
  uv_pipe_t in;
  uv_timer_t timeout, grace, drain;
  uv_write_t wreq;
  int open;           /* handles not yet closed, plus the waiter's claim */
  bool term_sent;     /* SIGTERM went to the group; grace armed or expired */
  Stream s[2];
  size_t cap;
  V lines;            /* reversed list of (ms stream text) */
  size_t nlines, dropped_lines;
  V pending;          /* reversed list of lines not yet given to exec-stream */
  V name;             /* command name, for messages */
  V log;              /* log sink bound to :out, or NULL */
  V args;             /* argument list */
  valk_task *waiter;
  bool timed_out, cancelled;
  int64_t exit_status;
  int term_signal;
  int pid;
  uint64_t t0, t1;    /* uv_hrtime at start and exit */
  uint64_t grace_ms;  /* :kill-grace, for a timeout */
  uint64_t stop_grace_ms; /* grace of the stop being requested (EV_STOP) */
  V stdin_str;
  struct Proc *prev_live, *next_live; /* in `live` until CLOSED */
} Proc;

/* A process handle only names a Proc from its task's children list; the
   Proc belongs to the loop until its handles have closed (see Lifetime
   above), so the handle has no finalizer. */
static const valk_native_type proc_type = {"process", NULL};

/* Processes not yet CLOSED: their groups may still have members. When
   valk exits, these groups are killed: a command never outlives the
   program that started it (each runs in its own session, so nothing
   else would stop it). */
static Proc *live;

static void live_add(Proc *p) {
  p->next_live = live;
  if (live) live->prev_live = p;
  live = p;
}

static void live_remove(Proc *p) {
  if (p->prev_live) p->prev_live->next_live = p->next_live;
  else if (live == p) live = p->next_live;
  if (p->next_live) p->next_live->prev_live = p->prev_live;
  p->prev_live = p->next_live = NULL;
}

bool valk_process_owns(int pid) {
  for (Proc *p = live; p; p = p->next_live)
    if (p->pid == pid) return true;
  return false;
}

static void kill_live_at_exit(void) {
  for (Proc *p = live; p; p = p->next_live)
    if (p->pid > 0) kill(-p->pid, SIGKILL);
}

/* One read buffer for every pipe: libuv calls on_read right after
   on_alloc on this one thread, and on_read copies the bytes out. */
static char rdbuf[65536];

static void maybe_free(Proc *p) {
  if (p->open == 0) valk_root_free(p);
}

static void on_close(uv_handle_t *h) {
  Proc *p = h->data;
  if (h == (uv_handle_t *)&p->exitpoll && p->pidfd >= 0) {
    close(p->pidfd); /* a polled fd is closed only once its handle is */
    p->pidfd = -1;
  }
  p->open--;
  maybe_free(p);
}

static void close_handle(uv_handle_t *h) {
  if (!uv_is_closing(h)) uv_close(h, on_close);
}

static double elapsed_ms(Proc *p) { return (double)(uv_hrtime() - p->t0) / 1e6; }

static void add_line(Proc *p, int stream, const char *s, size_t n) {
  if (n && s[n - 1] == '\r') n--;
  if (p->log) valk_log_line(p->log, stream == S_OUT ? "stdout" : "stderr", s, n);
  V line = valk_list(3, valk_float(elapsed_ms(p)), valk_kw(stream == S_OUT ? "stdout" : "stderr"), valk_str(s, n));
  p->pending = valk_cons(line, p->pending);
  if (p->nlines < MAX_LINES) {
    p->lines = valk_cons(line, p->lines);
    p->nlines++;
  } else {
    p->dropped_lines++;
  }
}

static void capture(Proc *p, int stream, const char *data, size_t n) {
  Stream *st = &p->s[stream];
  size_t room = st->buf.len < p->cap ? p->cap - st->buf.len : 0;
  size_t take = n < room ? n : room;
  if (take) buf_put(&st->buf, data, take);
  st->dropped += n - take;
  /* split into lines for the interleaved stream */
  size_t i = 0;
  while (i < n) {
    const char *nl = memchr(data + i, '\n', n - i);
    if (!nl) {
      if (st->partial.len < 65536) buf_put(&st->partial, data + i, n - i);
      break;
    }
    size_t k = (size_t)(nl - (data + i));
    if (st->partial.len) {
      buf_put(&st->partial, data + i, k);
      add_line(p, stream, st->partial.s, st->partial.len);
      st->partial.len = 0;
    } else {
      add_line(p, stream, data + i, k);
    }
    i += k + 1;
  }
  if (p->waiter && p->pending != EMPTY) valk_task_wake(p->waiter);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  (void)suggested;
  (void)h;
  b->base = rdbuf;
  b->len = sizeof rdbuf;
}

/* Signals the group; only while the leader's pid is ours (before CLOSED). */
static void kill_group(Proc *p, int sig) {
  if (p->state == P_CLOSED || p->pid <= 0) return;
  if (kill(-p->pid, sig) != 0 && p->state < P_DRAINING) kill(p->pid, sig);
}

/* Ends a pipe's stream: the last partial line is flushed, the handle
   closed. */
static void end_stream(Proc *p, int i) {
  Stream *st = &p->s[i];
  if (st->eof) return;
  if (st->partial.len) {
    add_line(p, i, st->partial.s, st->partial.len);
    st->partial.len = 0;
    if (p->waiter) valk_task_wake(p->waiter);
  }
  st->eof = true;
  uv_read_stop((uv_stream_t *)&p->pipes[i]);
  close_handle((uv_handle_t *)&p->pipes[i]);
}

static void timeout_expired(uv_timer_t *t);
static void grace_expired(uv_timer_t *t);
static void drain_expired(uv_timer_t *t);

/* The one transition function (see the table above). */
static void proc_on(Proc *p, enum proc_event ev) {
  switch (ev) {
  case EV_TIMEOUT:
    if (p->state != P_RUNNING) break;
    p->timed_out = true;
    p->stop_grace_ms = p->grace_ms;
    /* fall through */
  case EV_STOP:
    if (p->term_sent || p->state >= P_DONE) break;
    p->term_sent = true;
    uv_timer_stop(&p->timeout);
    kill_group(p, SIGTERM);
    /* a timer that cannot start (never for an open handle) kills at once */
    if (uv_timer_start(&p->grace, grace_expired, p->stop_grace_ms, 0) != 0) kill_group(p, SIGKILL);
    if (p->state == P_RUNNING) p->state = P_STOPPING;
    break;
  case EV_GRACE:
    kill_group(p, SIGKILL);
    break;
  case EV_EXIT:
    uv_timer_stop(&p->timeout);
    p->state = P_DRAINING;
    if (!(p->s[S_OUT].eof && p->s[S_ERR].eof) &&
        uv_timer_start(&p->drain, drain_expired, DRAIN_MS, 0) != 0)
      end_stream(p, S_OUT), end_stream(p, S_ERR);
    break;
  case EV_DRAIN:
    end_stream(p, S_OUT);
    end_stream(p, S_ERR);
    break;
  case EV_PIPE_END:
    break;
  }
  if (p->state == P_DRAINING && p->s[S_OUT].eof && p->s[S_ERR].eof) {
    p->state = P_DONE;
    uv_timer_stop(&p->drain);
    if (p->waiter) valk_task_wake(p->waiter);
  }
  if (p->state == P_DONE && !uv_is_active((uv_handle_t *)&p->grace)) {
    p->state = P_CLOSED;
    int ws;
    while (waitpid(p->pid, &ws, 0) < 0 && errno == EINTR) {} /* a zombie: returns at once */
    live_remove(p);
    close_handle((uv_handle_t *)&p->timeout);
    close_handle((uv_handle_t *)&p->grace);
    close_handle((uv_handle_t *)&p->drain);
    close_handle((uv_handle_t *)&p->exitpoll);
  }
}

static void on_read(uv_stream_t *h, ssize_t n, const uv_buf_t *b) {
  Proc *p = h->data;
  int stream = h == (uv_stream_t *)&p->pipes[S_OUT] ? S_OUT : S_ERR;
  if (n > 0) {
    capture(p, stream, b->base, (size_t)n);
    return;
  }
  if (n == 0) return;
  end_stream(p, stream); /* EOF or error */
  proc_on(p, EV_PIPE_END);
}

static void drain_expired(uv_timer_t *t) { proc_on(t->data, EV_DRAIN); }
static void grace_expired(uv_timer_t *t) { proc_on(t->data, EV_GRACE); }
static void timeout_expired(uv_timer_t *t) { proc_on(t->data, EV_TIMEOUT); }

/* The pidfd is readable: the leader exited. Its status is read without
   reaping it (WNOWAIT); proc_on reaps it at CLOSED. */
static void on_process_exit(uv_poll_t *h, int status, int events) {
  (void)status; (void)events;
  Proc *p = h->data;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int r;
  do r = waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT);
  while (r < 0 && errno == EINTR);
  if (r == 0 && si.si_pid == 0) return; /* not yet: poll again */
  uv_poll_stop(h);
  bool signalled = r == 0 && (si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED);
  p->exit_status = r == 0 && si.si_code == CLD_EXITED ? si.si_status : 0;
  p->term_signal = signalled ? si.si_status : 0;
  p->t1 = uv_hrtime();
  proc_on(p, EV_EXIT);
}

static void on_stdin_written(uv_write_t *w, int status) {
  (void)status;
  Proc *p = w->data;
  close_handle((uv_handle_t *)&p->in);
}

/* ---- options and arguments ---- */
typedef struct {
  V cmd;
  V args;       /* list of strings */
  V cwd, env, stdin_str;
  bool env_clear, shell;
  double timeout, grace;
  size_t cap;
  V on_line;    /* exec-stream callback */
  V ctx_env;    /* (dyn :env), under the explicit :env */
  V log;        /* (dyn :out), the sink of every output line */
  valk_scope *scope; /* (dyn :process-scope), or NULL */
} Spec;

static V opt(V *a, int n, int from, const char *name) { return valk_kwarg(a, n, from, name, NULL); }

static void parse_spec(V *a, int n, Spec *sp, const char *who) {
  memset(sp, 0, sizeof *sp);
  int npos = valk_positional_count(a, n, 0);
  int rest = n - npos;
  if (rest % 2) valk_raise("%s: keyword option %s has no value", who, valk_repr_c(a[n - 1]));
  for (int i = npos; i < n; i += 2) {
    if (!IS(a[i], T_KW)) valk_raise("%s: expected a keyword option, got %s", who, valk_repr_c(a[i]));
    const char *k = AS_SYM(a[i])->name;
    if (strcmp(k, "cwd") && strcmp(k, "env") && strcmp(k, "env-clear") && strcmp(k, "timeout") &&
        strcmp(k, "stdin") && strcmp(k, "shell") && strcmp(k, "capture-limit") && strcmp(k, "kill-grace"))
      valk_raise("%s: unknown option :%s (known: :cwd :env :env-clear :timeout :stdin :shell :capture-limit :kill-grace)", who, k);
  }
  if (npos < 1) valk_raise("%s: expected a command", who);
  V items[npos];
  for (int i = 0; i < npos; i++) {
    V v = a[i];
    if (IS_LIST(v)) valk_raise("%s: argument %d must be a string, got a list (use apply to spread a list)", who, i + 1);
    items[i] = IS(v, T_STR) ? v : valk_display(v);
  }
  /* an absolute command path may start with a :path-aliases prefix */
  sp->cmd = AS_STR(items[0])->s[0] == '/' ? valk_cstr(valk_dyn_path(AS_STR(items[0])->s)) : items[0];
  sp->args = valk_list_from(items + 1, npos - 1);
  V e = valk_dyn(valk_kw("env"), NIL);
  sp->ctx_env = IS(e, T_MAP) ? e : NULL;
  V lg = valk_dyn(valk_kw("out"), NIL);
  sp->log = valk_is_log(lg) ? lg : NULL;
  sp->scope = valk_scope_bound(who);
  sp->cwd = opt(a, n, npos, "cwd");
  if (sp->cwd && IS(sp->cwd, T_STR)) sp->cwd = valk_cstr(valk_dyn_path(AS_STR(sp->cwd)->s));
  if (!sp->cwd || sp->cwd == NIL) {
    V cwd = valk_dyn(valk_kw("cwd"), NIL);
    if (IS(cwd, T_STR)) sp->cwd = cwd;
  }
  sp->env = opt(a, n, npos, "env");
  sp->stdin_str = opt(a, n, npos, "stdin");
  V ec = opt(a, n, npos, "env-clear");
  sp->env_clear = ec && valk_truthy(ec);
  V sh = opt(a, n, npos, "shell");
  sp->shell = sh && valk_truthy(sh);
  V to = opt(a, n, npos, "timeout");
  if (to && to != NIL) {
    if (!valk_is_number(to) || valk_num_get(to) <= 0) valk_raise("%s: :timeout must be a positive number of seconds", who);
    sp->timeout = valk_num_get(to);
  }
  V gr = opt(a, n, npos, "kill-grace");
  sp->grace = gr && valk_is_number(gr) ? valk_num_get(gr) : 2.0;
  V cap = opt(a, n, npos, "capture-limit");
  sp->cap = cap && vtype(cap) == T_INT && valk_int_get(cap) >= 0 ? (size_t)valk_int_get(cap) : DEFAULT_CAP;
  if (sp->cwd && sp->cwd != NIL && !IS(sp->cwd, T_STR)) valk_raise("%s: :cwd must be a string", who);
  if (sp->env && sp->env != NIL && !IS(sp->env, T_MAP)) valk_raise("%s: :env must be a map", who);
  if (sp->stdin_str && sp->stdin_str != NIL && !IS(sp->stdin_str, T_STR)) valk_raise("%s: :stdin must be a string", who);
}

/* environ merged with the :env map (nil values remove a variable) */
static char **build_env(Spec *sp) {
  V m = valk_map_new(64);
  if (!sp->env_clear)
    for (char **e = environ; *e; e++) {
      char *eq = strchr(*e, '=');
      if (!eq) continue;
      valk_map_set(m, valk_str(*e, (size_t)(eq - *e)), valk_cstr(eq + 1));
    }
  V layers[2] = {sp->ctx_env, sp->env && sp->env != NIL ? sp->env : NULL};
  for (int li = 0; li < 2; li++) {
    if (!layers[li]) continue;
    V k, v;
    for (uint32_t i = 0; valk_map_next(layers[li], &i, &k, &v);) {
      V key = valk_cstr(valk_key_name(k, "exec", ":env keys"));
      if (v == NIL) valk_map_del(m, key);
      else valk_map_set(m, key, valk_display(v));
    }
  }
  char **envp = valk_alloc((AS_MAP(m)->count + 1) * sizeof(char *));
  size_t i = 0;
  V k, v;
  for (uint32_t j = 0; valk_map_next(m, &j, &k, &v);)
    envp[i++] = AS_STR(valk_strf("%s=%s", AS_STR(k)->s, AS_STR(v)->s))->s;
  envp[i] = NULL;
  return envp;
}

static V spawn_error(Spec *sp, int rc) {
  const char *cmd = AS_STR(sp->cmd)->s;
  if (rc & VALK_SPAWN_JOIN_FAILED)
    return valk_make_error("error", "exec %s: cannot join the process scope's cgroup: %s", cmd, strerror(rc & ~VALK_SPAWN_JOIN_FAILED));
  switch (rc) {
  case ENOENT:
    if (sp->cwd && sp->cwd != NIL) {
      struct stat st;
      if (stat(AS_STR(sp->cwd)->s, &st) != 0 || !S_ISDIR(st.st_mode))
        return valk_make_error("error", "exec: working directory %s: No such directory", AS_STR(sp->cwd)->s);
    }
    return valk_make_error("error", "command not found: %s", cmd);
  case EACCES: return valk_make_error("error", "permission denied: %s", cmd);
  case EMFILE: case ENFILE:
    return valk_make_error("error", "exec %s: too many open files", cmd);
  case EAGAIN: return valk_make_error("error", "exec %s: cannot create a process (process limit reached)", cmd);
  case ENOMEM: return valk_make_error("error", "exec %s: out of memory", cmd);
  default: return valk_make_error("error", "exec %s: %s", cmd, strerror(rc));
  }
}

/* The file to execute for cmd: cmd itself when it holds a slash, else the
   first executable regular file of that name in the PATH of the child's
   environment (execvp's rule, but a run's :env may change PATH). NULL with
   *err set to ENOENT, or EACCES when only non-executable ones exist. */
static const char *find_command(const char *cmd, char **envp, int *err) {
  if (strchr(cmd, '/')) return cmd;
  const char *path = NULL;
  for (char **e = envp; *e; e++)
    if (strncmp(*e, "PATH=", 5) == 0) { path = *e + 5; break; }
  if (!path) path = "/usr/local/bin:/usr/bin:/bin";
  *err = ENOENT;
  for (const char *d = path;;) {
    const char *end = strchrnul(d, ':');
    const char *full = end == d ? AS_STR(valk_strf("./%s", cmd))->s
                                : AS_STR(valk_strf("%.*s/%s", (int)(end - d), d, cmd))->s;
    struct stat st;
    if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
      if (access(full, X_OK) == 0) return full;
      *err = EACCES;
    }
    if (!*end) return NULL;
    d = end + 1;
  }
}

/* A close-on-exec pipe whose ends are above 2, so that dup2 onto the
   child's 0, 1 or 2 always makes a new descriptor (which loses the flag). */
static int make_pipe(int fd[2]) {
  if (pipe2(fd, O_CLOEXEC) != 0) return errno;
  for (int i = 0; i < 2; i++)
    if (fd[i] < 3) {
      int moved = fcntl(fd[i], F_DUPFD_CLOEXEC, 3);
      int e = errno;
      close(fd[i]);
      fd[i] = moved;
      if (moved < 0) return e;
    }
  return 0;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* valk_spawn (spawn.c) of file; a file that is not a binary and has no
   #! line runs with /bin/sh, as execvp would. Returns 0 or an errno. */
static int spawn_child(const char *file, char **argv, char **envp, const char *cwd,
                       int in_fd, int out_fd, int err_fd, int cgroup_fd, pid_t *pid) {
  valk_spawn_req r = {file, argv, envp, cwd, in_fd, out_fd, err_fd, cgroup_fd};
  int rc = valk_spawn(&r, pid);
  if (rc == ENOEXEC) {
    size_t n = 0;
    while (argv[n]) n++;
    char **shargv = valk_alloc((n + 2) * sizeof(char *));
    shargv[0] = "/bin/sh";
    shargv[1] = (char *)file;
    for (size_t i = 1; i <= n; i++) shargv[i + 1] = argv[i];
    r.file = "/bin/sh";
    r.argv = shargv;
    rc = valk_spawn(&r, pid);
  }
  return rc;
}

/* Starts the process; raises (with nothing left running or open) on
   failure. */
static Proc *proc_start(Spec *sp) {
  size_t nargs = valk_list_len(sp->args);
  char **argv = valk_alloc((nargs + 4) * sizeof(char *));
  size_t ai = 0;
  if (sp->shell) {
    Buf line;
    buf_init(&line, 128);
    buf_put(&line, AS_STR(sp->cmd)->s, AS_STR(sp->cmd)->len);
    for (V l = sp->args; IS_CONS(l); l = CDR(l)) {
      buf_putc(&line, ' ');
      buf_put(&line, AS_STR(CAR(l))->s, AS_STR(CAR(l))->len);
    }
    argv[ai++] = "/bin/sh";
    argv[ai++] = "-c";
    argv[ai++] = AS_STR(buf_to_str(&line))->s;
  } else {
    argv[ai++] = AS_STR(sp->cmd)->s;
    for (V l = sp->args; IS_CONS(l); l = CDR(l)) argv[ai++] = AS_STR(CAR(l))->s;
  }
  argv[ai] = NULL;

  bool has_in = sp->stdin_str && sp->stdin_str != NIL;
  char **envp = (sp->env && sp->env != NIL) || sp->env_clear || sp->ctx_env ? build_env(sp) : environ;
  int cgroup_fd = sp->scope ? valk_scope_prepare(sp->scope, &envp) : -1;
  const char *cwd = sp->cwd && sp->cwd != NIL ? AS_STR(sp->cwd)->s : NULL;
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  int rc = make_pipe(out);
  if (!rc) rc = make_pipe(err);
  if (!rc && has_in) rc = make_pipe(in);
  const char *file = rc ? NULL : find_command(argv[0], envp, &rc);
  uint64_t t0 = uv_hrtime();
  pid_t pid = -1;
  if (file) rc = spawn_child(file, argv, envp, cwd, in[0], out[1], err[1], cgroup_fd, &pid);
  int pidfd = -1;
  if (!rc && (pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0) {
    rc = errno;
    kill(-pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
  }
  close_fd(&in[0]);
  close_fd(&out[1]);
  close_fd(&err[1]);
  if (rc) {
    close_fd(&in[1]);
    close_fd(&out[0]);
    close_fd(&err[0]);
    valk_throw(spawn_error(sp, rc));
  }

  uv_loop_t *loop = valk_loop();
  Proc *p = valk_root_alloc(sizeof *p);
  p->state = P_RUNNING;
  p->cap = sp->cap;
  p->lines = EMPTY;
  p->pending = EMPTY;
  p->name = sp->cmd;
  p->args = sp->args;
  p->grace_ms = (uint64_t)(sp->grace * 1000);
  p->log = sp->log;
  p->t0 = t0;
  p->pid = pid;
  p->pidfd = pidfd;
  buf_init(&p->s[0].buf, 256);
  buf_init(&p->s[1].buf, 256);
  buf_init(&p->s[0].partial, 256);
  buf_init(&p->s[1].partial, 256);
  /* Each handle counts in open (and is listed in hs, to be closed on
     failure) once initialised; pipe fds not yet owned by a handle are
     closed here on failure. libuv calls no callback after a failed
     start, so nothing waits on a failed one. */
  int ufds[3] = {out[0], err[0], in[1]};
  uv_handle_t *hs[7];
  int inited = 0;
  int urc = uv_timer_init(loop, &p->timeout);
  if (!urc) hs[inited++] = (uv_handle_t *)&p->timeout;
  if (!urc && !(urc = uv_timer_init(loop, &p->grace))) {
    hs[inited++] = (uv_handle_t *)&p->grace;
    /* a pending grace alone does not keep valk running: at exit the
       group is killed at once (kill_live_at_exit) */
    uv_unref((uv_handle_t *)&p->grace);
  }
  if (!urc && !(urc = uv_timer_init(loop, &p->drain))) hs[inited++] = (uv_handle_t *)&p->drain;
  if (!urc && !(urc = uv_poll_init(loop, &p->exitpoll, pidfd))) hs[inited++] = (uv_handle_t *)&p->exitpoll;
  uv_pipe_t *pipes[3] = {&p->pipes[0], &p->pipes[1], has_in ? &p->in : NULL};
  for (int i = 0; i < 3 && pipes[i] && !urc; i++) {
    if ((urc = uv_pipe_init(loop, pipes[i], 0))) break;
    hs[inited++] = (uv_handle_t *)pipes[i];
    if (!(urc = uv_pipe_open(pipes[i], ufds[i]))) ufds[i] = -1;
  }
  for (int i = 0; i < inited; i++) hs[i]->data = p;
  p->open = inited;
  if (!urc) urc = uv_poll_start(&p->exitpoll, UV_READABLE, on_process_exit);
  if (!urc) urc = uv_read_start((uv_stream_t *)&p->pipes[0], on_alloc, on_read);
  if (!urc) urc = uv_read_start((uv_stream_t *)&p->pipes[1], on_alloc, on_read);
  if (!urc && sp->timeout > 0)
    urc = uv_timer_start(&p->timeout, timeout_expired, (uint64_t)(sp->timeout * 1000), 0);
  if (urc) {
    kill(-pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    for (int i = 0; i < 3; i++) close_fd(&ufds[i]);
    p->state = P_CLOSED;
    if (inited <= 3) { /* the exit poll would close the pidfd */
      close(pidfd);
      p->pidfd = -1;
    }
    for (int i = 0; i < inited; i++) close_handle(hs[i]);
    if (!inited) valk_root_free(p);
    valk_raise("exec %s: %s", AS_STR(sp->cmd)->s, uv_strerror(urc));
  }
  p->open++; /* the waiter's claim */
  live_add(p);
  if (has_in) {
    p->stdin_str = sp->stdin_str;
    uv_buf_t b = uv_buf_init(AS_STR(sp->stdin_str)->s, (unsigned)AS_STR(sp->stdin_str)->len);
    p->wreq.data = p;
    /* a failed write leaves stdin closed: the command sees end of input */
    if (uv_write(&p->wreq, (uv_stream_t *)&p->in, &b, 1, on_stdin_written) != 0)
      close_handle((uv_handle_t *)&p->in);
  }
  return p;
}

static V stream_text(Stream *st) {
  Buf b = st->buf;
  if (st->dropped) buf_printf(&b, "\n[output truncated: %zu bytes dropped]\n", st->dropped);
  return buf_to_str(&b);
}

static V proc_result(Proc *p) {
  V m = valk_map_new(16);
  valk_map_set(m, valk_kw("kind"), valk_kw("process"));
  valk_map_set(m, valk_kw("cmd"), p->name);
  valk_map_set(m, valk_kw("args"), p->args);
  valk_map_set(m, valk_kw("pid"), valk_int(p->pid));
  bool signalled = p->term_signal != 0;
  valk_map_set(m, valk_kw("exit-code"), valk_int(signalled ? 128 + p->term_signal : p->exit_status));
  valk_map_set(m, valk_kw("signal"), signalled ? valk_cstr(strsignal(p->term_signal)) : NIL);
  valk_map_set(m, valk_kw("timed-out"), BOOL(p->timed_out));
  valk_map_set(m, valk_kw("stdout"), stream_text(&p->s[S_OUT]));
  valk_map_set(m, valk_kw("stderr"), stream_text(&p->s[S_ERR]));
  valk_map_set(m, valk_kw("lines"), valk_list_reverse(p->lines));
  if (p->dropped_lines) valk_map_set(m, valk_kw("dropped-lines"), valk_int((int64_t)p->dropped_lines));
  valk_map_set(m, valk_kw("duration"), valk_float((double)((p->t1 ? p->t1 : uv_hrtime()) - p->t0) / 1e9));
  return m;
}

static void proc_cancel(valk_task *t, void *data) {
  (void)t;
  Proc *p = data;
  p->waiter = NULL;
  p->cancelled = true;
  p->stop_grace_ms = CANCEL_GRACE_MS;
  proc_on(p, EV_STOP);
}

/* Drops the waiting task's claim on p (see "open" in the header). */
static void proc_release(valk_task *t, Proc *p) {
  V keep = EMPTY;
  for (V l = t->children; IS_CONS(l); l = CDR(l))
    if (((Native *)CAR(l))->ptr != p) keep = valk_cons(CAR(l), keep);
  t->children = keep;
  p->waiter = NULL;
  p->open--;
  maybe_free(p);
}

typedef struct {
  Proc *p;
  V on_line;
  valk_task *t;
} WaitJob;

static void wait_loop(void *ud) {
  WaitJob *j = ud;
  Proc *p = j->p;
  for (;;) {
    if (j->on_line) {
      V lines = valk_list_reverse(p->pending);
      p->pending = EMPTY;
      for (V l = lines; IS_CONS(l); l = CDR(l)) {
        V text = CAR(CDR(CDR(CAR(l))));
        valk_apply(j->on_line, &text, 1);
      }
      if (p->pending != EMPTY) continue;
    } else {
      p->pending = EMPTY;
    }
    if (p->state >= P_DONE) return;
    p->waiter = j->t;
    valk_task_park(proc_cancel, p);
    p->waiter = NULL;
  }
}

/* Waits for p; with on_line, calls it for every line as it arrives. If
   the wait is cancelled or on_line raises, the process tree is killed. */
static V proc_wait(Proc *p, V on_line) {
  valk_task *t = valk_task_current();
  t->children = valk_cons(valk_native(&proc_type, p, NIL), t->children);
  WaitJob j = {p, on_line, t};
  V err = valk_pcall(wait_loop, &j);
  if (err) {
    if (!p->cancelled) {
      p->stop_grace_ms = CANCEL_GRACE_MS;
      proc_on(p, EV_STOP);
    }
    proc_release(t, p);
    valk_throw(err);
  }
  V r = proc_result(p);
  proc_release(t, p);
  return r;
}

/* ---- the command line, and how a command ended ---- */

/* s as one shell word: unchanged when it is made of characters no shell
   treats specially, else in single quotes (a ' inside becomes '\''). */
static void put_shell_word(Buf *b, Str *s) {
  bool plain = s->len > 0;
  for (size_t i = 0; i < s->len && plain; i++) {
    unsigned char c = (unsigned char)s->s[i];
    plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("@%+=:,./-_", c);
  }
  if (plain) {
    buf_put(b, s->s, s->len);
    return;
  }
  buf_putc(b, '\'');
  for (size_t i = 0; i < s->len; i++) {
    if (s->s[i] == '\'') buf_puts(b, "'\\''");
    else buf_putc(b, s->s[i]);
  }
  buf_putc(b, '\'');
}

/* The command as a shell line: its words quoted where needed, or with
   :shell the line the shell runs. */
static V command_line(Spec *sp) {
  Buf b;
  buf_init(&b, 64);
  if (sp->shell) buf_put(&b, AS_STR(sp->cmd)->s, AS_STR(sp->cmd)->len);
  else put_shell_word(&b, AS_STR(sp->cmd));
  for (V l = sp->args; IS_CONS(l); l = CDR(l)) {
    buf_putc(&b, ' ');
    if (sp->shell) buf_put(&b, AS_STR(CAR(l))->s, AS_STR(CAR(l))->len);
    else put_shell_word(&b, AS_STR(CAR(l)));
  }
  return buf_to_str(&b);
}

static bool failed(V r);

/* "make -j4 exited with 2", "... exited with 143 (timed out)", "... was
   killed by signal Killed (exit 137)"; read without inspecting r. */
static V describe(V r) {
  V cmd = valk_map_peek(r, valk_kw("command"), NIL);
  if (!IS(cmd, T_STR)) cmd = valk_map_peek(r, valk_kw("cmd"), valk_cstr("?"));
  V code = valk_map_peek(r, valk_kw("exit-code"), MK_FIX(0));
  V sig = valk_map_peek(r, valk_kw("signal"), NIL);
  const char *c = AS_STR(valk_display(cmd))->s;
  int64_t ec = vtype(code) == T_INT ? valk_int_get(code) : 0;
  if (valk_map_peek(r, valk_kw("timed-out"), VFALSE) == VTRUE)
    return valk_strf("%s exited with %lld (timed out)", c, (long long)ec);
  if (IS(sig, T_STR)) return valk_strf("%s was killed by signal %s (exit %lld)", c, AS_STR(sig)->s, (long long)ec);
  return valk_strf("%s exited with %lld", c, (long long)ec);
}

/* Runs the command in the calling fiber and waits for it. Before it
   starts, a failure of this fiber nobody inspected is raised (see
   unchecked.c) and the command line is echoed to the log bound to :out
   as "$ cmd args"; a failed result is recorded for the unchecked rule. */
static V run(V *a, int n, const char *who, V on_line) {
  if (!valk_task_current()) valk_raise("%s: not inside a task", who);
  V form = valk_S->form;
  valk_unchecked_check();
  Spec sp;
  parse_spec(a, n, &sp, who);
  V line = command_line(&sp);
  if (sp.log) {
    V echo = valk_strf("$ %s", AS_STR(line)->s);
    valk_log_line(sp.log, "cmd", AS_STR(echo)->s, AS_STR(echo)->len);
  }
  Proc *p = proc_start(&sp);
  V r = proc_wait(p, on_line);
  valk_map_set(r, valk_kw("command"), line);
  if (failed(r) && valk_unchecked_bound())
    valk_unchecked_note(r, form, valk_strf("%s (its result was never checked)", AS_STR(describe(r))->s));
  return r;
}

static V bi_exec(V *a, int n) { return run(a, n, "exec", NULL); }

/* (exec-stream cmd args... [options] f) */
static V bi_exec_stream(V *a, int n) {
  V f = a[n - 1];
  if (!valk_is_callable(f)) valk_raise("exec-stream: the last argument must be a function called with each line");
  return run(a, n - 1, "exec-stream", f);
}

/* args is (form cmd args...): the spawn call's form, where a failure of
   the command is located */
static V spawn_body(V args) {
  valk_S->form = CAR(args);
  args = CDR(args);
  int k = (int)valk_list_len(args);
  V items[k ? k : 1];
  int i = 0;
  for (V l = args; IS_CONS(l); l = CDR(l)) items[i++] = CAR(l);
  return run(items, k, "spawn", NULL);
}

/* (spawn cmd args... [options]) starts the command and returns a future */
static V bi_spawn(V *a, int n) {
  valk_unchecked_check(); /* the calling fiber starts a process */
  Spec sp;
  parse_spec(a, n, &sp, "spawn"); /* report bad arguments now, not in the future */
  return valk_task_spawn_c(spawn_body, valk_cons(valk_S->form ? valk_S->form : NIL, valk_list_from(a, n)));
}

static V process_result_arg(V v, const char *who) {
  if (valk_is_future(v)) v = valk_future_await(v);
  if (!IS(v, T_MAP) || valk_map_get(v, valk_kw("kind"), NIL) != valk_kw("process"))
    valk_raise("%s: expected a process result, got %s", who, valk_type_name(v));
  return v;
}

#define FIELD_FN(fname, who, key) \
  static V fname(V *a, int n) { (void)n; return valk_map_get(process_result_arg(a[0], who), valk_kw(key), NIL); }
FIELD_FN(bi_stdout, "stdout", "stdout")
FIELD_FN(bi_stderr, "stderr", "stderr")
FIELD_FN(bi_exit_code, "exit-code", "exit-code")

static bool failed(V r) {
  return valk_int_get(valk_map_get(r, valk_kw("exit-code"), MK_FIX(1))) != 0 ||
         valk_map_get(r, valk_kw("timed-out"), VFALSE) == VTRUE;
}

static V bi_failed(V *a, int n) {
  (void)n;
  return BOOL(failed(process_result_arg(a[0], "failed?")));
}
static V bi_ok(V *a, int n) {
  (void)n;
  return BOOL(!failed(process_result_arg(a[0], "ok?")));
}
static V bi_timed_out(V *a, int n) {
  (void)n;
  return valk_map_get(process_result_arg(a[0], "timed-out?"), valk_kw("timed-out"), VFALSE);
}
/* process? only peeks: asking whether a value is a process result does
   not inspect how the process ended */
static V bi_process_p(V *a, int n) {
  (void)n;
  return BOOL(IS(a[0], T_MAP) && valk_map_peek(a[0], valk_kw("kind"), NIL) == valk_kw("process"));
}

static V bi_describe(V *a, int n) {
  (void)n;
  return describe(process_result_arg(a[0], "process-describe"));
}

/* (process-kill f [signal]) signals the processes of the fiber behind
   future f (from spawn); signal is a name like "TERM" or a number */
static V bi_process_kill(V *a, int n) {
  valk_future *f = valk_future_get(a[0], "process-kill");
  int sig = SIGTERM;
  if (n > 1) {
    if (vtype(a[1]) == T_INT) sig = (int)valk_int_get(a[1]);
    else {
      const char *s = valk_key_name(a[1], "process-kill", "the signal");
      if (!strncmp(s, "SIG", 3)) s += 3;
      static const struct { const char *n; int s; } sigs[] = {
          {"TERM", SIGTERM}, {"KILL", SIGKILL}, {"INT", SIGINT}, {"HUP", SIGHUP}, {"QUIT", SIGQUIT}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {NULL, 0}};
      sig = 0;
      for (int i = 0; sigs[i].n; i++)
        if (!strcasecmp(sigs[i].n, s)) sig = sigs[i].s;
      if (!sig) valk_raise("process-kill: unknown signal %s", s);
    }
  }
  if (!f->task) return VFALSE;
  bool any = false;
  for (V l = f->task->children; IS_CONS(l); l = CDR(l)) {
    Proc *p = ((Native *)CAR(l))->ptr;
    if (p->state < P_DRAINING) { kill_group(p, sig); any = true; }
  }
  return BOOL(any);
}

static const valk_reg proc_fns[] = {
    {"exec", bi_exec, 1, -1, "(exec cmd args... :cwd :env :env-clear :timeout :stdin :shell) runs a command, returns its result"},
    {"spawn", bi_spawn, 1, -1, "(spawn cmd args... options...) starts a command; returns a future of its result"},
    {"exec-stream", bi_exec_stream, 2, -1, "(exec-stream cmd args... options... f) runs a command calling f with each output line"},
    {"process-stdout", bi_stdout, 1, 1, "(process-stdout r) captured standard output"},
    {"process-stderr", bi_stderr, 1, 1, "(process-stderr r) captured standard error"},
    {"process-exit-code", bi_exit_code, 1, 1, "(process-exit-code r) exit status (128+signal when killed)"},
    {"process-kill", bi_process_kill, 1, 2, "(process-kill f [signal]) signals the processes behind a spawn future"},
    {"stdout", bi_stdout, 1, 1, "(stdout r) captured standard output"},
    {"stderr", bi_stderr, 1, 1, "(stderr r) captured standard error"},
    {"exit-code", bi_exit_code, 1, 1, "(exit-code r) exit status"},
    {"failed?", bi_failed, 1, 1, "(failed? r) true when the process exited non-zero, was killed or timed out"},
    {"ok?", bi_ok, 1, 1, "(ok? r) true when the process exited 0"},
    {"timed-out?", bi_timed_out, 1, 1, "(timed-out? r) true when the process hit its :timeout"},
    {"process?", bi_process_p, 1, 1, "(process? x) true for a process result"},
    {"process-describe", bi_describe, 1, 1, "(process-describe r) the full command and how it ended: \"make -j4 exited with 2\""},
    {NULL, NULL, 0, 0, NULL}};

void valk_process_register(void) {
  /* many concurrent children need many descriptors */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  signal(SIGPIPE, SIG_IGN);
  atexit(kill_live_at_exit);
  valk_register(proc_fns);
  valk_unchecked_register();
}
