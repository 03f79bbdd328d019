/*
 * fiber.h - coroutines with their own C stacks, visible to the collector.
 *
 * Fibers are asymmetric: the scheduler (the libuv loop on the process's
 * main stack) resumes a fiber with valk_fiber_resume(), and the fiber runs
 * until it calls valk_fiber_yield() or its function returns. Fibers never
 * switch to each other directly.
 *
 * A fiber struct is allocated uncollectable (so the values it holds are
 * roots) and must be released with valk_fiber_free() once it is done and
 * nothing refers to it any more.
 */
#ifndef VALK_FIBER_H
#define VALK_FIBER_H

#include "valk.h"

typedef struct valk_fiber valk_fiber;
typedef void (*valk_fiber_fn)(void *arg);

enum { FIBER_NEW, FIBER_RUNNING, FIBER_PARKED, FIBER_DONE };

struct valk_fiber {
  void *sp;            /* saved stack pointer while not running */
  char *map;           /* mmap()ed region: guard page, then the stack */
  size_t map_size;
  char *top;           /* highest address of the stack */
  int status;          /* FIBER_* */
  valk_state st;       /* interpreter state while this fiber runs */
  valk_fiber_fn fn;
  void *arg;
  valk_fiber *prev, *next; /* list of live fibers, for the GC hook */
  void *user;          /* owner's data (the scheduler's task) */
  void *asan_fake;     /* AddressSanitizer's fake stack while parked */
};

void valk_fiber_init(void);
valk_fiber *valk_fiber_new(valk_fiber_fn fn, void *arg, size_t stack_size);
void valk_fiber_resume(valk_fiber *f); /* from the scheduler only */
void valk_fiber_yield(void);           /* from inside a fiber only */
valk_fiber *valk_fiber_current(void);  /* NULL on the scheduler */
void valk_fiber_free(valk_fiber *f);   /* f must be done or never started */
size_t valk_fiber_default_stack(void);
size_t valk_fiber_count(void);

#endif
