/*
 * builtins_list.c - list functions.
 *
 * Lists are immutable cons lists; nil is accepted wherever a list is and
 * behaves as the empty list. Functions that take a count and a list accept
 * both argument orders ((take 2 l) as in Valkyria, (take l 2) too), since
 * the types tell them apart.
 */
#include "valk.h"

#include <string.h>

/* Returns v as a list: lists as they are, nil as {}, a map as its {k v}
   entries. Anything else is an error naming the function. */
static V as_list(V v, const char *who) {
  if (IS_LIST(v)) return v;
  if (v == NIL) return EMPTY;
  if (IS(v, T_MAP)) {
    V out = EMPTY;
    V k, val;
    for (uint32_t i = 0; valk_map_next(v, &i, &k, &val);) out = valk_cons(valk_list(2, k, val), out);
    return valk_list_reverse(out);
  }
  valk_raise("%s: expected a list, got %s (%s)", who, valk_type_name(v), valk_repr_c(v));
}

/* Appends to a list being built front to back. */
typedef struct { V head, tail; } ListB;
static void lb_init(ListB *b) { b->head = EMPTY; b->tail = NULL; }
static void lb_add(ListB *b, V x) {
  V c = valk_cons(x, EMPTY);
  if (b->tail) ((Cons *)b->tail)->cdr = c;
  else b->head = c;
  b->tail = c;
}

static V bi_list(V *a, int n) { return valk_list_from(a, n); }

static V bi_cons(V *a, int n) {
  (void)n;
  return valk_cons(a[0], as_list(a[1], "cons"));
}

static V bi_len(V *a, int n) {
  (void)n;
  V v = a[0];
  if (IS(v, T_STR)) return valk_int((int64_t)AS_STR(v)->len);
  if (IS(v, T_MAP)) return valk_int(AS_MAP(v)->count);
  return valk_int((int64_t)valk_list_len(as_list(v, "len")));
}

static V bi_head(V *a, int n) {
  (void)n;
  V l = as_list(a[0], "head");
  if (l == EMPTY) valk_raise("head: empty list");
  return valk_cons(CAR(l), EMPTY);
}

static V bi_tail(V *a, int n) {
  (void)n;
  V l = as_list(a[0], "tail");
  if (l == EMPTY) valk_raise("tail: empty list");
  return CDR(l);
}

static V bi_first(V *a, int n) {
  (void)n;
  if (IS(a[0], T_STR)) return AS_STR(a[0])->len ? valk_str(AS_STR(a[0])->s, 1) : NIL;
  V l = as_list(a[0], "first");
  return l == EMPTY ? NIL : CAR(l);
}

static V bi_second(V *a, int n) {
  (void)n;
  V l = as_list(a[0], "second");
  return IS_CONS(l) && IS_CONS(CDR(l)) ? CAR(CDR(l)) : NIL;
}

static V bi_rest(V *a, int n) {
  (void)n;
  V l = as_list(a[0], "rest");
  return l == EMPTY ? EMPTY : CDR(l);
}

static V bi_last(V *a, int n) {
  (void)n;
  V l = as_list(a[0], "last");
  if (l == EMPTY) return NIL;
  while (IS_CONS(CDR(l))) l = CDR(l);
  return CAR(l);
}

/* Splits (f n list) / (f list n) into the list and the count. */
static void list_and_count(V *a, V *l, int64_t *k, const char *who) {
  if (vtype(a[0]) == T_INT) { *k = valk_int_get(a[0]); *l = as_list(a[1], who); return; }
  if (vtype(a[1]) != T_INT) valk_raise("%s: expected an integer and a list", who);
  *k = valk_int_get(a[1]);
  *l = as_list(a[0], who);
}

static V bi_nth(V *a, int n) {
  (void)n;
  if (IS(a[0], T_STR) && vtype(a[1]) == T_INT) {
    Str *s = AS_STR(a[0]);
    int64_t i = valk_int_get(a[1]);
    if (i < 0 || (uint64_t)i >= s->len) valk_raise("nth: index %lld out of range for string of length %zu", (long long)i, s->len);
    return valk_str(s->s + i, 1);
  }
  V l;
  int64_t i;
  list_and_count(a, &l, &i, "nth");
  int64_t len = (int64_t)valk_list_len(l);
  if (i < 0 || i >= len) valk_raise("nth: index %lld out of range for list of length %lld", (long long)i, (long long)len);
  while (i-- > 0) l = CDR(l);
  return CAR(l);
}

