/*
 * terminate.c - SIGINT, SIGTERM and SIGHUP for a program that is not the
 * REPL (a script, `valk ci run`, `valk test`).
 *
 * Why: the commands valk starts run in sessions of their own (process.c),
 * so a Ctrl-C at the terminal reaches valk alone, and the default action
 * of these signals ends valk without its exit handlers, the ones that kill
 * every live process group and process scope: the build tool and its
 * compilers would run on under init. Instead, the first signal cancels the
 * main task with an :interrupted error ("interrupted by SIGINT"), which a
 * program may catch to wind down (`valk ci run` cancels its run, so it is
 * recorded cancelled and its processes end with it); uncaught, it ends
 * valk through exit(), which runs the handlers. A second signal ends valk
 * at once, through exit() all the same.
 *
 * The signal handles are unreferenced: they never keep the loop alive.
 */
#include "rt.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int trapped[] = {SIGINT, SIGTERM, SIGHUP};
#define NTRAPPED (sizeof trapped / sizeof trapped[0])

static uv_signal_t handles[NTRAPPED];
static valk_task *main_task;
static int received; /* the first signal received, 0 before any */

static void on_signal(uv_signal_t *h, int sig) {
  (void)h;
  if (received) {
    fflush(stdout);
    exit(128 + received);
  }
  received = sig;
  if (main_task && !main_task->finished)
    valk_task_cancel(main_task, valk_make_error("interrupted", "interrupted by SIG%s", sigabbrev_np(sig)));
  else
    exit(128 + sig);
}

void valk_terminate_trap(valk_task *t) {
  main_task = t;
  for (size_t i = 0; i < NTRAPPED; i++) {
    int rc = uv_signal_init(valk_loop(), &handles[i]);
    if (!rc) rc = uv_signal_start(&handles[i], on_signal, trapped[i]);
    if (rc) valk_raise("cannot watch signal %d: %s", trapped[i], uv_strerror(rc));
    uv_unref((uv_handle_t *)&handles[i]);
  }
}

int valk_terminate_signal(void) { return received; }

static V bi_signal_received(V *a, int n) {
  (void)a;
  (void)n;
  return received ? valk_int(received) : NIL;
}

static const valk_reg terminate_fns[] = {
    {"signal/received", bi_signal_received, 0, 0,
     "(signal/received) the number of the first SIGINT, SIGTERM or SIGHUP this valk received (2, 15, 1), or nil; the first cancels the main fiber with an :interrupted error"},
    {NULL, NULL, 0, 0, NULL}};

void valk_terminate_register(void) { valk_register(terminate_fns); }
