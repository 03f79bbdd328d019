/*
 * yaml.c - YAML with libyaml (yaml/parse, yaml/parse-all, yaml/stringify).
 *
 * Parsing walks libyaml's event stream and turns every event into Valkyria
 * values at once, so no value is ever held only in libyaml's malloc()ed
 * memory. Mappings become insertion-ordered maps with keyword keys,
 * sequences become lists, and plain scalars are typed by the YAML 1.2 core
 * schema (null, true/false, decimal/0o/0x integers, floats with .inf and
 * .nan); quoted and block scalars are strings. Anchors are document scoped
 * and an alias gives the very value of its anchor. The merge key `<<`
 * (a mapping or a list of mappings) is supported: explicit keys win, and
 * earlier merged mappings win over later ones.
 *
 * The whole walk runs under valk_pcall so that the parser and the current
 * event are freed on every path, errors included, before the error is
 * raised again.
 *
 * Stringify feeds libyaml's emitter (block style, two-space indent, no line
 * folding). A string is written plain only when yaml/parse would read the
 * plain text back as that same string; otherwise it is quoted (the emitter
 * picks single or double quotes). Multi-line strings use literal blocks.
 */
#include "sys.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 1000

/* ------------------------------------------------------------------ */
/* scalar resolution (YAML 1.2 core schema)                             */

static bool all_in(const char *s, size_t n, const char *set) {
  if (n == 0) return false;
  for (size_t i = 0; i < n; i++)
    if (!s[i] || !strchr(set, s[i])) return false;
  return true;
}

static bool is_one_of(const char *s, size_t n, const char *const *words) {
  for (; *words; words++)
    if (strlen(*words) == n && memcmp(*words, s, n) == 0) return true;
  return false;
}

static const char *const null_words[] = {"null", "Null", "NULL", "~", NULL};
static const char *const true_words[] = {"true", "True", "TRUE", NULL};
static const char *const false_words[] = {"false", "False", "FALSE", NULL};
static const char *const inf_words[] = {".inf", ".Inf", ".INF", NULL};
static const char *const nan_words[] = {".nan", ".NaN", ".NAN", NULL};

/* Unsigned digits in base 8 or 16; an integer when it fits in 64 bits
   signed, otherwise the nearest float. */
static V based_int(const char *s, size_t n, int base) {
  uint64_t u = 0;
  double d = 0;
  bool big = false;
  for (size_t i = 0; i < n; i++) {
    int c = (unsigned char)s[i];
    int dv = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    d = d * base + dv;
    if (u > (UINT64_MAX - (uint64_t)dv) / (uint64_t)base) big = true;
    else u = u * (uint64_t)base + (uint64_t)dv;
  }
  if (big || u > (uint64_t)INT64_MAX) return valk_float(d);
  return valk_int((int64_t)u);
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool is_float_text(const char *s, size_t n) {
  size_t i = 0;
  if (i < n && (s[i] == '-' || s[i] == '+')) i++;
  size_t int_digits = 0, frac_digits = 0;
  while (i < n && s[i] >= '0' && s[i] <= '9') i++, int_digits++;
  if (i < n && s[i] == '.') {
    i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, frac_digits++;
    if (int_digits == 0 && frac_digits == 0) return false;
  } else if (int_digits == 0) {
    return false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '-' || s[i] == '+')) i++;
    size_t exp_digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, exp_digits++;
    if (exp_digits == 0) return false;
  }
  return i == n;
}

/* Returns the typed value of a plain scalar, or NULL when it is a string. */
static V resolve_plain(const char *s, size_t n) {
  if (n == 0 || is_one_of(s, n, null_words)) return NIL;
  if (is_one_of(s, n, true_words)) return VTRUE;
  if (is_one_of(s, n, false_words)) return VFALSE;
  if (memchr(s, '\0', n)) return NULL;
  /* decimal integer */
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i < n && all_in(s + i, n - i, "0123456789")) {
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE) return valk_float(strtod(s, NULL));
    return valk_int(v);
  }
  if (n > 2 && s[0] == '0' && s[1] == 'o' && all_in(s + 2, n - 2, "01234567")) return based_int(s + 2, n - 2, 8);
  if (n > 2 && s[0] == '0' && s[1] == 'x' && all_in(s + 2, n - 2, "0123456789abcdefABCDEF"))
    return based_int(s + 2, n - 2, 16);
  if (is_float_text(s, n)) return valk_float(strtod(s, NULL));
  i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (is_one_of(s + i, n - i, inf_words)) return valk_float(s[0] == '-' ? -INFINITY : INFINITY);
  if (is_one_of(s, n, nan_words)) return valk_float(NAN);
  return NULL;
}

