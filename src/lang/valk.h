/*
 * valk.h - the one public header of the Valkyria language core.
 *
 * Values, the evaluator entry points, errors, dynamic bindings and the
 * builtin registration table. The language is the lowest layer: it names
 * nothing above it. The runtime (src/rt/rt.h), the systems library
 * (src/sys/sys.h) and HTTP (src/net/http.h) build on this header, and the
 * host (src/host.c) opens them all; what the language needs from a higher
 * layer it gets through a hook that layer sets (valk_print_hook,
 * valk_set_libs).
 *
 * Value representation
 * --------------------
 * A value is a `V`, a pointer to a heap object with a one-byte type tag,
 * except small integers: a V whose lowest bit is 1 is a fixnum holding a
 * 63-bit signed integer in the upper bits. Integers outside that range are
 * boxed (T_INT) so that all 64-bit integers are representable; arithmetic
 * detects 64-bit overflow and raises an error instead of wrapping.
 *
 * nil, true, false and the empty list are static singletons and are never
 * allocated. All other objects come from the Boehm collector through
 * valk_alloc()/valk_alloc_atomic(), so anything reachable from a C stack, a
 * static variable or another GC object stays alive. A GC object reachable
 * only through malloc()ed memory is NOT seen by the collector: never store
 * a V in memory the collector does not scan.
 *
 * Errors
 * ------
 * An error is raised with valk_raise()/valk_throw(), which never return:
 * they longjmp to the nearest protected call (VALK_TRY, `try`, the REPL).
 *
 * Invariants (checked with VALK_ASSERT where they are relied on)
 * ----------
 * - A list is a chain of T_CONS cells ending in EMPTY; CAR/CDR are only
 *   applied to a cell (IS_CONS). nil is never a list cell, only accepted
 *   in its place by valk_as_list.
 * - A string's bytes are followed by '\0' (s[len] == 0), so C APIs may take
 *   s->s directly.
 * - Keywords and symbols are interned: one object per name, so they
 *   compare with ==, and AS_SYM is only applied to T_SYM or T_KW.
 * - An integer that fits in FIX_MIN..FIX_MAX is always a fixnum, never a
 *   boxed T_INT, so equal small integers are the same V.
 * - An environment holds n <= cap bindings in slots; a lambda's call
 *   environment is created with room for exactly its parameters.
 * - valk_S->handler is the innermost protected call; a protected call
 *   that returns normally has popped exactly its own handler, and an
 *   evaluation that returns has popped exactly the call info it pushed,
 *   so valk_S->ci always describes the live C frames.
 * - Maps: icap is a power of two at least 2*cap, count <= used <= cap
 *   (see map.c).
 *
 * VALK_ASSERT(cond, why) states such an invariant: when cond is false the
 * interpreter itself is wrong (never the program it runs), so it prints
 * the place, the condition and why, and aborts without unwinding.
 * Asserts are compiled in unless VALK_NO_ASSERTS is defined: each is a
 * compare and a branch that is never taken, and with them fib(30) runs as
 * fast as without (bench/run.sh), so the plain, ASan and GC-stress builds
 * all check them.
 */
#ifndef VALK_H
#define VALK_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Obj *V;

