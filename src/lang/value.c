/*
 * value.c - constructors, symbol/keyword interning, lists and equality.
 *
 * Symbols and keywords are interned in one open hash table per kind, so
 * two symbols with the same name are the same pointer and comparison is a
 * pointer compare. The tables live in GC memory rooted by static pointers.
 */
#include "valk.h"

#include <gc/gc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct Obj valk_nil_obj = {T_NIL, 0, 0, 0};
struct Obj valk_true_obj = {T_BOOL, 0, 0, 0};
struct Obj valk_false_obj = {T_BOOL, 0, 0, 0};
struct Obj valk_empty_obj = {T_EMPTY, 0, 0, 0};

static inline void *new_obj(size_t size, int type) {
  struct Obj *o = valk_alloc(size);
  o->type = (uint8_t)type;
  return o;
}

V valk_int(int64_t i) {
  if (i >= FIX_MIN && i <= FIX_MAX) return MK_FIX(i);
  Int *o = new_obj(sizeof(Int), T_INT);
  o->i = i;
  VALK_ASSERT(i < FIX_MIN || i > FIX_MAX, "an integer in the fixnum range is never boxed");
  return (V)o;
}

int64_t valk_int_get(V v) {
  if (IS_FIX(v)) return FIX_VAL(v);
  VALK_ASSERT(v->type == T_INT, "valk_int_get is only given integers (callers check vtype first)");
  return ((Int *)v)->i;
}

V valk_float(double d) {
  Float *o = new_obj(sizeof(Float), T_FLOAT);
  o->d = d;
  return (V)o;
}

bool valk_is_number(V v) { return IS_FIX(v) || v->type == T_INT || v->type == T_FLOAT; }

double valk_num_get(V v) {
  if (IS_FIX(v)) return (double)FIX_VAL(v);
  return v->type == T_FLOAT ? ((Float *)v)->d : (double)((Int *)v)->i;
}

V valk_str(const char *s, size_t len) {
  Str *o = new_obj(sizeof(Str), T_STR);
  char *d = valk_alloc_atomic(len + 1);
  if (len) memcpy(d, s, len);
  d[len] = '\0';
  o->len = len;
  o->s = d;
  return (V)o;
}

V valk_cstr(const char *s) { return valk_str(s, strlen(s)); }

V valk_strf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char small[256];
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < (int)sizeof small) return valk_str(small, (size_t)n);
  char *big = valk_alloc_atomic((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return valk_str(big, (size_t)n);
}

/* ---- interning ---- */
typedef struct {
  Sym **slots;
  uint32_t cap, count;
} InternTable;
static InternTable sym_table, kw_table;

static uint32_t hash_bytes(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
  return h;
}

static void intern_grow(InternTable *t) {
  uint32_t ncap = t->cap ? t->cap * 2 : 1024;
  Sym **ns = valk_alloc(ncap * sizeof(Sym *));
  for (uint32_t i = 0; i < t->cap; i++) {
    Sym *s = t->slots[i];
    if (!s) continue;
    uint32_t j = s->hash & (ncap - 1);
    while (ns[j]) j = (j + 1) & (ncap - 1);
    ns[j] = s;
  }
  t->slots = ns;
  t->cap = ncap;
}

static V intern(InternTable *t, const char *name, size_t len, int type) {
  if (t->count * 2 >= t->cap) intern_grow(t);
  uint32_t h = hash_bytes(name, len);
  uint32_t j = h & (t->cap - 1);
  for (Sym *s; (s = t->slots[j]); j = (j + 1) & (t->cap - 1))
    if (s->hash == h && s->len == len && memcmp(s->name, name, len) == 0) return (V)s;
  VALK_ASSERT(type == T_SYM || type == T_KW, "only symbols and keywords are interned");
  Sym *s = new_obj(sizeof(Sym), type);
  s->hash = h;
  s->len = len;
  s->name = valk_alloc_atomic(len + 1);
  memcpy(s->name, name, len);
  s->name[len] = '\0';
  t->slots[j] = s;
  t->count++;
  return (V)s;
}

V valk_sym_n(const char *name, size_t len) { return intern(&sym_table, name, len, T_SYM); }
V valk_sym(const char *name) { return valk_sym_n(name, strlen(name)); }
V valk_kw_n(const char *name, size_t len) { return intern(&kw_table, name, len, T_KW); }
V valk_kw(const char *name) { return valk_kw_n(name, strlen(name)); }

/* ---- lists ---- */
V valk_cons_kind(V car, V cdr, int kind) {
  Cons *c = new_obj(sizeof(Cons), T_CONS);
  c->h.kind = (uint8_t)kind;
  c->car = car;
  c->cdr = cdr;
  return (V)c;
}

V valk_cons(V car, V cdr) { return valk_cons_kind(car, cdr, K_DATA); }

V valk_list_from(V *items, int n) {
  V l = EMPTY;
  for (int i = n - 1; i >= 0; i--) l = valk_cons(items[i], l);
  return l;
}

V valk_list(int n, ...) {
  V items[16];
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n && i < 16; i++) items[i] = va_arg(ap, V);
  va_end(ap);
  return valk_list_from(items, n < 16 ? n : 16);
}

