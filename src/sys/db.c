/*
 * db.c - SQLite databases (db/...), for the CI run store.
 *
 * A database is a native handle around one sqlite3 connection, opened in
 * WAL mode so a second process (valk ci history while a server runs) can
 * read while runs are written. Statements take parameters (?
 * placeholders) bound from values: integers, floats, strings, nil,
 * booleans (as 1/0); user input never goes into SQL text. Queries return
 * a list of maps with keyword column names.
 *
 * Calls run on the loop thread: store writes are small and WAL appends
 * are cheap. SQLite's busy timeout is 0, because its busy handler sleeps
 * the thread and would stop the whole loop: a statement that finds the
 * database locked parks its fiber for a while (1 ms, doubling to 64 ms)
 * and tries again, for at most BUSY_TOTAL_MS in all.
 *
 * A statement is held across calls that can raise (binding, building
 * rows, the fiber sleeping while the database is busy, a cancel), so it
 * is run inside valk_pcall and released on every path.
 *
 * Preparing costs more than running a store's small statements (a third
 * of the CI engine's instructions per run went to sqlite3_prepare_v2), so
 * each database keeps the last STMT_CACHE single statements it prepared,
 * keyed by their text. A statement is taken out of the cache while it
 * runs (a second fiber running the same text meanwhile prepares its own)
 * and put back reset, its bindings cleared; the oldest one is finalized
 * to make room. SQLite re-prepares a cached statement by itself after a
 * schema change.
 */
#include "sys.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUSY_TOTAL_MS 5000
#define STMT_CACHE 32

typedef struct {
  char *sql; /* malloc'd copy of the text, owned by the entry */
  size_t len;
  sqlite3_stmt *st;
} CachedStmt;

typedef struct {
  sqlite3 *db;
  V path;
  CachedStmt cache[STMT_CACHE]; /* oldest first; empty entries (st NULL) last */
} Db;

/* Finalizes every cached statement and frees its text. */
static void cache_clear(Db *d) {
  for (int i = 0; i < STMT_CACHE; i++) {
    if (d->cache[i].st) sqlite3_finalize(d->cache[i].st);
    free(d->cache[i].sql);
    d->cache[i] = (CachedStmt){NULL, 0, NULL};
  }
}

/* The cached statement for sql, taken out of the cache, or NULL. */
static sqlite3_stmt *cache_take(Db *d, const char *sql, size_t len) {
  for (int i = STMT_CACHE - 1; i >= 0; i--) {
    CachedStmt *c = &d->cache[i];
    if (c->st && c->len == len && !memcmp(c->sql, sql, len)) {
      sqlite3_stmt *st = c->st;
      free(c->sql);
      memmove(c, c + 1, (size_t)(STMT_CACHE - 1 - i) * sizeof *c);
      d->cache[STMT_CACHE - 1] = (CachedStmt){NULL, 0, NULL};
      return st;
    }
  }
  return NULL;
}

/* Puts st (prepared from sql) back as the newest entry, reset and
   unbound; the oldest entry is finalized when the cache is full. Takes
   ownership of st. */
static void cache_put(Db *d, const char *sql, size_t len, sqlite3_stmt *st) {
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  char *copy = d->db ? malloc(len + 1) : NULL;
  if (!copy) { /* closed meanwhile, or no memory: not cached */
    sqlite3_finalize(st);
    return;
  }
  memcpy(copy, sql, len);
  copy[len] = '\0';
  int i = 0;
  while (i < STMT_CACHE && d->cache[i].st) i++;
  if (i == STMT_CACHE) { /* full: drop the oldest */
    sqlite3_finalize(d->cache[0].st);
    free(d->cache[0].sql);
    memmove(d->cache, d->cache + 1, (STMT_CACHE - 1) * sizeof d->cache[0]);
    i = STMT_CACHE - 1;
  }
  d->cache[i] = (CachedStmt){copy, len, st};
}

/* An unreachable database closes its connection (db/close sets db to
   NULL first). sqlite3_close_v2 defers the close while statements are
   open; none are once the handle is unreachable, since a running
   statement's caller holds the handle. */
static void db_finalize(void *ptr) {
  Db *d = ptr;
  cache_clear(d);
  if (d->db) sqlite3_close_v2(d->db);
  d->db = NULL;
}

static const valk_native_type db_type = {"database", db_finalize};

static Db *db_arg(V v, const char *who) {
  Db *d = valk_native_check(v, &db_type, who, 0);
  if (!d->db) valk_raise("%s: the database is closed", who);
  return d;
}

