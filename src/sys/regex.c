/*
 * regex.c - regular expressions with PCRE2 (str/match, str/match-all,
 * str/replace-regex, str/matches?).
 *
 * Character semantics. A pattern that is valid UTF-8 is compiled in UTF
 * mode with PCRE2_MATCH_INVALID_UTF, so `.`, classes and quantifiers work
 * on whole characters of UTF-8 text, and subjects that are not valid UTF-8
 * still match (an invalid byte never matches any pattern item). A pattern
 * that is not valid UTF-8 (it holds raw bytes such as "\xff") is compiled
 * in byte mode, where every byte is one character. Offsets and results are
 * always byte slices of the subject, so the results are substrings of it.
 * \w, \d, \s and \b stay ASCII (no PCRE2_UCP): "\d" never matches a
 * non-ASCII digit in a version string.
 *
 * Compiled patterns are cached: CACHE_SIZE entries keyed by the pattern's
 * bytes and its mode, least recently used evicted. Compiled code and the
 * keys are malloc()ed and hold no Valkyria values; match data is created
 * and freed within each call, before any error is raised.
 *
 * JIT is used when pcre2_jit_compile() succeeds; a match that runs out of
 * JIT stack is retried by the interpreter (PCRE2_NO_JIT).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "sys.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SIZE 64

typedef struct {
  char *key;         /* pattern bytes (malloc), NULL for a free slot */
  size_t klen;
  uint32_t hash;
  bool utf;          /* compiled in UTF mode */
  bool raw;          /* the pattern is not valid UTF-8 (so byte mode) */
  pcre2_code *code;
  uint32_t ncap;     /* number of capture groups */
  uint64_t used;     /* LRU clock */
} Entry;

static Entry cache[CACHE_SIZE];
static uint64_t cache_clock;

static uint32_t hash_bytes(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

static bool is_utf_error(int rc) { return rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21; }

static const char *pcre_message(int rc, char *buf, size_t n) {
  if (pcre2_get_error_message(rc, (PCRE2_UCHAR *)buf, n) < 0) snprintf(buf, n, "PCRE2 error %d", rc);
  return buf;
}

/* The compiled form of pattern p; byte mode when want_utf is false or the
   pattern is not valid UTF-8. Raises for an invalid pattern. A pattern
   found not to be UTF-8 is cached as such, so later calls find it on the
   first pass without another failed UTF compile. */
static Entry *compile(Str *p, bool want_utf, const char *who) {
  uint32_t h = hash_bytes(p->s, p->len);
  for (int pass = 0; pass < 2; pass++) {
    bool utf = want_utf && pass == 0;
    for (int i = 0; i < CACHE_SIZE; i++) {
      Entry *e = &cache[i];
      if (e->key && e->hash == h && (e->utf == utf || (want_utf && e->raw)) && e->klen == p->len &&
          memcmp(e->key, p->s, p->len) == 0) {
        e->used = ++cache_clock;
        return e;
      }
    }
    int err;
    PCRE2_SIZE off;
    uint32_t opts = utf ? PCRE2_UTF | PCRE2_MATCH_INVALID_UTF : 0;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)p->s, p->len, opts, &err, &off, NULL);
    if (!code) {
      if (utf && is_utf_error(err)) continue; /* raw bytes: use byte mode */
      char msg[256];
      valk_raise("%s: invalid regular expression %s: %s at offset %zu", who, valk_repr_c((V)p),
                 pcre_message(err, msg, sizeof msg), (size_t)off);
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); /* falls back to the interpreter on failure */
    char *key = malloc(p->len ? p->len : 1);
    if (!key) {
      pcre2_code_free(code);
      valk_raise("%s: out of memory", who);
    }
    memcpy(key, p->s, p->len);
    Entry *e = &cache[0];
    for (int i = 0; i < CACHE_SIZE; i++) {
      if (!cache[i].key) { e = &cache[i]; break; }
      if (cache[i].used < e->used) e = &cache[i];
    }
    if (e->key) {
      free(e->key);
      pcre2_code_free(e->code);
    }
    uint32_t ncap = 0;
    pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &ncap);
    *e = (Entry){key, p->len, h, utf, want_utf && !utf, code, ncap, ++cache_clock};
    return e;
  }
  return NULL; /* not reached: a byte-mode compile never gives a UTF error */
}

static pcre2_match_data *new_match_data(Entry *e, const char *who) {
  pcre2_match_data *md = pcre2_match_data_create_from_pattern(e->code, NULL);
  if (!md) valk_raise("%s: out of memory", who);
  return md;
}

/* pcre2_match; on an error other than no match, frees md and raises */
static int match_at(Entry *e, Str *s, size_t off, uint32_t opts, pcre2_match_data *md, const char *who) {
  int rc = pcre2_match(e->code, (PCRE2_SPTR)s->s, s->len, off, opts, md, NULL);
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
    rc = pcre2_match(e->code, (PCRE2_SPTR)s->s, s->len, off, opts | PCRE2_NO_JIT, md, NULL);
  if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
    pcre2_match_data_free(md);
    char msg[256];
    valk_raise("%s: matching %s failed: %s", who, valk_repr_c(valk_str(e->key, e->klen)),
               pcre_message(rc, msg, sizeof msg));
  }
  return rc;
}

/* The groups of the match in md as a list (the whole match when the
   pattern has no groups); unset groups are nil. */
