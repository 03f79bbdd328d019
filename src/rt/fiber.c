/*
 * fiber.c - C-stack fibers for Valkyria, with Boehm GC integration.
 *
 * The recipe (measured in shared/notes/fibers-gc-llhttp.md):
 *  - Stacks are mmap()ed with MAP_NORESERVE and a guard page below them,
 *    pooled, and madvise(MADV_DONTNEED)ed when they return to the pool.
 *  - The switch is a few instructions of assembly that push the
 *    callee-saved registers (and the SSE/x87 control words) onto the
 *    stack before saving the stack pointer, so a value held only in a
 *    register is on the stack the collector scans.
 *  - On every switch the collector is told the new stack's bottom
 *    (GC_set_stackbottom), and a push-other-roots hook pushes every parked
 *    stack: each parked fiber from its saved stack pointer to its top, and
 *    the scheduler's main stack while a fiber runs. The hook first calls
 *    the previous hook, which scans the running stack.
 */
#define GC_THREADS
#include "fiber.h"

#include <gc/gc.h>
#include <gc/gc_mark.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* valk_ctx_switch(void **save_sp, void *new_sp): saves the current
   context on its stack, stores the stack pointer in *save_sp, and resumes
   the context whose stack pointer is new_sp. */
void valk_ctx_switch(void **save_sp, void *new_sp);
void valk_fiber_trampoline(void);
__asm__(
    ".text\n"
    ".globl valk_ctx_switch\n"
    ".type valk_ctx_switch,@function\n"
    "valk_ctx_switch:\n"
    "  pushq %rbp\n"
    "  pushq %rbx\n"
    "  pushq %r12\n"
    "  pushq %r13\n"
    "  pushq %r14\n"
    "  pushq %r15\n"
    "  subq $8, %rsp\n"
    "  stmxcsr (%rsp)\n"
    "  fnstcw 4(%rsp)\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rsp\n"
    "  ldmxcsr (%rsp)\n"
    "  fldcw 4(%rsp)\n"
    "  addq $8, %rsp\n"
    "  popq %r15\n"
    "  popq %r14\n"
    "  popq %r13\n"
    "  popq %r12\n"
    "  popq %rbx\n"
    "  popq %rbp\n"
    "  ret\n"
    ".size valk_ctx_switch,.-valk_ctx_switch\n"
    ".globl valk_fiber_trampoline\n"
    ".type valk_fiber_trampoline,@function\n"
    "valk_fiber_trampoline:\n"
    "  movq %r12, %rdi\n"
    "  call valk_fiber_main\n"
    "  ud2\n"
    ".size valk_fiber_trampoline,.-valk_fiber_trampoline\n"
    ".section .note.GNU-stack,\"\",@progbits\n"
    ".text\n");

void valk_fiber_main(valk_fiber *f);

/* AddressSanitizer must be told about every stack switch, or it takes a
   fiber's stack for the thread's and corrupts its bookkeeping when an
   error longjmps. */
#if defined(__SANITIZE_ADDRESS__)
#define VALK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VALK_ASAN 1
#endif
#endif
#ifdef VALK_ASAN
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom, size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old, size_t *size_old);
static const void *asan_main_bottom;
static size_t asan_main_size;
static void *asan_main_fake;
#define ASAN_TO_FIBER(f) __sanitizer_start_switch_fiber(&asan_main_fake, (f)->map + page_size, (f)->map_size)
#define ASAN_BACK_ON_MAIN() __sanitizer_finish_switch_fiber(asan_main_fake, NULL, NULL)
#define ASAN_ON_FIBER(fake) __sanitizer_finish_switch_fiber((fake), &asan_main_bottom, &asan_main_size)
#define ASAN_TO_MAIN(fakep) __sanitizer_start_switch_fiber((fakep), asan_main_bottom, asan_main_size)
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
/* a pooled stack still carries the poison of the fiber that used it */
#define ASAN_UNPOISON(p, n) __asan_unpoison_memory_region((p), (n))
#else
#define ASAN_UNPOISON(p, n) ((void)0)
#define ASAN_TO_FIBER(f) ((void)0)
#define ASAN_BACK_ON_MAIN() ((void)0)
#define ASAN_ON_FIBER(fake) ((void)0)
#define ASAN_TO_MAIN(fakep) ((void)0)
#endif

static valk_fiber *current;     /* running fiber, NULL on the scheduler */
static void *main_sp;           /* scheduler's saved stack pointer */
static char *main_bottom;       /* scheduler's stack bottom (highest address) */
static valk_state *main_state;  /* interpreter state of the scheduler */
static void *gc_thread;         /* the collector's handle for this thread */
static valk_fiber *live;        /* every started, unfinished fiber */
static size_t live_count;
static GC_push_other_roots_proc prev_push_hook;
static size_t page_size;
static size_t default_stack = 1u << 20;

/* pool of unused stacks of the default size */
#define POOL_MAX 64
#define HOT_STACK (64u << 10)
static char *pool[POOL_MAX];
static size_t pool_n;

static void push_parked_stacks(void) {
  if (prev_push_hook) prev_push_hook();
  if (current && main_sp) GC_push_all_eager(main_sp, main_bottom);
  for (valk_fiber *f = live; f; f = f->next)
    if (f != current && f->status == FIBER_PARKED) GC_push_all_eager(f->sp, f->top);
}

size_t valk_fiber_default_stack(void) { return default_stack; }
size_t valk_fiber_count(void) { return live_count; }
valk_fiber *valk_fiber_current(void) { return current; }