size_t valk_list_len(V l) {
  size_t n = 0;
  for (; IS_CONS(l); l = CDR(l)) n++;
  VALK_ASSERT(l == EMPTY, "a list is a chain of cells ending in EMPTY");
  return n;
}

V valk_list_reverse(V l) {
  V r = EMPTY;
  for (; IS_CONS(l); l = CDR(l)) r = valk_cons(CAR(l), r);
  return r;
}

/* The list behind a sequence argument: a list as it is, nil as {}, a map
   as its {key value} entries in order. Anything else raises an error
   naming who, placed at form (the running builtin's call when NULL). */
V valk_as_list(V v, V form, const char *who) {
  if (IS_LIST(v)) return v;
  if (v == NIL) return EMPTY;
  if (IS(v, T_MAP)) {
    V out = EMPTY;
    V k, val;
    for (uint32_t i = 0; valk_map_next(v, &i, &k, &val);) out = valk_cons(valk_list(2, k, val), out);
    return valk_list_reverse(out);
  }
  valk_raise_at(form ? form : valk_S->form, "%s: expected a list or map, got %s (%s)", who, valk_type_name(v),
                valk_repr_c(v));
}

static void native_finalize(void *obj, void *cd) {
  (void)cd;
  Native *o = obj;
  o->type->finalize(o->ptr);
}

V valk_native(const valk_native_type *t, void *ptr, V data) {
  Native *o = new_obj(sizeof(Native), T_NATIVE);
  o->type = t;
  o->ptr = ptr;
  o->data = data ? data : NIL;
  if (t->finalize) GC_register_finalizer_no_order(o, native_finalize, NULL, NULL, NULL);
  return (V)o;
}

bool valk_native_is(V v, const valk_native_type *t) { return IS(v, T_NATIVE) && ((Native *)v)->type == t; }

void *valk_native_check(V v, const valk_native_type *t, const char *who, int argi) {
  if (!valk_native_is(v, t)) valk_raise("%s: argument %d must be a %s, got %s", who, argi + 1, t->name, valk_type_name(v));
  return ((Native *)v)->ptr;
}

V valk_builtin_new(const char *name, valk_cfn fn, int min, int max, const char *doc) {
  Builtin *b = new_obj(sizeof(Builtin), T_BUILTIN);
  b->name = name;
  b->fn = fn;
  b->min = min;
  b->max = max;
  b->doc = doc;
  return (V)b;
}

bool valk_is_callable(V v) {
  if (IS_FIX(v)) return false;
  return v->type == T_BUILTIN || v->type == T_LAMBDA || v->type == T_KW || v->type == T_MAP;
}

const char *valk_key_name(V v, const char *who, const char *what) {
  if (IS(v, T_KW) || IS(v, T_SYM)) return AS_SYM(v)->name;
  if (IS(v, T_STR)) return AS_STR(v)->s;
  valk_raise("%s: %s must be a keyword, symbol or string, got %s", who, what, valk_type_name(v));
}