/* ------------------------------------------------------------------ */
/* parsing                                                              */

typedef struct {
  yaml_parser_t parser;
  yaml_event_t ev;
  bool have_ev;
  V text;        /* the input string (keeps it alive) */
  V anchors;     /* map: anchor name (string) -> value */
  V anchor_keys; /* map: anchor name -> key text, for scalar anchors */
  V result;
  bool all;      /* yaml/parse-all: always a list of documents */
  int depth;
} YP;

static void mark_pos(YP *p, yaml_mark_t m, size_t *line, size_t *col) {
  (void)p;
  *line = m.line + 1;
  *col = m.column + 1;
}

/* line and column of a byte offset (reader errors only give an offset) */
static void offset_pos(YP *p, size_t off, size_t *line, size_t *col) {
  Str *s = AS_STR(p->text);
  if (off > s->len) off = s->len;
  *line = 1;
  *col = 1;
  for (size_t i = 0; i < off; i++) {
    if (s->s[i] == '\n') (*line)++, *col = 1;
    else if (((unsigned char)s->s[i] & 0xC0) != 0x80) (*col)++;
  }
}

static _Noreturn void parse_error(YP *p) {
  yaml_parser_t *ps = &p->parser;
  size_t line, col;
  const char *problem = ps->problem ? ps->problem : "invalid YAML";
  if (ps->error == YAML_READER_ERROR) {
    offset_pos(p, ps->problem_offset, &line, &col);
    if (ps->problem_value != -1)
      valk_raise("yaml/parse: %s (0x%X) at line %zu column %zu", problem, (unsigned)ps->problem_value, line, col);
    valk_raise("yaml/parse: %s at line %zu column %zu", problem, line, col);
  }
  if (ps->error == YAML_MEMORY_ERROR) valk_raise("yaml/parse: out of memory");
  mark_pos(p, ps->problem_mark, &line, &col);
  if (ps->context) {
    size_t cline, ccol;
    mark_pos(p, ps->context_mark, &cline, &ccol);
    valk_raise("yaml/parse: %s at line %zu column %zu (%s at line %zu column %zu)", problem, line, col,
               ps->context, cline, ccol);
  }
  valk_raise("yaml/parse: %s at line %zu column %zu", problem, line, col);
}

static _Noreturn void error_at(YP *p, yaml_mark_t m, const char *what) {
  size_t line, col;
  mark_pos(p, m, &line, &col);
  valk_raise("yaml/parse: %s at line %zu column %zu", what, line, col);
}

static void next_event(YP *p) {
  if (p->have_ev) {
    yaml_event_delete(&p->ev);
    p->have_ev = false;
  }
  if (!yaml_parser_parse(&p->parser, &p->ev)) parse_error(p);
  p->have_ev = true;
}

static V copy_anchor(yaml_char_t *a) { return a ? valk_cstr((const char *)a) : NULL; }

#define TAG_PREFIX "tag:yaml.org,2002:"

