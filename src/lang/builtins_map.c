/*
 * builtins_map.c - maps and keyword arguments.
 *
 * assoc, dissoc and merge return new maps and leave their arguments
 * alone; `put!` (and `(= (:k m) v)` in the evaluator) change a map in
 * place. Keyword arguments arrive as trailing :key value pairs; `kwargs`
 * turns such a rest list into a map and `kwarg` reads one of them.
 */
#include "valk.h"

static V need_map(V v, const char *who, int argi) {
  if (v == NIL || v == EMPTY) return valk_map_new(0);
  if (!IS(v, T_MAP)) valk_raise("%s: argument %d must be a map, got %s", who, argi + 1, valk_type_name(v));
  return v;
}

static V bi_hash_map(V *a, int n) {
  if (n % 2) valk_raise("hash-map: expected key value pairs, got an odd number of arguments");
  V m = valk_map_new((uint32_t)n / 2);
  for (int i = 0; i < n; i += 2) valk_map_set(m, a[i], a[i + 1]);
  return m;
}

/* (get m key [default]); also indexes lists by position */
static V bi_get(V *a, int n) {
  V dflt = n == 3 ? a[2] : NIL;
  V m = a[0];
  if (m == NIL || m == EMPTY) return dflt;
  if (IS(m, T_MAP)) return valk_map_get(m, a[1], dflt);
  if (IS_CONS(m) && vtype(a[1]) == T_INT) {
    int64_t i = valk_int_get(a[1]);
    for (; i > 0 && IS_CONS(m); i--) m = CDR(m);
    return i == 0 && IS_CONS(m) ? CAR(m) : dflt;
  }
  valk_raise("get: expected a map, got %s", valk_type_name(m));
}

static V bi_assoc(V *a, int n) {
  if (n % 2 == 0) valk_raise("assoc: expected a map then key value pairs");
  V m = valk_map_copy(need_map(a[0], "assoc", 0));
  for (int i = 1; i < n; i += 2) valk_map_set(m, a[i], a[i + 1]);
  return m;
}

static V bi_put(V *a, int n) {
  if (!IS(a[0], T_MAP)) valk_raise("put!: argument 1 must be a map, got %s", valk_type_name(a[0]));
  if (n % 2 == 0) valk_raise("put!: expected a map then key value pairs");
  for (int i = 1; i < n; i += 2) valk_map_set(a[0], a[i], a[i + 1]);
  return a[0];
}

static V bi_dissoc(V *a, int n) {
  V m = valk_map_copy(need_map(a[0], "dissoc", 0));
  for (int i = 1; i < n; i++) valk_map_del(m, a[i]);
  return m;
}

static V bi_merge(V *a, int n) {
  V m = valk_map_new(8);
  for (int i = 0; i < n; i++) {
    V src = need_map(a[i], "merge", i);
    V k, v;
    for (uint32_t j = 0; valk_map_next(src, &j, &k, &v);) valk_map_set(m, k, v);
  }
  return m;
}

static V bi_keys(V *a, int n) {
  (void)n;
  V m = need_map(a[0], "keys", 0);
  V out = EMPTY, k, v;
  for (uint32_t i = 0; valk_map_next(m, &i, &k, &v);) out = valk_cons(k, out);
  return valk_list_reverse(out);
}

static V bi_vals(V *a, int n) {
  (void)n;
  V m = need_map(a[0], "vals", 0);
  V out = EMPTY, k, v;
  for (uint32_t i = 0; valk_map_next(m, &i, &k, &v);) out = valk_cons(v, out);
  return valk_list_reverse(out);
}

static V bi_has(V *a, int n) {
  (void)n;
  if (a[0] == NIL || a[0] == EMPTY) return VFALSE;
  return BOOL(valk_map_has(need_map(a[0], "has?", 0), a[1]));
}

static V bi_mapp(V *a, int n) {
  (void)n;
  return BOOL(IS(a[0], T_MAP));
}