const char *valk_type_name(V v) {
  switch (vtype(v)) {
  case T_NIL: return "nil";
  case T_BOOL: return "bool";
  case T_INT: return "int";
  case T_FLOAT: return "float";
  case T_STR: return "string";
  case T_SYM: return "symbol";
  case T_KW: return "keyword";
  case T_CONS: case T_EMPTY: return "list";
  case T_MAP: return "map";
  case T_BUILTIN: return "function";
  case T_LAMBDA: return (v->kind & LF_MACRO) ? "macro" : "function";
  case T_ERROR: return "error";
  case T_NATIVE: return ((Native *)v)->type->name;
  }
  return "unknown";
}

/* ---- equality ---- */
static bool equal_rec(V a, V b);

static bool maps_equal(V a, V b) {
  if (AS_MAP(a)->count != AS_MAP(b)->count) return false;
  V k, v;
  for (uint32_t i = 0; valk_map_next(a, &i, &k, &v);) {
    if (!valk_map_has(b, k)) return false;
    if (!equal_rec(v, valk_map_get(b, k, NIL))) return false;
  }
  return true;
}

/* Booleans compare equal to 1 and 0, nil to the empty list, and numbers
   compare by value across int and float. */
static bool equal_rec(V a, V b) {
  if (a == b) return true;
  int ta = vtype(a), tb = vtype(b);
  if ((ta == T_NIL || ta == T_EMPTY) && (tb == T_NIL || tb == T_EMPTY)) return true;
  if (ta == T_BOOL) { a = MK_FIX(a == VTRUE); ta = T_INT; }
  if (tb == T_BOOL) { b = MK_FIX(b == VTRUE); tb = T_INT; }
  if ((ta == T_INT || ta == T_FLOAT) && (tb == T_INT || tb == T_FLOAT)) {
    if (ta == T_INT && tb == T_INT) return valk_int_get(a) == valk_int_get(b);
    return valk_num_get(a) == valk_num_get(b);
  }
  if (ta != tb) return false;
  switch (ta) {
  case T_STR:
    return AS_STR(a)->len == AS_STR(b)->len && memcmp(AS_STR(a)->s, AS_STR(b)->s, AS_STR(a)->len) == 0;
  case T_CONS: {
    valk_stack_check();
    bool r = true;
    while (IS_CONS(a) && IS_CONS(b)) {
      if (!equal_rec(CAR(a), CAR(b))) { r = false; break; }
      a = CDR(a);
      b = CDR(b);
    }
    if (r) r = !IS_CONS(a) && !IS_CONS(b) && equal_rec(a, b);
    return r;
  }
  case T_MAP: {
    valk_stack_check();
    return maps_equal(a, b);
  }
  case T_ERROR:
    return equal_rec(AS_ERR(a)->msg, AS_ERR(b)->msg) && AS_ERR(a)->kind == AS_ERR(b)->kind;
  default:
    return false;
  }
}

bool valk_equal(V a, V b) { return equal_rec(a, b); }

bool valk_key_equal(V a, V b) {
  if (a == b) return true;
  int ta = vtype(a), tb = vtype(b);
  if (ta != tb) return false;
  return equal_rec(a, b);
}

/* Natural order: numbers by value, strings bytewise, keywords by name. */
int valk_compare(V x, V y, const char *who) {
  if (IS(x, T_STR) && IS(y, T_STR)) {
    size_t m = AS_STR(x)->len < AS_STR(y)->len ? AS_STR(x)->len : AS_STR(y)->len;
    int c = memcmp(AS_STR(x)->s, AS_STR(y)->s, m);
    if (c) return (c > 0) - (c < 0);
    return (AS_STR(x)->len > AS_STR(y)->len) - (AS_STR(x)->len < AS_STR(y)->len);
  }
  if (valk_is_number(x) && valk_is_number(y)) {
    if (vtype(x) == T_INT && vtype(y) == T_INT) {
      int64_t ix = valk_int_get(x), iy = valk_int_get(y);
      return (ix > iy) - (ix < iy);
    }
    double dx = valk_num_get(x), dy = valk_num_get(y);
    return (dx > dy) - (dx < dy);
  }
  if (IS(x, T_KW) && IS(y, T_KW)) {
    int c = strcmp(AS_SYM(x)->name, AS_SYM(y)->name);
    return (c > 0) - (c < 0);
  }
  valk_raise("%s: cannot compare %s with %s; pass a comparison function", who, valk_type_name(x), valk_type_name(y));
}