/* Value of the scalar event p->ev. */
static V scalar_value(YP *p) {
  yaml_event_t *e = &p->ev;
  const char *s = (const char *)e->data.scalar.value;
  size_t n = e->data.scalar.length;
  const char *tag = (const char *)e->data.scalar.tag;
  bool plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
  if (tag) {
    if (strcmp(tag, "!") == 0 || strcmp(tag, TAG_PREFIX "str") == 0) return valk_str(s, n);
    const char *want = NULL;
    int wt = 0;
    if (strcmp(tag, TAG_PREFIX "int") == 0) want = "integer", wt = T_INT;
    else if (strcmp(tag, TAG_PREFIX "float") == 0) want = "float", wt = T_FLOAT;
    else if (strcmp(tag, TAG_PREFIX "bool") == 0) want = "boolean", wt = T_BOOL;
    else if (strcmp(tag, TAG_PREFIX "null") == 0) want = "null", wt = T_NIL;
    if (want) {
      V v = resolve_plain(s, n);
      if (v && wt == T_FLOAT && vtype(v) == T_INT) v = valk_float((double)valk_int_get(v));
      if (!v || vtype(v) != wt) {
        char msg[200];
        snprintf(msg, sizeof msg, "!!%s value \"%.*s\" is not %s %s", tag + strlen(TAG_PREFIX),
                 n > 40 ? 40 : (int)n, s, wt == T_INT ? "an" : "a", want);
        error_at(p, e->start_mark, msg);
      }
      return v;
    }
    /* any other tag (e.g. GitLab's !reference) is ignored */
  }
  if (plain) {
    V v = resolve_plain(s, n);
    if (v) return v;
  }
  return valk_str(s, n);
}

static void remember(YP *p, V anchor, V value, V key_text) {
  if (!anchor) return;
  valk_map_set(p->anchors, anchor, value);
  if (key_text) valk_map_set(p->anchor_keys, anchor, key_text);
  else valk_map_del(p->anchor_keys, anchor);
}

static V node(YP *p);

/* Adds the entries of merge source src (a map) to out unless present. */
static void merge_into(V out, V src) {
  V k, v;
  for (uint32_t i = 0; valk_map_next(src, &i, &k, &v);)
    if (!valk_map_has(out, k)) valk_map_set(out, k, v);
}

static V mapping(YP *p) {
  V anchor = copy_anchor(p->ev.data.mapping_start.anchor);
  V m = valk_map_new(8);
  V merges = EMPTY; /* merge sources, last first */
  for (;;) {
    next_event(p);
    yaml_event_t *e = &p->ev;
    if (e->type == YAML_MAPPING_END_EVENT) break;
    yaml_mark_t key_mark = e->start_mark;
    V key = NULL;
    bool merge = false;
    if (e->type == YAML_SCALAR_EVENT) {
      const char *s = (const char *)e->data.scalar.value;
      size_t n = e->data.scalar.length;
      merge = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !e->data.scalar.tag && n == 2 && memcmp(s, "<<", 2) == 0;
      key = valk_kw_n(s, n);
      V anchor_k = copy_anchor(e->data.scalar.anchor);
      if (anchor_k) remember(p, anchor_k, scalar_value(p), valk_str(s, n));
    } else if (e->type == YAML_ALIAS_EVENT) {
      V name = valk_cstr((const char *)e->data.alias.anchor);
      V text = valk_map_get(p->anchor_keys, name, NULL);
      if (!text) {
        if (valk_map_has(p->anchors, name)) error_at(p, key_mark, "mapping keys must be scalars, not a mapping or sequence");
        char msg[160];
        snprintf(msg, sizeof msg, "undefined alias *%.100s", AS_STR(name)->s);
        error_at(p, key_mark, msg);
      }
      key = valk_kw_n(AS_STR(text)->s, AS_STR(text)->len);
    } else {
      error_at(p, key_mark, "mapping keys must be scalars, not a mapping or sequence");
    }
    next_event(p);
    yaml_mark_t value_mark = p->ev.start_mark;
    V value = node(p);
    if (merge) {
      if (IS(value, T_MAP)) {
        merges = valk_cons(value, merges);
      } else if (IS_CONS(value)) {
        V rev = EMPTY;
        for (V l = value; IS_CONS(l); l = CDR(l)) {
          if (!IS(CAR(l), T_MAP)) error_at(p, value_mark, "merge key << needs a mapping or a list of mappings");
          rev = valk_cons(CAR(l), rev);
        }
        /* keep "last first" order overall: prepend in reverse */
        for (V l = valk_list_reverse(rev); IS_CONS(l); l = CDR(l)) merges = valk_cons(CAR(l), merges);
      } else {
        error_at(p, value_mark, "merge key << needs a mapping or a list of mappings");
      }
      continue;
    }
    if (valk_map_has(m, key)) {
      char msg[160];
      snprintf(msg, sizeof msg, "duplicate key %.100s", AS_SYM(key)->name);
      error_at(p, key_mark, msg);
    }
    valk_map_set(m, key, value);
  }
  if (merges != EMPTY) {
    V out = valk_map_new(AS_MAP(m)->count + 8);
    /* merges holds the sources last first; earlier sources win */
    for (V l = valk_list_reverse(merges); IS_CONS(l); l = CDR(l)) merge_into(out, CAR(l));
    V k, v;
    for (uint32_t i = 0; valk_map_next(m, &i, &k, &v);) valk_map_set(out, k, v);
    m = out;
  }
  remember(p, anchor, m, NULL);
  return m;
}

