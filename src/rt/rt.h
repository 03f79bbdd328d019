/*
 * rt.h - the runtime: one libuv loop, tasks (fibers running Valkyria code)
 * and futures.
 *
 * Every piece of Valkyria code runs in a task. A task that waits parks
 * with valk_task_park() after arranging for a libuv callback to call
 * valk_task_wake() later; the loop then runs other tasks. A wait may be
 * aborted (cancel, timeout, Ctrl-C): valk_task_cancel() calls the wait's
 * cancel hook, which stops the pending operation, and the parked task
 * wakes up raising the cancellation error.
 *
 * Ownership: libuv handles and the structs that embed them are allocated
 * with valk_root_alloc() (scanned, never collected) because libuv keeps
 * pointers to them in memory the collector cannot see; they are released
 * with valk_root_free() from their close callback, never before.
 */
#ifndef VALK_RT_H
#define VALK_RT_H

#include "valk.h"

#include <uv.h>

typedef struct valk_task valk_task;
typedef void (*valk_cancel_fn)(valk_task *t, void *data);

enum { FUT_PENDING, FUT_DONE, FUT_FAILED, FUT_CANCELLED };

typedef struct {
  int state;        /* FUT_* */
  V value;          /* result, or the error when failed/cancelled */
  valk_task **waiters;
  uint64_t *waiter_seq;
  int nwaiters, capwaiters;
  valk_task *task;  /* the task computing it, NULL once finished */
} valk_future;

struct valk_task {
  struct valk_fiber *fiber;
  V thunk;              /* function the task runs */
  V (*cfn)(V data);     /* or a C function of cdata */
  V cdata;
  V future;             /* native "future" */
  bool parked, ready, finished;
  uint64_t wait_seq;    /* bumped on every park; stale wakes are ignored */
  valk_cancel_fn cancel_hook;
  void *cancel_data;
  V wake_error;         /* raised by valk_task_park when set */
  V pending_cancel;     /* cancellation that arrived while not parked */
  V children;           /* processes owned by this task (killed on cancel) */
  V group;              /* the :fibers map it was started under, or NULL */
};

uv_loop_t *valk_loop(void);
void valk_rt_init(void);
/* Runs fn(data) as the main task (with a large stack), then the loop
   until nothing is left to do. Returns the main task's future. */
V valk_rt_run_main(V (*fn)(V data), V data);

void *valk_root_alloc(size_t n);
void valk_root_free(void *p);

valk_task *valk_task_current(void);   /* NULL outside any task */
V valk_task_spawn(V thunk);           /* new task, returns its future */
V valk_task_spawn_c(V (*fn)(V data), V data); /* same, running fn(data) */
/* Parks the current task until valk_task_wake(); on an abort the hook is
   called first and the abort error is raised here. */
void valk_task_park(valk_cancel_fn hook, void *data);
void valk_task_wake(valk_task *t);
void valk_task_cancel(valk_task *t, V err);
/* terminate.c: SIGINT, SIGTERM and SIGHUP cancel task t (the main task)
   with an :interrupted error, a second one exits; exit handlers run
   either way. valk_terminate_signal(): the first signal received, or 0. */
void valk_terminate_trap(valk_task *t);
int valk_terminate_signal(void);
void valk_terminate_register(void);
uint64_t valk_task_seq(valk_task *t);
/* Parks the current task for ms milliseconds; raises outside a task. */
void valk_task_sleep(uint64_t ms);

V valk_future_await(V fut);
V valk_promise_new(void);           /* a pending future no fiber computes */
bool valk_promise_deliver(V p, V v, const char *who); /* settles p with v; false when it had settled */
valk_future *valk_future_get(V v, const char *who);
bool valk_is_future(V v);

/* The file a path argument names for file and process functions (file
   paths, :cwd, an absolute command path), from
   the current fiber's dynamic bindings (dyn.c): a path starting with a
   prefix of (dyn :path-aliases) (a map such as {"/workspace" dir}, the
   prefix followed by '/' or the end) has the prefix replaced by its
   directory; a relative path is joined to (dyn :cwd). Without those
   bindings p is returned unchanged. */
const char *valk_dyn_path(const char *p);

/* log sinks and redaction (logsink.c) */
bool valk_is_log(V v);
void valk_log_line(V sink, const char *stream, const char *text, size_t n);
/* text with every string of secrets (a list, or a map's keys) replaced
   by ***, longer ones first */
V valk_redact(V text, V secrets);

/* Blocking work in the thread pool (work.c): runs work(data) on a worker
   thread while the calling fiber parks. See work.c for the rules. */
typedef void (*valk_work_fn)(void *data);
typedef void (*valk_work_cleanup_fn)(void *data);
void valk_run_blocking(valk_work_fn work, valk_work_cleanup_fn cleanup, void *data);

/* failed process results nobody inspected (unchecked.c); all do nothing
   unless a (failure-collector) is bound to :unchecked */
bool valk_unchecked_bound(void);
/* marks result (a failed process result) and records it for the calling
   fiber, with an error of message msg located at form */
void valk_unchecked_note(V result, V form, V msg);
/* the calling fiber takes over result's failure (await) */
void valk_unchecked_adopt(V result);
/* raises the calling fiber's oldest failure still not inspected */
void valk_unchecked_check(void);

/* errors with a kind keyword */
V valk_make_error(const char *kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Starting a command's process (spawn.c): in a new session, stdin from
   in_fd (or /dev/null when -1), stdout and stderr to out_fd and err_fd
   (all above 2), in cwd (NULL: valk's), with signals at their defaults
   and unblocked and no other descriptor inherited; when cgroup_fd is not
   -1 the child first joins the cgroup whose cgroup.procs it is. Returns 0
   with *pid set, or an errno (ENOEXEC for a file that is not a program),
   with VALK_SPAWN_JOIN_FAILED set when joining the cgroup failed; nothing
   is left running on failure. Loop thread only. */
typedef struct {
  const char *file;
  char **argv, **envp;
  const char *cwd;
  int in_fd, out_fd, err_fd, cgroup_fd;
} valk_spawn_req;
#define VALK_SPAWN_JOIN_FAILED 0x10000
int valk_spawn(const valk_spawn_req *r, pid_t *pid);

/* Process scopes (procscope.c): every process started while a scope is
   bound to :process-scope, and all its descendants. */
typedef struct valk_scope valk_scope;
/* The scope bound to :process-scope in the calling fiber, or NULL when
   none is; raises naming who when the binding is not an open scope. */
valk_scope *valk_scope_bound(const char *who);
/* Prepares a child's start under s: returns the cgroup.procs descriptor
   the child joins (-1 when s tracks by environment) and sets *envp to the
   environment with s's token (unchanged for a cgroup; the new array is
   collected memory). */
int valk_scope_prepare(valk_scope *s, char ***envp);
/* true while pid is a command process.c started and has not reaped yet
   (process.c): the other children of valk are adopted orphans */
bool valk_process_owns(int pid);

void valk_rt_register(void);      /* task.c */
void valk_process_register(void); /* process.c */
void valk_log_register(void);     /* logsink.c */
void valk_unchecked_register(void); /* unchecked.c, by valk_process_register */
void valk_procscope_register(void); /* procscope.c */


#endif
