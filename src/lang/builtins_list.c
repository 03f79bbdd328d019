/*
 * builtins_list.c - list functions.
 *
 * Lists are immutable cons lists; nil is accepted wherever a list is and
 * behaves as the empty list. Functions that take a count and a list accept
 * both argument orders ((take 2 l) as in Valkyria, (take l 2) too), since
 * the types tell them apart; so does repeat. head and tail, as in upstream
 * Valkyria, are the first element and the rest and refuse an empty list;
 * first and rest are the forgiving versions.
 */
#include "valk.h"

#include <string.h>

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
  return valk_cons(a[0], valk_as_list(a[1], NULL, "cons"));
}

static V bi_len(V *a, int n) {
  (void)n;
  V v = a[0];
  if (IS(v, T_STR)) return valk_int((int64_t)AS_STR(v)->len);
  if (IS(v, T_MAP)) return valk_int(AS_MAP(v)->count);
  return valk_int((int64_t)valk_list_len(valk_as_list(v, NULL, "len")));
}

static V bi_head(V *a, int n) {
  (void)n;
  V l = valk_as_list(a[0], NULL, "head");
  if (l == EMPTY) valk_raise("head: empty list");
  return CAR(l);
}

static V bi_tail(V *a, int n) {
  (void)n;
  V l = valk_as_list(a[0], NULL, "tail");
  if (l == EMPTY) valk_raise("tail: empty list");
  return CDR(l);
}

static V bi_first(V *a, int n) {
  (void)n;
  if (IS(a[0], T_STR)) return AS_STR(a[0])->len ? valk_str(AS_STR(a[0])->s, 1) : NIL;
  V l = valk_as_list(a[0], NULL, "first");
  return l == EMPTY ? NIL : CAR(l);
}

static V bi_second(V *a, int n) {
  (void)n;
  V l = valk_as_list(a[0], NULL, "second");
  return IS_CONS(l) && IS_CONS(CDR(l)) ? CAR(CDR(l)) : NIL;
}

static V bi_rest(V *a, int n) {
  (void)n;
  V l = valk_as_list(a[0], NULL, "rest");
  return l == EMPTY ? EMPTY : CDR(l);
}

static V bi_last(V *a, int n) {
  (void)n;
  V l = valk_as_list(a[0], NULL, "last");
  if (l == EMPTY) return NIL;
  while (IS_CONS(CDR(l))) l = CDR(l);
  return CAR(l);
}

static V bi_init(V *a, int n) {
  (void)n;
  V l = valk_as_list(a[0], NULL, "init");
  if (l == EMPTY) valk_raise("init: empty list");
  ListB b;
  lb_init(&b);
  for (; IS_CONS(CDR(l)); l = CDR(l)) lb_add(&b, CAR(l));
  return b.head;
}

/* Splits (f n list) / (f list n) into the list and the count. */
static void list_and_count(V *a, V *l, int64_t *k, const char *who) {
  if (vtype(a[0]) == T_INT) { *k = valk_int_get(a[0]); *l = valk_as_list(a[1], NULL, who); return; }
  if (vtype(a[1]) != T_INT) valk_raise("%s: expected an integer and a list", who);
  *k = valk_int_get(a[1]);
  *l = valk_as_list(a[0], NULL, who);
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
  return valk_list_reverse(valk_as_list(a[0], NULL, "reverse"));
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
  V result = valk_as_list(a[n - 1], NULL, "join");
  for (int i = n - 2; i >= 0; i--) {
    V rev = valk_list_reverse(valk_as_list(a[i], NULL, "join"));
    for (; IS_CONS(rev); rev = CDR(rev)) result = valk_cons(CAR(rev), result);
  }
  return result;
}

static V bi_map(V *a, int n) {
  V f = a[0];
  ListB b;
  lb_init(&b);
  if (n == 2) {
    for (V l = valk_as_list(a[1], NULL, "map"); IS_CONS(l); l = CDR(l)) lb_add(&b, valk_apply(f, &CAR(l), 1));
    return b.head;
  }
  /* several lists: f gets one element of each, stops at the shortest */
  int k = n - 1;
  V ls[16], args[16];
  if (k > 16) valk_raise("map: at most 16 lists");
  for (int i = 0; i < k; i++) ls[i] = valk_as_list(a[i + 1], NULL, "map");
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
  for (V l = valk_as_list(a[1], NULL, "filter"); IS_CONS(l); l = CDR(l))
    if (valk_truthy(valk_apply(a[0], &CAR(l), 1))) lb_add(&b, CAR(l));
  return b.head;
}

static V bi_remove(V *a, int n) {
  (void)n;
  ListB b;
  lb_init(&b);
  for (V l = valk_as_list(a[1], NULL, "remove"); IS_CONS(l); l = CDR(l))
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
  return fold(a[0], a[1], valk_as_list(a[2], NULL, "foldl"));
}