static V bi_take(V *a, int n) {
  (void)n;
  V l;
  int64_t k;
  list_and_count(a, &l, &k, "take");
  ListB b;
  lb_init(&b);
  for (; k > 0 && IS_CONS(l); k--, l = CDR(l)) lb_add(&b, CAR(l));
  return b.head;
}

static V bi_drop(V *a, int n) {
  (void)n;
  V l;
  int64_t k;
  list_and_count(a, &l, &k, "drop");
  for (; k > 0 && IS_CONS(l); k--) l = CDR(l);
  return l;
}

static V bi_reverse(V *a, int n) {
  (void)n;
  if (IS(a[0], T_STR)) {
    Str *s = AS_STR(a[0]);
    V r = valk_str(s->s, s->len);
    for (size_t i = 0; i < s->len; i++) AS_STR(r)->s[i] = s->s[s->len - 1 - i];
    return r;
  }
  return valk_list_reverse(as_list(a[0], "reverse"));
}

/* (join l1 l2...) concatenates lists; (join s1 s2...) strings */
static V bi_join(V *a, int n) {
  if (n > 0 && IS(a[0], T_STR)) {
    Buf b;
    buf_init(&b, 64);
    for (int i = 0; i < n; i++) {
      Str *s = valk_arg_str(a, n, i, "join");
      buf_put(&b, s->s, s->len);
    }
    return buf_to_str(&b);
  }
  if (n == 0) return EMPTY;
  V result = as_list(a[n - 1], "join");
  for (int i = n - 2; i >= 0; i--) {
    V rev = valk_list_reverse(as_list(a[i], "join"));
    for (; IS_CONS(rev); rev = CDR(rev)) result = valk_cons(CAR(rev), result);
  }
  return result;
}

static V bi_map(V *a, int n) {
  V f = a[0];
  ListB b;
  lb_init(&b);
  if (n == 2) {
    for (V l = as_list(a[1], "map"); IS_CONS(l); l = CDR(l)) lb_add(&b, valk_apply(f, &CAR(l), 1));
    return b.head;
  }
  /* several lists: f gets one element of each, stops at the shortest */
  int k = n - 1;
  V ls[16], args[16];
  if (k > 16) valk_raise("map: at most 16 lists");
  for (int i = 0; i < k; i++) ls[i] = as_list(a[i + 1], "map");
  for (;;) {
    for (int i = 0; i < k; i++) {
      if (!IS_CONS(ls[i])) return b.head;
      args[i] = CAR(ls[i]);
      ls[i] = CDR(ls[i]);
    }
    lb_add(&b, valk_apply(f, args, k));
  }
}

static V bi_filter(V *a, int n) {
  (void)n;
  ListB b;
  lb_init(&b);
  for (V l = as_list(a[1], "filter"); IS_CONS(l); l = CDR(l))
    if (valk_truthy(valk_apply(a[0], &CAR(l), 1))) lb_add(&b, CAR(l));
  return b.head;
}

static V bi_remove(V *a, int n) {
  (void)n;
  ListB b;
  lb_init(&b);
  for (V l = as_list(a[1], "remove"); IS_CONS(l); l = CDR(l))
    if (!valk_truthy(valk_apply(a[0], &CAR(l), 1))) lb_add(&b, CAR(l));
  return b.head;
}

/* (foldl f init list) and (reduce f init list) / (reduce f list) */
static V fold(V f, V acc, V l) {
  for (; IS_CONS(l); l = CDR(l)) {
    V args[2] = {acc, CAR(l)};
    acc = valk_apply(f, args, 2);
  }
  return acc;
}

static V bi_foldl(V *a, int n) {
  (void)n;
  return fold(a[0], a[1], as_list(a[2], "foldl"));
}

static V bi_reduce(V *a, int n) {
  if (n == 3) return fold(a[0], a[1], as_list(a[2], "reduce"));
  V l = as_list(a[1], "reduce");
  if (l == EMPTY) return valk_apply(a[0], NULL, 0);
  return fold(a[0], CAR(l), CDR(l));
}