/* The one error sequence: "who: [what: ]SQLite's message". db may be
   NULL (then the message of rc). */
static _Noreturn void db_raise(sqlite3 *db, int rc, const char *who, const char *what) {
  const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if (what) valk_raise("%s: %s: %s", who, what, msg);
  valk_raise("%s: %s", who, msg);
}

/* Waits before the next try on a busy database; raises once the total
   wait would pass BUSY_TOTAL_MS. Outside a task (start-up code) nothing
   else runs, so the thread itself sleeps. */
static void busy_wait(Db *d, int *waited_ms, const char *who) {
  int ms = *waited_ms < 1 ? 1 : *waited_ms > 64 ? 64 : *waited_ms;
  if (*waited_ms + ms > BUSY_TOTAL_MS) valk_raise("%s: database is locked (waited %d ms)", who, *waited_ms);
  *waited_ms += ms;
  if (valk_task_current()) valk_task_sleep((uint64_t)ms);
  else nanosleep(&(struct timespec){0, ms * 1000000L}, NULL);
  if (!d->db) valk_raise("%s: the database was closed", who);
}

static V bi_close(V *a, int n) {
  (void)n;
  Db *d = db_arg(a[0], "db/close");
  cache_clear(d);
  sqlite3_close_v2(d->db);
  d->db = NULL;
  return NIL;
}

static void bind_all(sqlite3_stmt *st, V *a, int n, const char *who) {
  int want = sqlite3_bind_parameter_count(st);
  if (want != n)
    valk_raise("%s: the statement has %d parameter%s, got %d value%s", who, want, want == 1 ? "" : "s", n, n == 1 ? "" : "s");
  for (int i = 0; i < n; i++) {
    V v = a[i];
    int rc;
    switch (vtype(v)) {
    case T_NIL: case T_EMPTY: rc = sqlite3_bind_null(st, i + 1); break;
    case T_BOOL: rc = sqlite3_bind_int(st, i + 1, v == VTRUE); break;
    case T_INT: rc = sqlite3_bind_int64(st, i + 1, valk_int_get(v)); break;
    case T_FLOAT: rc = sqlite3_bind_double(st, i + 1, valk_num_get(v)); break;
    case T_STR: rc = sqlite3_bind_text(st, i + 1, AS_STR(v)->s, (int)AS_STR(v)->len, SQLITE_TRANSIENT); break;
    case T_KW: rc = sqlite3_bind_text(st, i + 1, AS_SYM(v)->name, -1, SQLITE_TRANSIENT); break;
    default:
      valk_raise("%s: cannot store a %s in the database (parameter %d)", who, valk_type_name(v), i + 1);
    }
    if (rc != SQLITE_OK) db_raise(sqlite3_db_handle(st), rc, who, "binding a parameter");
  }
}

static V column(sqlite3_stmt *st, int i) {
  switch (sqlite3_column_type(st, i)) {
  case SQLITE_INTEGER: return valk_int(sqlite3_column_int64(st, i));
  case SQLITE_FLOAT: return valk_float(sqlite3_column_double(st, i));
  case SQLITE_NULL: return NIL;
  default: {
    const void *p = sqlite3_column_blob(st, i);
    int len = sqlite3_column_bytes(st, i);
    return valk_str(p ? p : "", (size_t)len);
  }
  }
}

/* One call: the statements of sql run in turn (only the first when
   params are given, or rows are wanted), st is the one being run. */
typedef struct {
  Db *d;
  Str *sql;
  V *params;
  int nparams;
  bool want_rows, several;
  const char *who;
  sqlite3_stmt *st;
  bool cacheable; /* st stands for the whole text: run() caches it */
  V rows;         /* reversed rows of the last statement */
} Run;

static void run_body(void *ud);

/* Runs r; the statement goes back to the cache (one statement) or is
   finalized (several) whether run_body returns or raises. */
static void run(Run *r) {
  V err = valk_pcall(run_body, r);
  if (r->st) {
    if (r->cacheable) cache_put(r->d, r->sql->s, r->sql->len, r->st);
    else sqlite3_finalize(r->st);
  }
  r->st = NULL;
  if (err) valk_throw(err);
}

