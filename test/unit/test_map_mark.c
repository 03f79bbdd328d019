/* test_map_mark.c - the "not yet inspected" mark of maps (src/lang/map.c):
   every lookup, change and iteration clears it, peeking does not. The
   runtime relies on exactly this to tell a failed process result nobody
   looked at (src/rt/unchecked.c). */
#include "unit.h"

static V marked(void) {
  V m = valk_map_new(4);
  valk_map_set(m, valk_kw("exit-code"), valk_int(2));
  valk_map_mark_unchecked(m);
  return m;
}

static void test_peek_keeps_the_mark(void) {
  V m = marked();
  CHECK(valk_map_unchecked(m));
  CHECK(valk_map_peek(m, valk_kw("exit-code"), NIL) == valk_int(2));
  CHECK(valk_map_peek(m, valk_kw("absent"), NIL) == NIL);
  CHECK(valk_map_unchecked(m));
}

static void test_every_access_clears_it(void) {
  V m = marked();
  CHECK(valk_map_get(m, valk_kw("exit-code"), NIL) == valk_int(2));
  CHECK(!valk_map_unchecked(m));
  m = marked();
  CHECK(valk_map_has(m, valk_kw("nope")) == false);
  CHECK(!valk_map_unchecked(m));
  m = marked();
  valk_map_set(m, valk_kw("seen"), VTRUE);
  CHECK(!valk_map_unchecked(m));
  m = marked();
  valk_map_del(m, valk_kw("nope"));
  CHECK(!valk_map_unchecked(m));
  m = marked();
  uint32_t i = 0;
  V k, v;
  CHECK(valk_map_next(m, &i, &k, &v));
  CHECK(!valk_map_unchecked(m));
  m = marked();
  CHECK_STR_EQ(valk_repr_c(m), "{:exit-code 2}");
  CHECK(!valk_map_unchecked(m));
}

static void test_a_copy_is_not_marked(void) {
  V c = valk_map_copy(marked());
  CHECK(!valk_map_unchecked(c));
}

UNIT_MAIN(T(test_peek_keeps_the_mark), T(test_every_access_clears_it), T(test_a_copy_is_not_marked))