static V bi_range(V *a, int n) {
  int64_t start = 0, end, step = 1;
  if (n == 1) end = valk_arg_int(a, n, 0, "range");
  else {
    start = valk_arg_int(a, n, 0, "range");
    end = valk_arg_int(a, n, 1, "range");
    if (n == 3) step = valk_arg_int(a, n, 2, "range");
  }
  if (step == 0) valk_raise("range: step must not be 0");
  V out = EMPTY;
  /* build from the end so the list is made in one pass */
  if ((step > 0 && start >= end) || (step < 0 && start <= end)) return EMPTY;
  uint64_t count = step > 0 ? ((uint64_t)(end - start) + (uint64_t)step - 1) / (uint64_t)step
                            : ((uint64_t)(start - end) + (uint64_t)(-step) - 1) / (uint64_t)(-step);
  for (uint64_t i = count; i-- > 0;) out = valk_cons(valk_int(start + (int64_t)i * step), out);
  return out;
}

static V sort_less_fn;
static int sort_compare(V x, V y) {
  if (sort_less_fn) {
    V args[2] = {x, y};
    V r = valk_apply(sort_less_fn, args, 2);
    if (valk_is_number(r) && vtype(r) == T_INT) return (int)(valk_int_get(r) > 0) - (int)(valk_int_get(r) < 0);
    if (valk_truthy(r)) return -1;
    V rargs[2] = {y, x};
    return valk_truthy(valk_apply(sort_less_fn, rargs, 2)) ? 1 : 0;
  }
  if (IS(x, T_STR) && IS(y, T_STR)) {
    size_t m = AS_STR(x)->len < AS_STR(y)->len ? AS_STR(x)->len : AS_STR(y)->len;
    int c = memcmp(AS_STR(x)->s, AS_STR(y)->s, m);
    if (c) return c;
    return (AS_STR(x)->len > AS_STR(y)->len) - (AS_STR(x)->len < AS_STR(y)->len);
  }
  if (valk_is_number(x) && valk_is_number(y)) {
    double dx = valk_num_get(x), dy = valk_num_get(y);
    if (vtype(x) == T_INT && vtype(y) == T_INT) {
      int64_t ix = valk_int_get(x), iy = valk_int_get(y);
      return (ix > iy) - (ix < iy);
    }
    return (dx > dy) - (dx < dy);
  }
  if (IS(x, T_KW) && IS(y, T_KW)) return strcmp(AS_SYM(x)->name, AS_SYM(y)->name);
  valk_raise("sort: cannot compare %s with %s; pass a comparison function", valk_type_name(x), valk_type_name(y));
}

static void merge_sort(V *v, V *tmp, size_t n) {
  if (n < 2) return;
  size_t h = n / 2;
  merge_sort(v, tmp, h);
  merge_sort(v + h, tmp, n - h);
  size_t i = 0, j = h, k = 0;
  while (i < h && j < n) tmp[k++] = sort_compare(v[j], v[i]) < 0 ? v[j++] : v[i++];
  while (i < h) tmp[k++] = v[i++];
  while (j < n) tmp[k++] = v[j++];
  memcpy(v, tmp, n * sizeof(V));
}

typedef struct { V *v, *tmp; size_t n; } SortJob;
static void run_sort(void *ud) {
  SortJob *j = ud;
  merge_sort(j->v, j->tmp, j->n);
}

/* (sort list) natural order; (sort list less?) or (sort less? list) */
static V bi_sort(V *a, int n) {
  V l, f = NULL;
  if (n == 1) l = as_list(a[0], "sort");
  else if (valk_is_callable(a[0]) && !IS(a[0], T_MAP)) { f = a[0]; l = as_list(a[1], "sort"); }
  else { l = as_list(a[0], "sort"); f = a[1]; }
  size_t len = valk_list_len(l);
  V *v = valk_alloc((len ? len : 1) * sizeof(V));
  V *tmp = valk_alloc((len ? len : 1) * sizeof(V));
  size_t i = 0;
  for (; IS_CONS(l); l = CDR(l)) v[i++] = CAR(l);
  V saved = sort_less_fn;
  sort_less_fn = f;
  SortJob job = {v, tmp, len};
  V err = valk_pcall(run_sort, &job);
  sort_less_fn = saved;
  if (err) valk_throw(err);
  return valk_list_from(v, (int)len);
}