void valk_fiber_init(void) {
  struct GC_stack_base sb;
  gc_thread = GC_get_my_stackbottom(&sb);
  main_bottom = sb.mem_base;
  main_state = valk_S;
  page_size = (size_t)sysconf(_SC_PAGESIZE);
  const char *s = getenv("VALK_FIBER_STACK_KB");
  if (s && atol(s) >= 64) default_stack = (size_t)atol(s) * 1024;
  prev_push_hook = GC_get_push_other_roots();
  GC_set_push_other_roots(push_parked_stacks);
}

static char *stack_map(size_t size) {
  if (size == default_stack && pool_n) {
    char *m = pool[--pool_n];
    ASAN_UNPOISON(m + page_size, size);
    return m;
  }
  char *m = mmap(NULL, size + page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) return NULL;
  if (mprotect(m, page_size, PROT_NONE) != 0) {
    munmap(m, size + page_size);
    return NULL;
  }
  return m;
}

static void stack_unmap(char *m, size_t size) {
  ASAN_UNPOISON(m + page_size, size); /* the range may be mapped again for the heap */
  if (size == default_stack && pool_n < POOL_MAX) {
    /* keep the top of the stack (where every fiber runs) resident so the
       next fiber does not fault it in again; give back what deep
       recursion touched below it */
    if (size > HOT_STACK) madvise(m + page_size, size - HOT_STACK, MADV_DONTNEED);
    pool[pool_n++] = m;
    return;
  }
  munmap(m, size + page_size);
}

valk_fiber *valk_fiber_new(valk_fiber_fn fn, void *arg, size_t stack_size) {
  if (!stack_size) stack_size = default_stack;
  stack_size = (stack_size + page_size - 1) & ~(page_size - 1);
  char *m = stack_map(stack_size);
  if (!m) valk_raise("cannot start a fiber: out of memory for its stack");
  valk_fiber *f = GC_MALLOC_UNCOLLECTABLE(sizeof(valk_fiber));
  if (!f) {
    stack_unmap(m, stack_size);
    valk_raise("cannot start a fiber: out of memory");
  }
  memset(f, 0, sizeof *f);
  f->map = m;
  f->map_size = stack_size;
  f->top = m + page_size + stack_size;
  f->fn = fn;
  f->arg = arg;
  f->status = FIBER_NEW;
  /* Initial frame, popped by valk_ctx_switch: control words, r15..rbp
     (r12 carries the fiber), return address = trampoline. */
  uint64_t *sp = (uint64_t *)(((uintptr_t)f->top & ~(uintptr_t)15) - 16);
  *--sp = (uint64_t)(uintptr_t)valk_fiber_trampoline;
  *--sp = 0;                       /* rbp */
  *--sp = 0;                       /* rbx */
  *--sp = (uint64_t)(uintptr_t)f;  /* r12 */
  *--sp = 0;                       /* r13 */
  *--sp = 0;                       /* r14 */
  *--sp = 0;                       /* r15 */
  uint32_t ctl[2];
  __asm__ volatile("stmxcsr %0" : "=m"(ctl[0]));
  __asm__ volatile("fnstcw %0" : "=m"(ctl[1]));
  *--sp = (uint64_t)ctl[0] | ((uint64_t)(ctl[1] & 0xffff) << 32);
  f->sp = sp;
  f->st.stack_limit = m + page_size + 64 * 1024; /* room to raise and report */
  return f;
}

struct bottom_arg {
  char *bottom;
};

static void *set_bottom(void *p) {
  struct GC_stack_base sb = {((struct bottom_arg *)p)->bottom};
  GC_set_stackbottom(gc_thread, &sb);
  return NULL;
}

static void gc_set_bottom(char *bottom) {
  struct bottom_arg a = {bottom};
  GC_call_with_alloc_lock(set_bottom, &a);
}

void valk_fiber_resume(valk_fiber *f) {
  if (current) valk_raise("internal error: fiber resumed from inside a fiber");
  if (f->status == FIBER_DONE || f->status == FIBER_RUNNING) return;
  if (f->status == FIBER_NEW) {
    f->next = live;
    if (live) live->prev = f;
    live = f;
    live_count++;
  }
  f->status = FIBER_RUNNING;
  current = f;
  valk_S = &f->st;
  gc_set_bottom(f->top);
  ASAN_TO_FIBER(f);
  valk_ctx_switch(&main_sp, f->sp);
  /* back on the scheduler */
  ASAN_BACK_ON_MAIN();
  gc_set_bottom(main_bottom);
  valk_S = main_state;
  current = NULL;
  main_sp = NULL;
}

void valk_fiber_yield(void) {
  valk_fiber *f = current;
  if (!f) valk_raise("internal error: yield outside a fiber");
  f->status = FIBER_PARKED;
  ASAN_TO_MAIN(&f->asan_fake);
  valk_ctx_switch(&f->sp, main_sp);
  /* resumed: valk_fiber_resume set status, current and valk_S */
  ASAN_ON_FIBER(f->asan_fake);
}

void valk_fiber_main(valk_fiber *f) {
  ASAN_ON_FIBER(NULL);
  f->fn(f->arg);
  f->status = FIBER_DONE;
  if (f->prev) f->prev->next = f->next;
  else live = f->next;
  if (f->next) f->next->prev = f->prev;
  f->prev = f->next = NULL;
  live_count--;
  void *dummy;
  ASAN_TO_MAIN(NULL); /* this stack is never resumed: drop its fake stack */
  valk_ctx_switch(&dummy, main_sp);
  abort(); /* a finished fiber is never resumed */
}

void valk_fiber_free(valk_fiber *f) {
  if (f->status == FIBER_RUNNING || f->status == FIBER_PARKED) {
    fprintf(stderr, "valk: internal error: freeing a live fiber\n");
    abort();
  }
  stack_unmap(f->map, f->map_size);
  GC_FREE(f);
}