static V bi_reduce(V *a, int n) {
  if (n == 3) return fold(a[0], a[1], valk_as_list(a[2], NULL, "reduce"));
  V l = valk_as_list(a[1], NULL, "reduce");
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

/* (repeat f n) calls f with 0..n-1 and lists the results, as upstream
   Valkyria does; (repeat n x) with x not a function lists n copies of x.
   Either order works, like take and nth. */
static V bi_repeat(V *a, int n) {
  (void)n;
  V x;
  int64_t k;
  if (vtype(a[0]) == T_INT) { k = valk_int_get(a[0]); x = a[1]; }
  else if (vtype(a[1]) == T_INT) { k = valk_int_get(a[1]); x = a[0]; }
  else valk_raise("repeat: expected a count and a function or value, got %s and %s", valk_type_name(a[0]),
                  valk_type_name(a[1]));
  if (k < 0) valk_raise("repeat: count must not be negative, got %lld", (long long)k);
  bool call = IS(x, T_BUILTIN) || IS(x, T_LAMBDA);
  ListB b;
  lb_init(&b);
  for (int64_t i = 0; i < k; i++) {
    V iv = valk_int(i);
    lb_add(&b, call ? valk_apply(x, &iv, 1) : x);
  }
  return b.head;
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
  return valk_compare(x, y, "sort");
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
  if (n == 1) l = valk_as_list(a[0], NULL, "sort");
  else if (valk_is_callable(a[0]) && !IS(a[0], T_MAP)) { f = a[0]; l = valk_as_list(a[1], NULL, "sort"); }
  else { l = valk_as_list(a[0], NULL, "sort"); f = a[1]; }
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
  V l = valk_as_list(a[n - 1], NULL, "apply");
  int k = (int)valk_list_len(l) + (n - 2);
  V *args = valk_alloc((size_t)(k ? k : 1) * sizeof(V));
  int i = 0;
  for (int j = 1; j < n - 1; j++) args[i++] = a[j];
  for (; IS_CONS(l); l = CDR(l)) args[i++] = CAR(l);
  return valk_apply(a[0], args, k);
}

static V bi_member(V *a, int n) {
  (void)n;
  for (V l = valk_as_list(a[1], NULL, "member?"); IS_CONS(l); l = CDR(l))
    if (valk_equal(a[0], CAR(l))) return VTRUE;
  return VFALSE;
}

static V bi_some(V *a, int n) {
  (void)n;
  for (V l = valk_as_list(a[1], NULL, "some"); IS_CONS(l); l = CDR(l)) {
    V r = valk_apply(a[0], &CAR(l), 1);
    if (valk_truthy(r)) return r;
  }
  return NIL;
}

static V bi_every(V *a, int n) {
  (void)n;
  for (V l = valk_as_list(a[1], NULL, "every?"); IS_CONS(l); l = CDR(l))
    if (!valk_truthy(valk_apply(a[0], &CAR(l), 1))) return VFALSE;
  return VTRUE;
}

static V bi_find(V *a, int n) {
  (void)n;
  for (V l = valk_as_list(a[1], NULL, "find"); IS_CONS(l); l = CDR(l))
    if (valk_truthy(valk_apply(a[0], &CAR(l), 1))) return CAR(l);
  return NIL;
}

static const valk_reg list_fns[] = {
    {"list", bi_list, 0, -1, "(list x...) a list of the arguments"},
    {"cons", bi_cons, 2, 2, "(cons x list) list with x in front"},
    {"len", bi_len, 1, 1, "(len x) length of a list, string (bytes) or map"},
    {"count", bi_len, 1, 1, "(count x) same as len"},
    {"head", bi_head, 1, 1, "(head list) the first element; an error when the list is empty"},
    {"tail", bi_tail, 1, 1, "(tail list) the list without its first element"},
    {"first", bi_first, 1, 1, "(first list) the first element, nil when empty"},
    {"second", bi_second, 1, 1, "(second list) the second element, nil when absent"},
    {"rest", bi_rest, 1, 1, "(rest list) all but the first element, {} when empty"},
    {"last", bi_last, 1, 1, "(last list) the last element, nil when empty"},
    {"init", bi_init, 1, 1, "(init list) all but the last element; an error when the list is empty"},
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
    {"repeat", bi_repeat, 2, 2, "(repeat f n) list of (f 0) ... (f n-1); (repeat n x) list of n copies of x when x is not a function"},
    {"range", bi_range, 1, 3, "(range [start] end [step]) integers from start below end"},
    {"sort", bi_sort, 1, 2, "(sort list [less?]) stable sort, natural order by default"},
    {"apply", bi_apply, 2, -1, "(apply f args... list) calls f with the list spread as arguments"},
    {"member?", bi_member, 2, 2, "(member? x list) true when x is == to an element"},
    {"some", bi_some, 2, 2, "(some pred list) first truthy (pred x), or nil"},
    {"every?", bi_every, 2, 2, "(every? pred list) true when pred holds for all"},
    {"find", bi_find, 2, 2, "(find pred list) first element satisfying pred, or nil"},
    {NULL, NULL, 0, 0, NULL}};

void valk_list_register(void) { valk_register(list_fns); }
