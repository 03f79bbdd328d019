/* test_gc.c - unit tests for the collector glue (src/lang/gc.c): live
   values survive collections, garbage is reclaimed. Runs in stress mode
   (VALK_GC_STRESS=1, a collection every few allocations). */
#include "unit.h"

#include <gc/gc.h>
#include <stdlib.h>

#ifdef __SANITIZE_ADDRESS__ /* gcc -fsanitize=address */
#define UNDER_ASAN 1
#endif

static void enable_stress(void) {
  setenv("VALK_GC_STRESS", "1", 1);
  /* a collection costs ~40x more under ASan (it scans the sanitizer's
     large data segments): collect less often there */
#ifdef UNDER_ASAN
  if (!getenv("VALK_GC_STRESS_INTERVAL")) setenv("VALK_GC_STRESS_INTERVAL", "256", 1);
#endif
}

/* Allocates about `bytes` of short-lived objects and drops them. */
static __attribute__((noinline)) void churn(size_t bytes) {
  size_t done = 0;
  for (int i = 0; done < bytes; i++) {
    V s = valk_strf("garbage-%d-%0200d", i, i);
    V l = valk_list(3, s, valk_float(i), valk_cons(s, EMPTY));
    done += AS_STR(s)->len + 200;
    (void)l;
  }
}

static bool str_is(V v, const char *want) {
  return v && IS(v, T_STR) && AS_STR(v)->len == strlen(want) && strcmp(AS_STR(v)->s, want) == 0;
}

static void test_stress_mode_on(void) {
  CHECK(valk_gc_stress_interval() > 0);
  size_t before = valk_gc_count();
  churn(256 << 10);
  CHECK(valk_gc_count() > before + 10); /* stress mode collects often */
  before = valk_gc_count();
  valk_gc_collect();
  CHECK(valk_gc_count() == before + 1);
}

/* Values held only in C locals survive. */
static void test_reachable_from_locals(void) {
  enum { N = 2000 };
  V *keep = valk_alloc(N * sizeof(V)); /* GC memory held by a local */
  V str = valk_cstr("only in a local");
  V fl = valk_float(2.5);
  V big = valk_int(INT64_MAX - 1);
  for (int i = 0; i < N; i++) keep[i] = valk_strf("item-%d", i);
  churn(512 << 10);
  valk_gc_collect();
  churn(256 << 10);
  CHECK(str_is(str, "only in a local"));
  CHECK(IS(fl, T_FLOAT) && ((Float *)fl)->d == 2.5);
  CHECK(vtype(big) == T_INT && valk_int_get(big) == INT64_MAX - 1);
  int bad = 0;
  char want[32];
  for (int i = 0; i < N; i++) {
    snprintf(want, sizeof want, "item-%d", i);
    bad += !str_is(keep[i], want);
  }
  CHECK_INT_EQ(bad, 0);
}

/* Values reachable only through a list: car chains and nesting. */
static void test_reachable_from_list(void) {
  enum { N = 2000 };
  V l = EMPTY;
  for (int i = 0; i < N; i++) l = valk_cons(valk_list(2, valk_strf("s%d", i), valk_float(i + 0.5)), l);
  V nested = EMPTY;
  for (int i = 0; i < 1000; i++) nested = valk_list(2, valk_int(i), nested);
  churn(512 << 10);
  valk_gc_collect();
  churn(256 << 10);
  int bad = 0, i = N - 1;
  char want[32];
  for (V c = l; IS_CONS(c); c = CDR(c), i--) {
    snprintf(want, sizeof want, "s%d", i);
    V e = CAR(c);
    bad += !str_is(CAR(e), want) || ((Float *)CAR(CDR(e)))->d != i + 0.5;
  }
  CHECK_INT_EQ(i, -1);
  CHECK_INT_EQ(bad, 0);
  i = 999;
  for (V c = nested; IS_CONS(c); c = CAR(CDR(c)), i--) bad += valk_int_get(CAR(c)) != i;
  CHECK_INT_EQ(i, -1);
  CHECK_INT_EQ(bad, 0);
}

/* Keys and values reachable only through a map, across rehashes,
   deletions and rebuilds that happen while collections run. */
static void test_reachable_from_map(void) {
  enum { N = 2000 };
  V m = valk_map_new(0);
  for (int i = 0; i < N; i++) valk_map_set(m, valk_strf("key-%d", i), valk_list(1, valk_strf("val-%d", i)));
  for (int i = 0; i < N; i += 2) valk_map_del(m, valk_strf("key-%d", i));
  for (int i = 0; i < N / 2; i++) valk_map_set(m, valk_int(i), valk_strf("num-%d", i)); /* forces rebuilds */
  churn(512 << 10);
  valk_gc_collect();
  churn(256 << 10);
  CHECK_INT_EQ(AS_MAP(m)->count, N / 2 + N / 2);
  int bad = 0;
  char want[32];
  for (int i = 1; i < N; i += 2) {
    snprintf(want, sizeof want, "val-%d", i);
    V v = valk_map_get(m, valk_strf("key-%d", i), NULL);
    bad += !v || !IS_CONS(v) || !str_is(CAR(v), want);
    bad += valk_map_has(m, valk_strf("key-%d", i - 1));
  }
  for (int i = 0; i < N / 2; i++) {
    snprintf(want, sizeof want, "num-%d", i);
    bad += !str_is(valk_map_get(m, valk_int(i), NULL), want);
  }
  CHECK_INT_EQ(bad, 0);
  /* iteration order survives too: odd string keys first, then numbers */
  uint32_t it = 0;
  V k, v;
  CHECK(valk_map_next(m, &it, &k, &v) && str_is(k, "key-1"));
}