static V sequence(YP *p) {
  V anchor = copy_anchor(p->ev.data.sequence_start.anchor);
  V items = EMPTY;
  for (;;) {
    next_event(p);
    if (p->ev.type == YAML_SEQUENCE_END_EVENT) break;
    items = valk_cons(node(p), items);
  }
  V l = valk_list_reverse(items);
  remember(p, anchor, l, NULL);
  return l;
}

/* The node starting at the current event; leaves its last event current. */
static V node(YP *p) {
  yaml_event_t *e = &p->ev;
  switch (e->type) {
  case YAML_SCALAR_EVENT: {
    V anchor = copy_anchor(e->data.scalar.anchor);
    V v = scalar_value(p);
    if (anchor) remember(p, anchor, v, valk_str((const char *)e->data.scalar.value, e->data.scalar.length));
    return v;
  }
  case YAML_ALIAS_EVENT: {
    V name = valk_cstr((const char *)e->data.alias.anchor);
    V v = valk_map_get(p->anchors, name, NULL);
    if (!v) {
      char msg[160];
      snprintf(msg, sizeof msg, "undefined alias *%.100s", AS_STR(name)->s);
      error_at(p, e->start_mark, msg);
    }
    return v;
  }
  case YAML_SEQUENCE_START_EVENT:
  case YAML_MAPPING_START_EVENT: {
    valk_stack_check();
    if (++p->depth > MAX_DEPTH) error_at(p, e->start_mark, "nesting deeper than 1000 levels");
    V v = e->type == YAML_MAPPING_START_EVENT ? mapping(p) : sequence(p);
    p->depth--;
    return v;
  }
  default:
    error_at(p, e->start_mark, "unexpected event");
  }
}

static void run_parse(void *ud) {
  YP *p = ud;
  next_event(p); /* STREAM-START */
  V docs = EMPTY;
  size_t count = 0;
  for (;;) {
    next_event(p);
    if (p->ev.type == YAML_STREAM_END_EVENT) break;
    /* DOCUMENT-START; anchors are scoped to their document */
    p->anchors = valk_map_new(8);
    p->anchor_keys = valk_map_new(8);
    next_event(p);
    V doc = node(p);
    next_event(p); /* DOCUMENT-END */
    docs = valk_cons(doc, docs);
    count++;
  }
  if (p->all) p->result = valk_list_reverse(docs);
  else if (count == 0) p->result = NIL;
  else if (count == 1) p->result = CAR(docs);
  else p->result = valk_list_reverse(docs);
}

static V parse(V *a, int n, const char *who, bool all) {
  Str *s = valk_arg_str(a, n, 0, who);
  YP p;
  memset(&p, 0, sizeof p);
  p.text = (V)s;
  p.anchors = valk_map_new(8);
  p.anchor_keys = valk_map_new(8);
  p.all = all;
  if (!yaml_parser_initialize(&p.parser)) valk_raise("%s: out of memory", who);
  yaml_parser_set_input_string(&p.parser, (const unsigned char *)s->s, s->len);
  V err = valk_pcall(run_parse, &p);
  if (p.have_ev) yaml_event_delete(&p.ev);
  yaml_parser_delete(&p.parser);
  if (err) {
    /* yaml/parse-all reports its own name */
    if (all && IS(AS_ERR(err)->msg, T_STR) && strncmp(AS_STR(AS_ERR(err)->msg)->s, "yaml/parse:", 11) == 0)
      AS_ERR(err)->msg = valk_strf("yaml/parse-all:%s", AS_STR(AS_ERR(err)->msg)->s + 11);
    valk_throw(err);
  }
  return p.result;
}