_Noreturn void valk_assert_fail(const char *cond, const char *why, const char *file, int line);
#ifdef VALK_NO_ASSERTS
#define VALK_ASSERT(cond, why) ((void)0)
#else
#define VALK_ASSERT(cond, why) \
  (__builtin_expect(!!(cond), 1) ? (void)0 : valk_assert_fail(#cond, why, __FILE__, __LINE__))
#endif

enum {
  T_NIL = 1, T_BOOL, T_INT, T_FLOAT, T_STR, T_SYM, T_KW,
  T_CONS, T_EMPTY, T_MAP, T_BUILTIN, T_LAMBDA, T_ERROR, T_NATIVE
};

/* How a list was written; only matters when a list is evaluated as code
   or printed nested inside another list. */
enum { K_DATA = 0, K_SEXPR, K_QEXPR, K_VEC };

struct Obj {
  uint8_t type;
  uint8_t kind;  /* lists: K_*; lambdas: flags */
  uint16_t col;  /* lists: source column (saturates at 65535) */
  uint32_t line; /* lists: source line, 0 when not from source */
};

typedef struct { struct Obj h; V car, cdr; const char *file; } Cons;
typedef struct { struct Obj h; int64_t i; } Int;
typedef struct { struct Obj h; double d; } Float;
/* Strings are immutable byte arrays; s[len] is always '\0' so C code may
   pass them to C APIs, but they may also hold NUL bytes inside. */
typedef struct { struct Obj h; size_t len; char *s; } Str;
typedef struct Sym {
  struct Obj h;
  V global;        /* global binding, NULL when unbound (symbols only) */
  uint32_t hash;
  uint8_t special; /* SF_* for special form names, 0 otherwise */
  size_t len;
  char *name;
} Sym;

/* Insertion-ordered hash map. kv holds 2*cap slots of key/value in
   insertion order; a removed entry has key NULL. index is an open
   addressing table of entry numbers (-1 empty). */
typedef struct {
  struct Obj h;
  uint32_t count, used, cap, icap;
  V *kv;
  int32_t *index;
} Map;

typedef V (*valk_cfn)(V *args, int n);
typedef struct {
  struct Obj h;
  const char *name;
  valk_cfn fn;
  int min, max; /* arity bounds, max -1 for variadic */
  const char *doc;
} Builtin;

typedef struct Env Env;
enum { LF_MACRO = 1, LF_QBODY = 2 };
typedef struct {
  struct Obj h;   /* h.kind holds LF_* flags */
  V name;         /* symbol or NULL */
  int nparams;
  V *params;      /* symbols */
  V rest;         /* symbol after &, or NULL */
  V body;         /* list of forms */
  V doc;          /* string or NULL */
  Env *env;
} Lambda;

typedef struct {
  struct Obj h;
  V msg;          /* string */
  V kind;         /* keyword, e.g. :error :syntax :incomplete :assert */
  V data;         /* any value attached by the raiser, or nil */
  V trace;        /* list of strings, innermost call first */
  const char *file;
  uint32_t line, col;
} Error;

/* The type of a native handle (like Janet's JanetAbstractType): a name
   for messages and printing, and what to release when the collector
   finds the handle unreachable. finalize gets the handle's ptr; it runs
   inside some later allocation, on whatever fiber allocates, so it must
   not raise, allocate or touch other values: it only releases C
   resources (a descriptor, a database connection). Types whose record is
   owned by the event loop while it is active (a running process, a
   listening server, an open connection) have no finalizer: the loop
   frees them from their close callbacks, and dropping the value must
   never stop them. Types are static and compared by address. */
typedef struct valk_native_type {
  const char *name;
  void (*finalize)(void *ptr); /* NULL: nothing to release */
} valk_native_type;

typedef struct {
  struct Obj h;
  const valk_native_type *type;
  void *ptr;
  V data;          /* GC-visible value owned by the handle */
} Native;

struct Env {
  Env *parent;
  int n, cap;
  V *slots;      /* n pairs of symbol, value */
};

/* ---- fixnums and singletons ---- */
#define FIX_MIN (-(INT64_C(1) << 62))
#define FIX_MAX ((INT64_C(1) << 62) - 1)
#define IS_FIX(v) (((uintptr_t)(v)) & 1)
#define FIX_VAL(v) ((int64_t)(intptr_t)(v) >> 1)
#define MK_FIX(i) ((V)(uintptr_t)(((uint64_t)(i) << 1) | 1))

extern struct Obj valk_nil_obj, valk_true_obj, valk_false_obj, valk_empty_obj;
#define NIL (&valk_nil_obj)
#define VTRUE (&valk_true_obj)
#define VFALSE (&valk_false_obj)
#define EMPTY (&valk_empty_obj)

static inline int vtype(V v) { return IS_FIX(v) ? T_INT : v->type; }
#define IS(v, t) (!IS_FIX(v) && (v)->type == (t))
#define IS_CONS(v) IS(v, T_CONS)
#define IS_LIST(v) (IS_CONS(v) || (v) == EMPTY)
#define CAR(v) (((Cons *)(v))->car)
#define CDR(v) (((Cons *)(v))->cdr)
#define AS_STR(v) ((Str *)(v))
#define AS_SYM(v) ((Sym *)(v))
#define AS_MAP(v) ((Map *)(v))
#define AS_ERR(v) ((Error *)(v))
#define BOOL(c) ((c) ? VTRUE : VFALSE)

static inline bool valk_truthy(V v) {
  if (IS_FIX(v)) return FIX_VAL(v) != 0;
  switch (v->type) {
  case T_NIL: case T_EMPTY: return false;
  case T_BOOL: return v == VTRUE;
  case T_INT: return ((Int *)v)->i != 0;
  case T_FLOAT: return ((Float *)v)->d != 0.0;
  default: return true;
  }
}

/* ---- memory (gc.c) ---- */
void valk_gc_init(void);
void *valk_alloc(size_t n);        /* zeroed, scanned for pointers */
void *valk_alloc_atomic(size_t n); /* not scanned: bytes only */
void *valk_realloc(void *p, size_t n);
void valk_gc_collect(void);
int valk_gc_stress_interval(void); /* 0 when stress mode is off */
size_t valk_gc_heap_size(void);
size_t valk_gc_count(void);

/* ---- constructors (value.c) ---- */
V valk_int(int64_t i);
int64_t valk_int_get(V v); /* v must be an integer */
V valk_float(double d);
V valk_str(const char *s, size_t len);
V valk_cstr(const char *s);
V valk_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
V valk_sym(const char *name);
V valk_sym_n(const char *name, size_t len);
V valk_kw(const char *name);
V valk_kw_n(const char *name, size_t len);
V valk_cons(V car, V cdr);
V valk_cons_kind(V car, V cdr, int kind);
V valk_list(int n, ...);
V valk_list_from(V *items, int n);
size_t valk_list_len(V l); /* number of cells; l must be a list */
V valk_list_reverse(V l);
/* A handle of type t around ptr; t->finalize(ptr) runs once the handle
   is unreachable (see valk_native_type). */
V valk_native(const valk_native_type *t, void *ptr, V data);
bool valk_native_is(V v, const valk_native_type *t);
/* ptr of v when v is a handle of type t, else raises "who: argument
   argi+1 must be a NAME, got TYPE" (argi counts from 0, as in
   valk_arg_str). */
void *valk_native_check(V v, const valk_native_type *t, const char *who, int argi);
V valk_builtin_new(const char *name, valk_cfn fn, int min, int max, const char *doc);
const char *valk_type_name(V v);
bool valk_is_number(V v);
double valk_num_get(V v);
bool valk_is_callable(V v);
/* the list behind a sequence argument (list, nil or map); raises naming
   who at form (NULL: the running builtin's call) for anything else */
V valk_as_list(V v, V form, const char *who);
/* the name a keyword, symbol or string stands for (a key, an option, a
   header or variable name); raises "who: what must be ..." otherwise */
const char *valk_key_name(V v, const char *who, const char *what);
/* natural order of two numbers, strings or keywords: -1, 0 or 1 */
int valk_compare(V x, V y, const char *who);
/* value of a hexadecimal digit, -1 for any other character */
static inline int valk_hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* maps (map.c)
   A map may carry the mark "not yet inspected" (MAP_UNCHECKED in h.kind):
   the runtime marks a failed process result it must hear about unless the
   program looks at it. Every lookup, change and iteration below clears the
   mark (valk_map_get, _has, _set, _del, _next, so get, keyword calls, keys,
   printing, equality...); valk_map_peek and valk_map_unchecked read without
   clearing it. */
enum { MAP_UNCHECKED = 1 };
V valk_map_new(uint32_t cap);
V valk_map_get(V m, V key, V dflt); /* returns dflt when absent */
V valk_map_peek(V m, V key, V dflt); /* valk_map_get that keeps the mark */
void valk_map_mark_unchecked(V m);
bool valk_map_unchecked(V m);        /* true while marked; keeps the mark */
bool valk_map_has(V m, V key);
void valk_map_set(V m, V key, V val);
bool valk_map_del(V m, V key);
V valk_map_copy(V m);
uint32_t valk_hash(V v);
/* iterate: for (uint32_t i = 0; valk_map_next(m, &i, &k, &v);) */
bool valk_map_next(V m, uint32_t *i, V *k, V *v);

/* equality (value.c) */
bool valk_equal(V a, V b);     /* structural `==` */
bool valk_key_equal(V a, V b); /* map keys: same type and equal */

/* ---- reader (reader.c) ---- */
typedef struct {
  const char *src;
  size_t len, pos;
  uint32_t line, col;
  const char *file;
  int depth;
  uint32_t form_line, form_col; /* where the last top-level form began */
} Reader;
void valk_reader_init(Reader *r, const char *src, size_t len, const char *file);
/* Reads the next form; returns NULL at end of input. Raises a :syntax
   error (or :incomplete when input ends inside a form or string). */
V valk_read(Reader *r);

/* ---- printer (print.c) ---- */
typedef struct { char *s; size_t len, cap; } Buf;
void buf_init(Buf *b, size_t cap);
void buf_put(Buf *b, const char *s, size_t n);
void buf_puts(Buf *b, const char *s);
void buf_putc(Buf *b, char c);
void buf_put_utf8(Buf *b, uint32_t cp);
void buf_printf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
V buf_to_str(Buf *b);
void valk_print_to(Buf *b, V v, bool readable);
void valk_print_code(Buf *b, V v);
V valk_repr(V v);    /* readable form as a string value */
V valk_display(V v); /* display form: strings raw */
const char *valk_repr_c(V v);
void valk_format_float(Buf *b, double d);
V valk_format(V fmt, V *args, int n, const char *who);   /* ~a ~s ~d ~% ~~ */
V valk_format_c(V fmt, V *args, int n, const char *who); /* %s %d %% */

/* ---- errors (error.c) ---- */
typedef struct valk_handler {
  jmp_buf jb;
  struct valk_handler *prev;
  struct valk_callinfo *ci; /* call chain to restore on catch */
  V expansion;              /* macro call being expanded, restored on catch */
  V err;
} valk_handler;

typedef struct valk_callinfo {
  struct valk_callinfo *prev;
  V fn;   /* lambda being run */
  V form; /* call site form */
} valk_callinfo;

/* Per-thread-of-execution interpreter state. Fibers (src/rt) give each
   fiber its own copy and switch valk_S on every context switch; a new
   fiber starts with its parent's file and dynamic bindings. */
typedef struct valk_state {
  valk_handler *handler;
  valk_callinfo *ci;
  char *stack_limit; /* raise "stack depth exceeded" below this address */
  V form;            /* form of the builtin call running now */
  bool interruptible; /* Ctrl-C (valk_interrupted) stops this evaluation */
  const char *file;  /* file being loaded, NULL at top level (load.c) */
  V dyn;             /* dynamic bindings: a map, or NULL for none (dyn.c) */
  V expansion;       /* the macro call being expanded now, or NULL: code a
                        macro builds is placed there (eval.c) */
} valk_state;
extern valk_state *valk_S;
extern volatile int valk_interrupted;

#define VALK_TRY(h) \
  ((h)->prev = valk_S->handler, (h)->ci = valk_S->ci, (h)->expansion = valk_S->expansion, (h)->err = NULL, \
   valk_S->handler = (h), setjmp((h)->jb) == 0)
#define VALK_END_TRY(h)                                                               \
  (VALK_ASSERT(valk_S->handler == (h), "a protected call ends with its own handler innermost"), \
   valk_S->handler = (h)->prev)

/* Protected call (Lua's luaD_rawrunprotected): runs f(ud) and returns
   NULL, or the error it raised. Keeps setjmp out of callers' frames. */
typedef void (*valk_pfn)(void *ud);
V valk_pcall(valk_pfn f, void *ud);

_Noreturn void valk_throw(V err);
_Noreturn void valk_raise(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void valk_raise_kind(const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
_Noreturn void valk_raise_at(V form, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
V valk_error_new(V kind, V msg, V form);
V valk_error_at_pos(const char *kind, const char *file, uint32_t line, uint32_t col,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void valk_error_fill_trace(V err);
V valk_error_report(V err); /* "file:line:col: error: msg\n  at ..." */
void valk_stack_check(void);
void valk_set_stack_limit_from(char *base, size_t size);

/* ---- evaluator (eval.c) ---- */
V valk_eval(V x, Env *env);
V valk_apply(V f, V *args, int n);
V valk_call(V f, int n, ...);
V valk_macroexpand1(V form, Env *env, bool *expanded);
Env *valk_env_new(Env *parent, int cap);
void valk_env_define(Env *e, V sym, V val);
V valk_lookup(V sym, Env *env); /* NULL when unbound */
/* Registers the language's builtins and *args*; the host then opens the
   other layers and requires "core" (src/host.c). */
void valk_init(int argc, char **argv);
V valk_eval_string(const char *src, size_t len, const char *file);
V valk_load_file(const char *path);        /* raises on error */
V valk_read_file(const char *path);        /* whole file; NULL, errno set */
V valk_require(const char *name, const char *from_file);
V valk_autoload(V sym); /* loads the library that defines sym; its value or NULL */
const char *valk_current_file(void);

/* Embedded libraries (lib/NAME.valk compiled into the binary by the host)
   and the names each exports: an autoload entry whose name ends in '/'
   is a prefix. Both tables end with a NULL name. The host sets them
   before the first require of an embedded library; see load.c. */
typedef struct { const char *name; const char *data; const char *end; } valk_embedded;
typedef struct { const char *name; const char *lib; } valk_export;
void valk_set_libs(const valk_embedded *libs, const valk_export *exports);

/* ---- dynamic bindings (dyn.c) ----
   Per-fiber key/value bindings, like Janet's dyn: (with-dyn* bindings f)
   calls f with bindings merged over the current ones and restores them
   after; fibers started meanwhile inherit them. valk_dyn returns dflt
   when key is unbound. */
V valk_dyn(V key, V dflt);

/* special form numbers stored in Sym.special */
enum {
  SF_NONE, SF_QUOTE, SF_QUASIQUOTE, SF_UNQUOTE, SF_SPLICE, SF_IF, SF_DO, SF_LET,
  SF_FN, SF_LAMBDA, SF_FUN, SF_DEFUN, SF_DEFMACRO, SF_DEF, SF_SET, SF_AND, SF_OR,
  SF_WHEN, SF_UNLESS, SF_COND, SF_SELECT, SF_CASE, SF_TRY, SF_FOR_EACH, SF_WHILE,
  SF_ASSERT, SF_ASSERT_EQ, SF_ASSERT_ERROR, SF_COUNT
};

/* Where print output goes: when set and it returns true, the hook took
   the text (the runtime sends it to the log sink bound to :print). */
extern bool (*valk_print_hook)(const char *text, size_t len);

/* Called by (exit code) before the program ends, when set. A host that
   must not end there raises from it instead: the REPL turns an (exit)
   typed at its prompt into leaving its loop, asking first when work
   would be lost (src/repl.c). */
extern void (*valk_exit_hook)(int code);

/* ---- builtins ---- */
typedef struct {
  const char *name;
  valk_cfn fn;
  int min, max;
  const char *doc; /* "(name args...) what it does" */
} valk_reg;
void valk_register(const valk_reg *regs);
void valk_def_global(const char *name, V val);

/* argument checking helpers for builtins */
void valk_check_type(V v, int type, const char *who, int argi);
int64_t valk_arg_int(V *args, int n, int i, const char *who);
double valk_arg_num(V *args, int n, int i, const char *who);
Str *valk_arg_str(V *args, int n, int i, const char *who);
/* keyword arguments: finds :name among args[from..n) (pairs); dflt if absent */
V valk_kwarg(V *args, int n, int from, const char *name, V dflt);
/* number of leading positional arguments before the first keyword pair */
int valk_positional_count(V *args, int n, int from);

void valk_core_register(void);  /* builtins_core.c */
void valk_list_register(void);  /* builtins_list.c */
void valk_map_register(void);   /* builtins_map.c */
void valk_str_register(void);   /* builtins_str.c */
void valk_io_register(void);    /* load.c */
void valk_dyn_register(void);
void valk_forms_register(void); /* forms.c */

#endif
