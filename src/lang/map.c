/*
 * map.c - insertion-ordered hash maps.
 *
 * Entries are kept in insertion order in kv (key, value pairs), so
 * iteration, printing and JSON output keep the order the program built.
 * index is an open-addressing table (linear probing) of entry numbers; a
 * removed entry keeps its index slot (its key is NULL) so probe chains
 * stay intact until the next rebuild, which also compacts kv.
 *
 * Invariants: icap is a power of two and icap >= 2*cap, so the index is
 * never more than half full; used <= cap; count <= used.
 *
 * The "not yet inspected" mark (MAP_UNCHECKED, see valk.h) costs a test of
 * the header byte in every function that reads or changes a map; only
 * valk_map_peek and valk_map_unchecked leave it in place.
 */
#include "valk.h"

#include <string.h>

static uint32_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return (uint32_t)x;
}

/* Hashes agree with equality (valk_key_equal at the top, `==` inside
   lists and maps): nil and {} hash alike, true and false like 1 and 0, an
   integral float like the integer (so 0.0 and -0.0 agree), and a map by
   its entries in any order. */
uint32_t valk_hash(V v) {
  switch (vtype(v)) {
  case T_NIL: case T_EMPTY: return 0x9e3779b9u;
  case T_BOOL: return mix64(v == VTRUE);
  case T_INT: return mix64((uint64_t)valk_int_get(v));
  case T_FLOAT: {
    double d = ((Float *)v)->d;
    if (d >= -9.2e18 && d <= 9.2e18 && d == (double)(int64_t)d) return mix64((uint64_t)(int64_t)d);
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return mix64(bits);
  }
  case T_STR: {
    uint32_t h = 2166136261u;
    Str *s = AS_STR(v);
    for (size_t i = 0; i < s->len; i++) h = (h ^ (uint8_t)s->s[i]) * 16777619u;
    return h;
  }
  case T_SYM: case T_KW: return AS_SYM(v)->hash * 2654435761u + (uint32_t)v->type;
  case T_CONS: {
    valk_stack_check();
    uint32_t h = 7;
    for (; IS_CONS(v); v = CDR(v)) h = h * 31 + valk_hash(CAR(v));
    return h;
  }
  case T_MAP: {
    valk_stack_check();
    uint32_t h = 0x85ebca6bu;
    V k, val;
    for (uint32_t i = 0; valk_map_next(v, &i, &k, &val);) h += valk_hash(k) * 31 ^ valk_hash(val);
    return h;
  }
  case T_ERROR: return valk_hash(AS_ERR(v)->msg);
  default: return mix64((uint64_t)(uintptr_t)v);
  }
}

V valk_map_new(uint32_t cap) {
  Map *m = valk_alloc(sizeof(Map));
  m->h.type = T_MAP;
  if (cap < 4) cap = 4;
  m->cap = cap;
  m->kv = valk_alloc(2 * cap * sizeof(V));
  uint32_t icap = 8;
  while (icap < 2 * cap) icap *= 2;
  m->icap = icap;
  m->index = valk_alloc_atomic(icap * sizeof(int32_t));
  memset(m->index, 0xff, icap * sizeof(int32_t));
  return (V)m;
}

static int32_t find(Map *m, V key, uint32_t *slot) {
  uint32_t mask = m->icap - 1, j = valk_hash(key) & mask;
  for (;; j = (j + 1) & mask) {
    int32_t e = m->index[j];
    if (e < 0) { if (slot) *slot = j; return -1; }
    V k = m->kv[2 * e];
    if (k && valk_key_equal(k, key)) { if (slot) *slot = j; return e; }
  }
}

/* Rebuild kv without holes and with room for at least `need` entries. */
static void rebuild(Map *m, uint32_t need) {
  uint32_t cap = m->cap;
  while (cap < need * 2 && cap < need + 16) cap *= 2;
  if (cap < need) cap = need;
  V *kv = valk_alloc(2 * cap * sizeof(V));
  uint32_t n = 0;
  for (uint32_t i = 0; i < m->used; i++) {
    if (!m->kv[2 * i]) continue;
    kv[2 * n] = m->kv[2 * i];
    kv[2 * n + 1] = m->kv[2 * i + 1];
    n++;
  }
  uint32_t icap = 8;
  while (icap < 2 * cap) icap *= 2;
  int32_t *index = valk_alloc_atomic(icap * sizeof(int32_t));
  memset(index, 0xff, icap * sizeof(int32_t));
  for (uint32_t i = 0; i < n; i++) {
    uint32_t j = valk_hash(kv[2 * i]) & (icap - 1);
    while (index[j] >= 0) j = (j + 1) & (icap - 1);
    index[j] = (int32_t)i;
  }
  m->kv = kv;
  m->index = index;
  m->cap = cap;
  m->icap = icap;
  m->used = n;
  m->count = n;
}

static inline void touch(Map *m) {
  if (m->h.kind & MAP_UNCHECKED) m->h.kind &= (uint8_t)~MAP_UNCHECKED;
}

void valk_map_mark_unchecked(V mv) { AS_MAP(mv)->h.kind |= MAP_UNCHECKED; }
bool valk_map_unchecked(V mv) { return AS_MAP(mv)->h.kind & MAP_UNCHECKED; }

V valk_map_peek(V mv, V key, V dflt) {
  Map *m = AS_MAP(mv);
  int32_t e = find(m, key, NULL);
  return e < 0 ? dflt : m->kv[2 * e + 1];
}

V valk_map_get(V mv, V key, V dflt) {
  touch(AS_MAP(mv));
  return valk_map_peek(mv, key, dflt);
}

bool valk_map_has(V mv, V key) {
  touch(AS_MAP(mv));
  return find(AS_MAP(mv), key, NULL) >= 0;
}

void valk_map_set(V mv, V key, V val) {
  Map *m = AS_MAP(mv);
  touch(m);
  uint32_t slot;
  int32_t e = find(m, key, &slot);
  if (e >= 0) { m->kv[2 * e + 1] = val; return; }
  if (m->used == m->cap) {
    rebuild(m, m->count + 1);
    find(m, key, &slot);
  }
  VALK_ASSERT(m->used < m->cap && m->count <= m->used && !(m->icap & (m->icap - 1)) && m->icap >= 2 * m->cap,
              "a map has room for one more entry and an index at most half full");
  e = (int32_t)m->used++;
  m->kv[2 * e] = key;
  m->kv[2 * e + 1] = val;
  m->index[slot] = e;
  m->count++;
}

bool valk_map_del(V mv, V key) {
  Map *m = AS_MAP(mv);
  touch(m);
  int32_t e = find(m, key, NULL);
  if (e < 0) return false;
  m->kv[2 * e] = NULL;
  m->kv[2 * e + 1] = NULL;
  m->count--;
  return true;
}

V valk_map_copy(V mv) {
  Map *m = AS_MAP(mv);
  V c = valk_map_new(m->count);
  V k, v;
  for (uint32_t i = 0; valk_map_next(mv, &i, &k, &v);) valk_map_set(c, k, v);
  return c;
}

bool valk_map_next(V mv, uint32_t *i, V *k, V *v) {
  Map *m = AS_MAP(mv);
  touch(m);
  while (*i < m->used) {
    uint32_t e = (*i)++;
    if (m->kv[2 * e]) {
      *k = m->kv[2 * e];
      *v = m->kv[2 * e + 1];
      return true;
    }
  }
  return false;
}