static V bi_kw(V *a, int n) {
  (void)n;
  if (IS(a[0], T_KW)) return a[0];
  if (IS(a[0], T_SYM)) return valk_kw(AS_SYM(a[0])->name);
  Str *s = valk_arg_str(a, n, 0, "keyword");
  return valk_kw_n(s->s, s->len);
}

static V bi_symbol(V *a, int n) {
  Str *s = valk_arg_str(a, n, 0, "symbol");
  return valk_sym_n(s->s, s->len);
}

static V bi_name(V *a, int n) {
  (void)n;
  if (IS(a[0], T_STR)) return a[0];
  const char *name = valk_key_name(a[0], "name", "argument");
  return valk_str(name, AS_SYM(a[0])->len);
}

/* (kwargs rest-list) turns trailing :key value pairs into a map */
static V bi_kwargs(V *a, int n) {
  (void)n;
  V l = a[0];
  if (l == NIL) return valk_map_new(0);
  if (IS(l, T_MAP)) return l;
  if (!IS_LIST(l)) valk_raise("kwargs: expected a list of :key value pairs, got %s", valk_type_name(l));
  V m = valk_map_new(4);
  for (; IS_CONS(l); l = CDR(CDR(l))) {
    if (!IS(CAR(l), T_KW)) valk_raise("kwargs: expected a keyword, got %s", valk_repr_c(CAR(l)));
    if (!IS_CONS(CDR(l))) valk_raise("kwargs: keyword %s has no value", valk_repr_c(CAR(l)));
    valk_map_set(m, CAR(l), CAR(CDR(l)));
  }
  return m;
}

/* (kwarg rest-list :key [default]) reads one keyword argument */
static V bi_kwarg(V *a, int n) {
  V l = a[0];
  if (!IS(a[1], T_KW)) valk_raise("kwarg: argument 2 must be a keyword, got %s", valk_type_name(a[1]));
  if (IS(l, T_MAP)) return valk_map_get(l, a[1], n == 3 ? a[2] : NIL);
  while (IS_CONS(l) && !IS(CAR(l), T_KW)) l = CDR(l); /* positional arguments */
  for (; IS_CONS(l) && IS_CONS(CDR(l)); l = CDR(CDR(l)))
    if (CAR(l) == a[1]) return CAR(CDR(l));
  return n == 3 ? a[2] : NIL;
}

static const valk_reg map_fns[] = {
    {"hash-map", bi_hash_map, 0, -1, "(hash-map k v ...) a new map"},
    {"get", bi_get, 2, 3, "(get m key [default]) value for key, default (nil) when absent"},
    {"assoc", bi_assoc, 3, -1, "(assoc m k v ...) new map with the keys set"},
    {"dissoc", bi_dissoc, 1, -1, "(dissoc m k ...) new map without the keys"},
    {"put!", bi_put, 3, -1, "(put! m k v ...) sets keys in m itself and returns m"},
    {"merge", bi_merge, 0, -1, "(merge m ...) new map; later maps win"},
    {"keys", bi_keys, 1, 1, "(keys m) keys in insertion order"},
    {"vals", bi_vals, 1, 1, "(vals m) values in insertion order"},
    {"has?", bi_has, 2, 2, "(has? m key) true when key is present"},
    {"map?", bi_mapp, 1, 1, "(map? x)"},
    {"keyword", bi_kw, 1, 1, "(keyword \"name\") the keyword :name"},
    {"symbol", bi_symbol, 1, 1, "(symbol \"name\") the symbol name"},
    {"name", bi_name, 1, 1, "(name :kw) the name of a keyword or symbol as a string"},
    {"kwargs", bi_kwargs, 1, 1, "(kwargs rest) map of the :key value pairs in a rest list"},
    {"kwarg", bi_kwarg, 2, 3, "(kwarg rest :key [default]) one keyword argument from a rest list"},
    {NULL, NULL, 0, 0, NULL}};

void valk_map_register(void) { valk_register(map_fns); }