static void run_body(void *ud) {
  Run *r = ud;
  Db *d = r->d;
  const char *sql = r->sql->s, *end = sql + r->sql->len;
  int waited = 0;
  while (sql < end) {
    const char *tail;
    int rc;
    r->st = sql == r->sql->s ? cache_take(d, sql, (size_t)(end - sql)) : NULL;
    tail = end;
    if (!r->st)
      while ((rc = sqlite3_prepare_v2(d->db, sql, (int)(end - sql), &r->st, &tail)) == SQLITE_BUSY) busy_wait(d, &waited, r->who);
    else
      rc = SQLITE_OK;
    /* the first statement, and the only one that runs (or is there) */
    r->cacheable = r->st && sql == r->sql->s && (!r->several || tail == end);
    if (rc != SQLITE_OK) db_raise(d->db, rc, r->who, r->several ? NULL : r->sql->s);
    if (!r->st) {
      if (!r->several) valk_raise("%s: empty statement", r->who);
      break; /* only comments or spaces left */
    }
    bind_all(r->st, r->params, r->nparams, r->who);
    int cols = r->want_rows ? sqlite3_column_count(r->st) : 0;
    V names[cols ? cols : 1];
    for (int i = 0; i < cols; i++) names[i] = valk_kw(sqlite3_column_name(r->st, i));
    r->rows = EMPTY;
    while ((rc = sqlite3_step(r->st)) != SQLITE_DONE) {
      if (rc == SQLITE_BUSY) {
        sqlite3_reset(r->st); /* start the statement over */
        r->rows = EMPTY;
        busy_wait(d, &waited, r->who);
        continue;
      }
      if (rc != SQLITE_ROW) db_raise(d->db, rc, r->who, NULL);
      if (!r->want_rows) continue;
      V m = valk_map_new((uint32_t)cols);
      for (int i = 0; i < cols; i++) valk_map_set(m, names[i], column(r->st, i));
      r->rows = valk_cons(m, r->rows);
    }
    if (r->cacheable) break; /* run() puts the statement back */
    sqlite3_finalize(r->st);
    r->st = NULL;
    sql = tail;
  }
}

/* (db/open path) opens or creates a database in WAL mode */
static V bi_open(V *a, int n) {
  Str *path = valk_arg_str(a, n, 0, "db/open");
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2(path->s, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    V msg = valk_cstr(db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    valk_raise("db/open: %s: %s", path->s, AS_STR(msg)->s);
  }
  Db *d = valk_alloc(sizeof *d);
  d->db = db;
  d->path = (V)path;
  V h = valk_native(&db_type, d, (V)path);
  Run r = {d, AS_STR(valk_cstr("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")),
           NULL, 0, false, true, AS_STR(valk_strf("db/open: %s", path->s))->s, NULL, false, EMPTY};
  V err = valk_pcall(run_body, &r);
  if (r.st) sqlite3_finalize(r.st);
  if (err) {
    db_finalize(d);
    valk_throw(err);
  }
  return h;
}

/* (db/query db sql params...) list of rows as maps */
static V bi_query(V *a, int n) {
  Run r = {db_arg(a[0], "db/query"), valk_arg_str(a, n, 1, "db/query"), a + 2, n - 2, true, false, "db/query", NULL, false, EMPTY};
  run(&r);
  return valk_list_reverse(r.rows);
}

/* (db/exec db sql params...) runs a statement (without parameters, the
   text may hold several: a schema); returns the number of rows changed
   (and, for an INSERT, the new row id through db/last-id) */
static V bi_exec(V *a, int n) {
  Run r = {db_arg(a[0], "db/exec"), valk_arg_str(a, n, 1, "db/exec"), a + 2, n - 2, false, n == 2, "db/exec", NULL, false, EMPTY};
  run(&r);
  return valk_int(sqlite3_changes(r.d->db));
}

static V bi_last_id(V *a, int n) {
  (void)n;
  return valk_int(sqlite3_last_insert_rowid(db_arg(a[0], "db/last-id")->db));
}

static const valk_reg db_fns[] = {
    {"db/open", bi_open, 1, 1, "(db/open path) opens or creates an SQLite database (WAL mode)"},
    {"db/close", bi_close, 1, 1, "(db/close db) closes the database"},
    {"db/exec", bi_exec, 2, -1, "(db/exec db sql params...) runs a statement; rows changed"},
    {"db/query", bi_query, 2, -1, "(db/query db sql params...) rows as maps with keyword column names"},
    {"db/last-id", bi_last_id, 1, 1, "(db/last-id db) row id of the last INSERT"},
    {NULL, NULL, 0, 0, NULL}};

void valk_db_register(void) { valk_register(db_fns); }