static V bi_parse(V *a, int n) { return parse(a, n, "yaml/parse", false); }
static V bi_parse_all(V *a, int n) { return parse(a, n, "yaml/parse-all", true); }

/* ------------------------------------------------------------------ */
/* stringify                                                            */

typedef struct {
  yaml_emitter_t em;
  Buf out;
  V value;
} YE;

static int write_out(void *data, unsigned char *buffer, size_t size) {
  buf_put((Buf *)data, (const char *)buffer, size);
  return 1;
}

static void emit(YE *y, yaml_event_t *ev, bool made) {
  if (!made) valk_raise("yaml/stringify: out of memory");
  if (!yaml_emitter_emit(&y->em, ev))
    valk_raise("yaml/stringify: %s", y->em.problem ? y->em.problem : "emitter error");
}

static bool valid_utf8(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    size_t k;
    uint32_t cp;
    if (c < 0x80) { i++; continue; }
    if ((c & 0xE0) == 0xC0) k = 1, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) k = 2, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) k = 3, cp = c & 0x07;
    else return false;
    for (size_t j = 1; j <= k; j++) {
      if (i + j >= n || (s[i + j] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + j] & 0x3F);
    }
    if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += k + 1;
  }
  return true;
}

/* YAML 1.1 booleans: quoted too, so that other YAML readers agree. */
static const char *const yaml11_words[] = {"yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off",
                                           "OFF", "y", "Y", "n", "N", NULL};

/* Must the string s be quoted so that it reads back as a string? */
static bool needs_quotes(const char *s, size_t n) {
  if (resolve_plain(s, n)) return true;
  if (is_one_of(s, n, yaml11_words)) return true;
  if (n == 2 && memcmp(s, "<<", 2) == 0) return true;
  /* number-like text in other YAML dialects: 1_000, 0b101, 1:30, 0777 */
  if (strchr("0123456789+-.", s[0]) && all_in(s, n, "0123456789abcdefABCDEFxXoO_:.+-")) return true;
  return false;
}

static void emit_string(YE *y, const char *s, size_t n, bool is_key) {
  if (n > INT32_MAX) valk_raise("yaml/stringify: string too long");
  if (!valid_utf8((const unsigned char *)s, n)) valk_raise("yaml/stringify: string is not valid UTF-8");
  bool plain_ok = !needs_quotes(s, n);
  yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;
  if (!is_key && memchr(s, '\n', n)) {
    /* literal block unless it has characters a block cannot hold */
    bool printable = true;
    for (size_t i = 0; i < n && printable; i++) {
      unsigned char c = (unsigned char)s[i];
      if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F) printable = false;
      if (c == '\r') printable = false;
    }
    /* trailing spaces before a line break are not allowed in blocks */
    for (size_t i = 0; i + 1 < n && printable; i++)
      if ((s[i] == ' ' || s[i] == '\t') && s[i + 1] == '\n') printable = false;
    if (printable) style = YAML_LITERAL_SCALAR_STYLE;
  }
  yaml_event_t ev;
  emit(y, &ev,
       yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)n, plain_ok, 1, style));
}

static void emit_plain(YE *y, const char *s) {
  yaml_event_t ev;
  emit(y, &ev, yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 0,
                                            YAML_PLAIN_SCALAR_STYLE));
}

