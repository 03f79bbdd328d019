/*
 * spawn.c - starting a command's process: a vfork-style clone that can put
 * the child in a cgroup before it runs anything.
 *
 * Why not posix_spawn: a command run under a process scope (procscope.c)
 * must be in the scope's cgroup before it can fork, or a child it forks
 * at once could escape; glibc 2.36's posix_spawn has no way to do that.
 * So the child starts as glibc's posix_spawn starts it, with
 * clone(CLONE_VM|CLONE_VFORK) on a stack of its own (no copy of the page
 * tables of valk's heap and fiber stacks, which made a fork 3-5x slower
 * in a busy valk), and the child writes "0" to the scope's cgroup.procs
 * before anything else, then makes a new session, sets up its
 * descriptors, directory and signals and execs. The parent is suspended
 * (CLONE_VFORK) until the exec or the child's failure, which the child
 * reports through the memory it shares with the parent.
 *
 * The child shares valk's memory and thread-local storage, so it only
 * calls thin system call wrappers, and it runs with every signal blocked
 * until their dispositions are back at their defaults: no handler of
 * valk's ever runs in it. Spawning happens on the loop thread only (the
 * one child stack is reused), as every process function runs in a fiber.
 */
#include "rt.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILD_STACK (256u << 10)

typedef struct {
  const valk_spawn_req *r;
  sigset_t none;
  long maxfd;       /* for closing descriptors where close_range is missing */
  volatile int err; /* set by the child when it fails */
  volatile bool joining; /* the failure was the cgroup join */
} Child;

/* Child side: never returns. Not instrumented by the sanitizers, whose
   runtime state is the parent's. */
__attribute__((no_sanitize("address", "undefined"))) static int child_main(void *arg) {
  Child *c = arg;
  const valk_spawn_req *r = c->r;
  if (r->cgroup_fd >= 0) {
    c->joining = true;
    if (write(r->cgroup_fd, "0", 1) != 1) goto fail;
    c->joining = false;
  }
  if (setsid() < 0) goto fail;
  if (r->in_fd >= 0) {
    if (dup2(r->in_fd, 0) < 0) goto fail;
  } else {
    int fd = open("/dev/null", O_RDONLY);
    if (fd < 0) goto fail;
    if (fd != 0 && (dup2(fd, 0) < 0 || close(fd) < 0)) goto fail;
  }
  if (dup2(r->out_fd, 1) < 0 || dup2(r->err_fd, 2) < 0) goto fail;
  if (r->cwd && chdir(r->cwd) < 0) goto fail;
  if (syscall(SYS_close_range, 3u, ~0u, 0u) < 0)
    for (long fd = 3; fd < c->maxfd; fd++) close((int)fd);
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, NULL); /* glibc's own two refuse: exec resets them */
  if (sigprocmask(SIG_SETMASK, &c->none, NULL) < 0) goto fail;
  execve(r->file, r->argv, r->envp);
fail:
  c->err = errno ? errno : EINVAL;
  _exit(127);
}

static char *child_stack;

int valk_spawn(const valk_spawn_req *r, pid_t *pid) {
  if (!child_stack) {
    void *m = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (m == MAP_FAILED) return errno;
    child_stack = m;
  }
  Child c;
  memset(&c, 0, sizeof c);
  c.r = r;
  sigemptyset(&c.none);
  c.maxfd = sysconf(_SC_OPEN_MAX);
  if (c.maxfd < 0 || c.maxfd > 65536) c.maxfd = 65536;
  sigset_t all, old;
  sigfillset(&all);
  int rc = pthread_sigmask(SIG_BLOCK, &all, &old);
  if (rc) return rc;
  /* the stack grows down on every architecture valk builds on */
  int p = clone(child_main, child_stack + CHILD_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &c);
  int clone_err = errno;
  if ((rc = pthread_sigmask(SIG_SETMASK, &old, NULL)) != 0) abort(); /* a valid mask cannot fail */
  if (p < 0) return clone_err;
  if (c.err) { /* the child has exited: reap it */
    while (waitpid(p, NULL, 0) < 0 && errno == EINTR) {}
    return c.joining ? VALK_SPAWN_JOIN_FAILED | c.err : c.err;
  }
  *pid = p;
  return 0;
}