/* Values reachable only from a global binding, and forms read and
   evaluated while collections run. */
static void test_reachable_from_globals_and_eval(void) {
  valk_def_global("gc-test-global", valk_list(2, valk_cstr("g"), valk_float(1.25)));
  const char *src =
      "(defun gc-build [n acc] (if (== n 0) acc (gc-build (- n 1) (cons (str \"x\" n) acc))))\n"
      "(def {gc-l} (gc-build 3000 {}))\n"
      "(def {gc-m} {:a (list 1 2 3) :b \"bee\"})\n"
      "[(len gc-l) (nth gc-l 2999) (:b gc-m) (foldl + 0 (map (fn [s] (len s)) gc-l))]";
  V r = valk_eval_string(src, strlen(src), "gc.valk");
  churn(512 << 10);
  valk_gc_collect();
  CHECK_STR_EQ(valk_repr_c(r), "{3000 \"x3000\" \"bee\" 13893}");
  V g = valk_lookup(valk_sym("gc-test-global"), NULL);
  CHECK(g && str_is(CAR(g), "g") && ((Float *)CAR(CDR(g)))->d == 1.25);
  const char *check = "[(len gc-l) (first gc-l) (:a gc-m)]";
  CHECK_STR_EQ(valk_repr_c(valk_eval_string(check, strlen(check), "gc.valk")), "{3000 \"x1\" {1 2 3}}");
}

/* Strings built through Buf (printer) and the reader under collection. */
static void test_reader_and_printer_under_gc(void) {
  Buf b;
  buf_init(&b, 16);
  for (int i = 0; i < 1000; i++) buf_printf(&b, "(f%d \"s%d\" %d.5 :k%d) ", i, i, i, i);
  V text = buf_to_str(&b);
  Reader r;
  valk_reader_init(&r, AS_STR(text)->s, AS_STR(text)->len, "gc.valk");
  V forms = EMPTY;
  for (V f; (f = valk_read(&r));) forms = valk_cons(f, forms);
  forms = valk_list_reverse(forms);
  churn(512 << 10);
  valk_gc_collect();
  Buf out;
  buf_init(&out, 16);
  for (V l = forms; IS_CONS(l); l = CDR(l)) {
    V s = valk_repr(CAR(l)); /* a top-level S-expression prints as {...} */
    buf_putc(&out, '(');
    buf_put(&out, AS_STR(s)->s + 1, AS_STR(s)->len - 2);
    buf_puts(&out, ") ");
  }
  V printed = buf_to_str(&out);
  CHECK(AS_STR(printed)->len == AS_STR(text)->len);
  CHECK(memcmp(AS_STR(printed)->s, AS_STR(text)->s, AS_STR(text)->len) == 0);
}

/* Garbage is reclaimed: after ~200 MB of short-lived strings the heap
   stays bounded. */
static void test_garbage_reclaimed(void) {
  valk_gc_collect();
  size_t before = valk_gc_heap_size();
  size_t collections = valk_gc_count();
  size_t total = 0, peak = before;
  static char chunk[16384];
  memset(chunk, 'z', sizeof chunk);
  for (int i = 0; total < (200u << 20); i++) {
    size_t n = 4096 + (size_t)(i % 4) * 4096 + (i % 7 == 0 ? 64 * 1024 : 0);
    V s;
    if (n <= sizeof chunk) s = valk_str(chunk, n);
    else {
      char *big = valk_alloc_atomic(n);
      memset(big, 'y', n);
      s = valk_str(big, n);
    }
    total += n;
    if (i % 1024 == 0) {
      size_t h = valk_gc_heap_size();
      if (h > peak) peak = h;
    }
    (void)s;
  }
  valk_gc_collect();
  size_t after = valk_gc_heap_size();
  if (after > peak) peak = after;
  fprintf(stderr, "  gc: allocated %zu MB, heap %zu KB -> %zu KB (peak %zu KB), %zu collections\n",
          total >> 20, before >> 10, after >> 10, peak >> 10, valk_gc_count() - collections);
  CHECK(valk_gc_count() > collections);
  CHECK(peak < before + (32u << 20));
}

/* Unreachable objects are actually freed: disappearing links (kept in
   malloc memory, which the collector does not scan) get cleared. */
static __attribute__((noinline)) void make_garbage_links(void **links, int n) {
  for (int i = 0; i < n; i++) {
    V v = valk_list(2, valk_strf("weak-%d", i), valk_float(i));
    links[i] = v; /* malloc memory: not a root */
    GC_general_register_disappearing_link(&links[i], v);
  }
}

static void test_unreachable_freed(void) {
  enum { N = 1000 };
  void **links = calloc(N, sizeof *links);
  make_garbage_links(links, N);
  churn(256 << 10);
  valk_gc_collect();
  valk_gc_collect();
  int cleared = 0;
  for (int i = 0; i < N; i++) cleared += links[i] == NULL;
  for (int i = 0; i < N; i++) if (links[i]) GC_unregister_disappearing_link(&links[i]);
  free(links);
  /* the collector is conservative: allow a few false retentions */
  CHECK(cleared >= N * 9 / 10);
}

UNIT_MAIN_PRE(enable_stress, T(test_stress_mode_on), T(test_reachable_from_locals), T(test_reachable_from_list),
              T(test_reachable_from_map), T(test_reachable_from_globals_and_eval),
              T(test_reader_and_printer_under_gc), T(test_garbage_reclaimed), T(test_unreachable_freed))