static V groups(Entry *e, Str *s, int rc, pcre2_match_data *md) {
  PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
  uint32_t first = e->ncap ? 1 : 0, last = e->ncap;
  V out = EMPTY;
  for (uint32_t g = last + 1; g-- > first;) {
    V item = NIL;
    if ((int)g < rc && ov[2 * g] != PCRE2_UNSET && ov[2 * g] <= ov[2 * g + 1])
      item = valk_str(s->s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
    out = valk_cons(item, out);
  }
  return out;
}

/* Matches a[1] against a[0] from the start; the caller frees *md. */
static int first_match(V *a, int n, const char *who, Entry **e, Str **s, pcre2_match_data **md) {
  *s = valk_arg_str(a, n, 0, who);
  Str *p = valk_arg_str(a, n, 1, who);
  *e = compile(p, true, who);
  *md = new_match_data(*e, who);
  return match_at(*e, *s, 0, 0, *md, who);
}

/* (str/match s pattern) */
static V bi_match(V *a, int n) {
  Entry *e;
  Str *s;
  pcre2_match_data *md;
  int rc = first_match(a, n, "str/match", &e, &s, &md);
  V r = rc < 0 ? NIL : groups(e, s, rc, md);
  pcre2_match_data_free(md);
  return r;
}

/* (str/matches? s pattern) */
static V bi_matches(V *a, int n) {
  Entry *e;
  Str *s;
  pcre2_match_data *md;
  int rc = first_match(a, n, "str/matches?", &e, &s, &md);
  pcre2_match_data_free(md);
  return BOOL(rc >= 0);
}

/* (str/match-all s pattern) every non-overlapping match, left to right.
   After an empty match the next search must not be empty at the same
   place (PCRE2_NOTEMPTY_ATSTART), so "x*" on "ab" gives three empty
   matches, at 0, 1 and 2, and the loop always advances. */
static V bi_match_all(V *a, int n) {
  Str *s = valk_arg_str(a, n, 0, "str/match-all");
  Str *p = valk_arg_str(a, n, 1, "str/match-all");
  Entry *e = compile(p, true, "str/match-all");
  pcre2_match_data *md = new_match_data(e, "str/match-all");
  PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
  V out = EMPTY;
  size_t off = 0;
  bool was_empty = false;
  while (off <= s->len) {
    int rc = match_at(e, s, off, was_empty ? PCRE2_NOTEMPTY_ATSTART : 0, md, "str/match-all");
    if (rc < 0) break;
    size_t start = ov[0], end = ov[1];
    if (end < start || end < off || (was_empty && end == off)) break; /* \K oddities: stop */
    out = valk_cons(groups(e, s, rc, md), out);
    was_empty = start == end;
    off = end;
  }
  pcre2_match_data_free(md);
  return valk_list_reverse(out);
}

/* (str/replace-regex s pattern replacement) every match replaced */
static V bi_replace_regex(V *a, int n) {
  static const char *who = "str/replace-regex";
  Str *s = valk_arg_str(a, n, 0, who);
  Str *p = valk_arg_str(a, n, 1, who);
  Str *r = valk_arg_str(a, n, 2, who);
  Entry *e = compile(p, true, who);
  uint32_t opts = PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_EXTENDED | PCRE2_SUBSTITUTE_UNSET_EMPTY |
                  PCRE2_SUBSTITUTE_OVERFLOW_LENGTH;
  PCRE2_SIZE cap = s->len + s->len / 4 + 64;
  for (int tries = 0;; tries++) {
    char *out = valk_alloc_atomic(cap);
    PCRE2_SIZE outlen = cap;
    int rc = pcre2_substitute(e->code, (PCRE2_SPTR)s->s, s->len, 0, opts, NULL, NULL, (PCRE2_SPTR)r->s, r->len,
                              (PCRE2_UCHAR *)out, &outlen);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT && !(opts & PCRE2_NO_JIT)) { opts |= PCRE2_NO_JIT; continue; }
    if (rc == PCRE2_ERROR_NOMEMORY && outlen != PCRE2_UNSET && outlen >= cap && tries < 4) {
      cap = outlen + 1;
      continue;
    }
    if (is_utf_error(rc) && e->utf) { e = compile(p, false, who); continue; } /* replacement is raw bytes */
    if (rc < 0) {
      char msg[256];
      pcre_message(rc, msg, sizeof msg);
      if (outlen != PCRE2_UNSET && outlen <= r->len)
        valk_raise("%s: invalid replacement %s: %s at offset %zu", who, valk_repr_c((V)r), msg, (size_t)outlen);
      valk_raise("%s: %s", who, msg);
    }
    return valk_str(out, outlen);
  }
}

static const valk_reg regex_fns[] = {
    {"str/match", bi_match, 2, 2,
     "(str/match s pattern) list of the capture groups of the first match (the whole match when the "
     "pattern has no groups; nil for an unset group), or nil when pattern does not match"},
    {"str/match-all", bi_match_all, 2, 2,
     "(str/match-all s pattern) list of every non-overlapping match, each as str/match gives it"},
    {"str/replace-regex", bi_replace_regex, 3, 3,
     "(str/replace-regex s pattern replacement) every match replaced; $0..$9, ${n} and ${name} insert groups, "
     "$$ a dollar, \\ escapes"},
    {"str/matches?", bi_matches, 2, 2, "(str/matches? s pattern) true when pattern matches somewhere in s"},
    {NULL, NULL, 0, 0, NULL}};

void valk_regex_register(void) { valk_register(regex_fns); }