static void emit_scalar(YE *y, V v, bool is_key) {
  switch (vtype(v)) {
  case T_NIL: emit_plain(y, "null"); return;
  case T_BOOL: emit_plain(y, v == VTRUE ? "true" : "false"); return;
  case T_INT: {
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)valk_int_get(v));
    emit_plain(y, num);
    return;
  }
  case T_FLOAT: {
    double d = ((Float *)v)->d;
    if (isnan(d)) emit_plain(y, ".nan");
    else if (isinf(d)) emit_plain(y, d < 0 ? "-.inf" : ".inf");
    else {
      Buf b;
      buf_init(&b, 32);
      valk_format_float(&b, d);
      buf_putc(&b, '\0');
      emit_plain(y, b.s);
    }
    return;
  }
  case T_STR: emit_string(y, AS_STR(v)->s, AS_STR(v)->len, is_key); return;
  case T_KW:
  case T_SYM: emit_string(y, AS_SYM(v)->name, AS_SYM(v)->len, is_key); return;
  default:
    if (is_key) valk_raise("yaml/stringify: map keys must be keywords, strings, numbers or booleans, got %s",
                           valk_type_name(v));
    valk_raise("yaml/stringify: cannot write a %s as YAML", valk_type_name(v));
  }
}

static void emit_node(YE *y, V v, int depth) {
  valk_stack_check();
  if (depth > MAX_DEPTH) valk_raise("yaml/stringify: nesting deeper than 1000 levels (is the value cyclic?)");
  yaml_event_t ev;
  if (IS(v, T_MAP)) {
    emit(y, &ev, yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE));
    V k, x;
    for (uint32_t i = 0; valk_map_next(v, &i, &k, &x);) {
      if (IS(k, T_MAP) || IS_CONS(k) || k == EMPTY)
        valk_raise("yaml/stringify: map keys must be keywords, strings, numbers or booleans, got %s",
                   valk_type_name(k));
      emit_scalar(y, k, true);
      emit_node(y, x, depth + 1);
    }
    emit(y, &ev, yaml_mapping_end_event_initialize(&ev));
  } else if (IS_LIST(v)) {
    emit(y, &ev, yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE));
    for (V l = v; IS_CONS(l); l = CDR(l)) emit_node(y, CAR(l), depth + 1);
    emit(y, &ev, yaml_sequence_end_event_initialize(&ev));
  } else {
    emit_scalar(y, v, false);
  }
}

static void run_emit(void *ud) {
  YE *y = ud;
  yaml_event_t ev;
  emit(y, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
  emit(y, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1));
  emit_node(y, y->value, 0);
  emit(y, &ev, yaml_document_end_event_initialize(&ev, 1));
  emit(y, &ev, yaml_stream_end_event_initialize(&ev));
  if (!yaml_emitter_flush(&y->em)) valk_raise("yaml/stringify: %s", y->em.problem ? y->em.problem : "write error");
}

static V bi_stringify(V *a, int n) {
  (void)n;
  YE y;
  memset(&y, 0, sizeof y);
  y.value = a[0];
  buf_init(&y.out, 256);
  if (!yaml_emitter_initialize(&y.em)) valk_raise("yaml/stringify: out of memory");
  yaml_emitter_set_output(&y.em, write_out, &y.out);
  yaml_emitter_set_unicode(&y.em, 1);
  yaml_emitter_set_indent(&y.em, 2);
  yaml_emitter_set_width(&y.em, -1);
  yaml_emitter_set_break(&y.em, YAML_LN_BREAK);
  V err = valk_pcall(run_emit, &y);
  yaml_emitter_delete(&y.em);
  if (err) valk_throw(err);
  /* a plain scalar document ends with an explicit "..." marker: drop it */
  if (y.out.len >= 4 && memcmp(y.out.s + y.out.len - 4, "...\n", 4) == 0 &&
      (y.out.len == 4 || y.out.s[y.out.len - 5] == '\n'))
    y.out.len -= 4;
  return buf_to_str(&y.out);
}

static const valk_reg yaml_fns[] = {
    {"yaml/parse", bi_parse, 1, 1,
     "(yaml/parse text) value of a YAML document (maps with keyword keys, lists, core-schema scalars); "
     "a stream of several documents gives a list of them"},
    {"yaml/parse-all", bi_parse_all, 1, 1, "(yaml/parse-all text) list of the documents of a YAML stream"},
    {"yaml/stringify", bi_stringify, 1, 1, "(yaml/stringify v) block-style YAML text that yaml/parse reads back as v"},
    {NULL, NULL, 0, 0, NULL}};

void valk_yaml_register(void) { valk_register(yaml_fns); }