/* (apply f a b... list) */
static V bi_apply(V *a, int n) {
  V l = as_list(a[n - 1], "apply");
  int k = (int)valk_list_len(l) + (n - 2);
  V *args = valk_alloc((size_t)(k ? k : 1) * sizeof(V));
  int i = 0;
  for (int j = 1; j < n - 1; j++) args[i++] = a[j];
  for (; IS_CONS(l); l = CDR(l)) args[i++] = CAR(l);
  return valk_apply(a[0], args, k);
}

static V bi_member(V *a, int n) {
  (void)n;
  for (V l = as_list(a[1], "member?"); IS_CONS(l); l = CDR(l))
    if (valk_equal(a[0], CAR(l))) return VTRUE;
  return VFALSE;
}

static V bi_some(V *a, int n) {
  (void)n;
  for (V l = as_list(a[1], "some"); IS_CONS(l); l = CDR(l)) {
    V r = valk_apply(a[0], &CAR(l), 1);
    if (valk_truthy(r)) return r;
  }
  return NIL;
}

static V bi_every(V *a, int n) {
  (void)n;
  for (V l = as_list(a[1], "every?"); IS_CONS(l); l = CDR(l))
    if (!valk_truthy(valk_apply(a[0], &CAR(l), 1))) return VFALSE;
  return VTRUE;
}

static V bi_find(V *a, int n) {
  (void)n;
  for (V l = as_list(a[1], "find"); IS_CONS(l); l = CDR(l))
    if (valk_truthy(valk_apply(a[0], &CAR(l), 1))) return CAR(l);
  return NIL;
}

static const valk_reg list_fns[] = {
    {"list", bi_list, 0, -1, "(list x...) a list of the arguments"},
    {"cons", bi_cons, 2, 2, "(cons x list) list with x in front"},
    {"len", bi_len, 1, 1, "(len x) length of a list, string (bytes) or map"},
    {"count", bi_len, 1, 1, "(count x) same as len"},
    {"head", bi_head, 1, 1, "(head list) a list holding only the first element"},
    {"tail", bi_tail, 1, 1, "(tail list) the list without its first element"},
    {"first", bi_first, 1, 1, "(first list) the first element, nil when empty"},
    {"second", bi_second, 1, 1, "(second list) the second element, nil when absent"},
    {"rest", bi_rest, 1, 1, "(rest list) all but the first element, {} when empty"},
    {"last", bi_last, 1, 1, "(last list) the last element, nil when empty"},
    {"nth", bi_nth, 2, 2, "(nth list i) element at 0-based index i; (nth i list) also works"},
    {"take", bi_take, 2, 2, "(take n list) the first n elements"},
    {"drop", bi_drop, 2, 2, "(drop n list) all but the first n elements"},
    {"reverse", bi_reverse, 1, 1, "(reverse list-or-string)"},
    {"join", bi_join, 0, -1, "(join l1 l2...) concatenates lists, or strings"},
    {"concat", bi_join, 0, -1, "(concat l1 l2...) same as join"},
    {"map", bi_map, 2, -1, "(map f list...) list of f applied to each element"},
    {"filter", bi_filter, 2, 2, "(filter pred list) elements for which pred is true"},
    {"remove", bi_remove, 2, 2, "(remove pred list) elements for which pred is false"},
    {"foldl", bi_foldl, 3, 3, "(foldl f init list) left fold: (f (f init x1) x2)..."},
    {"reduce", bi_reduce, 2, 3, "(reduce f [init] list) left fold"},
    {"range", bi_range, 1, 3, "(range [start] end [step]) integers from start below end"},
    {"sort", bi_sort, 1, 2, "(sort list [less?]) stable sort, natural order by default"},
    {"apply", bi_apply, 2, -1, "(apply f args... list) calls f with the list spread as arguments"},
    {"member?", bi_member, 2, 2, "(member? x list) true when x is == to an element"},
    {"some", bi_some, 2, 2, "(some pred list) first truthy (pred x), or nil"},
    {"every?", bi_every, 2, 2, "(every? pred list) true when pred holds for all"},
    {"find", bi_find, 2, 2, "(find pred list) first element satisfying pred, or nil"},
    {NULL, NULL, 0, 0, NULL}};

void valk_list_register(void) { valk_register(list_fns); }
