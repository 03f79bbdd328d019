/*
 * server.c - HTTP/1.1 server on the event loop (http/server).
 *
 * Requests are parsed with llhttp (compiled from Debian's node-llhttp
 * sources). Each request runs its handler in its own fiber; requests
 * pipelined on one connection are answered in order, one at a time.
 *
 * Memory: a connection is split in two. ConnIO holds the libuv handles
 * and is root-allocated (libuv points into it), freed when both handles
 * have closed. Conn is ordinary GC memory holding the parser and the
 * request being read; ConnIO keeps it alive while open, and values that
 * outlive the connection (a stream's send function) still point at valid
 * memory and see io == NULL ("client disconnected").
 *
 * Limits: a body over max-body gets 413 without being read (Content-Length
 * checked when the headers end), request line and headers over
 * max-header get 431, a request not complete within the timeout gets 408,
 * a parse error gets 400, and connections over max-connections get 503
 * and are closed at once.
 */
#include "http.h"

#include <llhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct Server Server;
typedef struct Conn Conn;

typedef struct {
  uv_tcp_t tcp;
  Server *srv;
} ServerIO;

struct Server {
  ServerIO *io;
  V handler;
  V responder;         /* the responder registered when it started */
  size_t max_body, max_header;
  uint64_t timeout_ms;
  int max_conns, nconns;
  int port;
  bool stopping;
  Conn *conns;         /* open connections, for http/stop */
};

typedef struct {
  uv_tcp_t tcp;
  uv_timer_t timer;
  int open;     /* handles not yet closed */
  Conn *conn;
} ConnIO;

struct Conn {
  ConnIO *io;          /* NULL once closed */
  Server *srv;
  llhttp_t parser;
  /* request being parsed */
  Buf url, field, value, body;
  V headers;           /* map: lower-case name string -> value string */
  size_t header_bytes;
  bool in_message, in_field;
  int reject;          /* status to answer with when a limit is hit */
  /* requests waiting to be handled, oldest first */
  V queue, queue_tail;
  bool busy, closing;
  bool draining;       /* answered and shut down: discard input until EOF */
  valk_task *task;     /* the handler fiber running now */
  valk_task *writer;   /* a fiber waiting for its write to finish */
  Conn *prev, *next;   /* in the server's list while open */
  char remote[64];
};

static llhttp_settings_t settings;

/* The Valkyria function that answers a request (http/-respond): it calls
   the handler, turns its result into bytes and writes them with
   http/-write. lib/http.valk registers it when it loads
   (http/-set-responder); C never looks it up by name. */
static V responder;

/* Servers and connections are owned by the loop (ServerIO and ConnIO are
   root-allocated and freed by their close callbacks; they keep Server and
   Conn alive), so their handles have no finalizer: dropping the value of
   a listening server never stops it. */
static const valk_native_type server_type = {"http-server", NULL};
static const valk_native_type conn_type = {"http-conn", NULL};

/* ---- connection lifetime ---- */
static void io_closed(uv_handle_t *h) {
  ConnIO *io = h->data;
  if (--io->open == 0) valk_root_free(io);
}

static void conn_close(Conn *c) {
  ConnIO *io = c->io;
  if (!io) return;
  c->io = NULL;
  c->srv->nconns--;
  if (c->prev) c->prev->next = c->next;
  else c->srv->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  c->prev = c->next = NULL;
  uv_timer_stop(&io->timer);
  uv_close((uv_handle_t *)&io->tcp, io_closed);
  uv_close((uv_handle_t *)&io->timer, io_closed);
  if (c->writer) valk_task_wake(c->writer);
  if (c->task) valk_task_cancel(c->task, valk_make_error("disconnected", "client disconnected"));
}

static void park_writer(void *ud) {
  (void)ud;
  valk_task_park(NULL, NULL);
}

typedef struct {
  uv_write_t req;
  V data;       /* keeps the bytes alive until written */
  Conn *conn;
  bool close_after;
  bool waited;  /* a fiber waits for it and frees it */
  bool done;
  int status;
} Write;

static void write_done(uv_write_t *w, int status) {
  Write *wr = (Write *)w;
  Conn *c = wr->conn;
  wr->status = status;
  wr->done = true;
  if (wr->close_after || status < 0) conn_close(c);
  if (!wr->waited) {
    valk_root_free(wr);
  } else if (c->writer) {
    valk_task *t = c->writer;
    c->writer = NULL;
    valk_task_wake(t);
  }
}

/* Starts writing bytes; NULL (and the connection closed) on failure. */
static Write *start_write(Conn *c, V bytes, bool close_after, bool waited) {
  Write *w = valk_root_alloc(sizeof *w);
  w->data = bytes;
  w->conn = c;
  w->close_after = close_after;
  w->waited = waited;
  uv_buf_t b = uv_buf_init(AS_STR(bytes)->s, (unsigned)AS_STR(bytes)->len);
  if (uv_write(&w->req, (uv_stream_t *)&c->io->tcp, &b, 1, write_done) != 0) {
    valk_root_free(w);
    conn_close(c);
    return NULL;
  }
  return w;
}

/* Queues bytes for the client without waiting. */
static void conn_send_raw(Conn *c, V bytes, bool close_after) {
  if (c->io) start_write(c, bytes, close_after, false);
}

/* Writes bytes and parks the calling fiber until they are written.
   Raises when the client is gone. */
static void conn_write(Conn *c, V bytes, bool close_after) {
  Write *w = c->io ? start_write(c, bytes, close_after, true) : NULL;
  if (!w) valk_throw(valk_make_error("disconnected", "client disconnected"));
  valk_task *t = valk_task_current();
  while (!w->done) {
    c->writer = t;
    V err = valk_pcall(park_writer, NULL);
    if (err || (!c->io && !w->done)) {
      /* cancelled, or closed under us: libuv still owns w and frees it */
      w->waited = false;
      if (c->writer == t) c->writer = NULL;
      valk_throw(err ? err : valk_make_error("disconnected", "client disconnected"));
    }
  }
  int st = w->status;
  valk_root_free(w);
  if (st < 0) valk_throw(valk_make_error("disconnected", "client disconnected"));
}

/* ---- responses ---- */
static const char *reason(int status) {
  switch (status) {
  case 100: return "Continue";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 206: return "Partial Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 304: return "Not Modified";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 413: return "Payload Too Large";
  case 416: return "Range Not Satisfiable";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 503: return "Service Unavailable";
  default: return "Status";
  }
}

static void http_date(char *out, size_t n) {
  static time_t cached_at;
  static char cached[64];
  time_t now = time(NULL);
  if (now != cached_at) {
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(cached, sizeof cached, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_at = now;
  }
  snprintf(out, n, "%s", cached);
}

static bool has_header(V headers, const char *name) {
  if (!IS(headers, T_MAP)) return false;
  V k, v;
  for (uint32_t i = 0; valk_map_next(headers, &i, &k, &v);)
    if (!strcasecmp(valk_key_name(k, "http/response", "header names"), name)) return true;
  return false;
}

/* Status line and headers. With body_len < 0 the body is streamed with
   chunked encoding (or, for streams, no length and close). */
static V http_head(int status, V headers, long long body_len, bool keep_alive, bool chunked) {
  Buf b;
  buf_init(&b, 256);
  char date[64];
  http_date(date, sizeof date);
  buf_printf(&b, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: valk\r\n", status, reason(status), date);
  headers = valk_http_headers_arg(headers, "http/response");
  {
    V k, v;
    for (uint32_t i = 0; valk_map_next(headers, &i, &k, &v);) {
      const char *name = valk_key_name(k, "http/response", "header names");
      Str *val = AS_STR(valk_display(v));
      if (strpbrk(name, "\r\n:") || memchr(val->s, '\r', val->len) || memchr(val->s, '\n', val->len))
        valk_raise("http: header %s contains a line break or colon", name);
      buf_printf(&b, "%s: ", name);
      buf_put(&b, val->s, val->len);
      buf_puts(&b, "\r\n");
    }
  }
  if (!has_header(headers, "content-type") && status != 204 && status != 304)
    buf_puts(&b, "Content-Type: text/plain; charset=utf-8\r\n");
  if (chunked) buf_puts(&b, "Transfer-Encoding: chunked\r\n");
  else if (body_len >= 0) buf_printf(&b, "Content-Length: %lld\r\n", body_len);
  buf_puts(&b, keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
  return buf_to_str(&b);
}

static V simple_response(int status, const char *body, bool keep_alive) {
  V head = http_head(status, NIL, (long long)strlen(body), keep_alive, false);
  return valk_strf("%s%s", AS_STR(head)->s, body);
}

static void on_timeout(uv_timer_t *t);

/* After the last response: shut down our side and discard what the
   client still sends until it closes, so that closing does not reset
   the connection and destroy the response before the client reads it. */
static void shutdown_done(uv_shutdown_t *req, int status) {
  (void)status;
  valk_root_free(req);
}

static void drain_and_close(Conn *c, V last_bytes) {
  if (!c->io) return;
  c->closing = c->draining = true;
  uv_timer_stop(&c->io->timer);
  conn_send_raw(c, last_bytes, false);
  uv_shutdown_t *sd = valk_root_alloc(sizeof *sd);
  if (uv_shutdown(sd, (uv_stream_t *)&c->io->tcp, shutdown_done) != 0) {
    valk_root_free(sd);
    conn_close(c);
    return;
  }
  if (uv_timer_start(&c->io->timer, on_timeout, 1000, 0) != 0) conn_close(c);
}

/* A limit was hit or the request is malformed: answer and close. */
static void reject(Conn *c, int status) {
  if (!c->io || c->closing) return;
  char msg[64];
  snprintf(msg, sizeof msg, "%d %s\n", status, reason(status));
  drain_and_close(c, simple_response(status, msg, false));
}

/* ---- handling ---- */
static void conn_next(Conn *c);

typedef struct {
  Conn *conn;
  V req;
  bool keep_alive;
} Job;

static V run_handler_body(V data);

static void conn_next(Conn *c) {
  if (c->busy || !c->io || c->closing || c->queue == EMPTY) {
    /* idle between requests: close after the timeout unless another
       request begins (on_message_begin restarts the timer) */
    if (c->io && !c->busy && !c->closing && !c->in_message &&
        uv_timer_start(&c->io->timer, on_timeout, c->srv->timeout_ms, c->srv->timeout_ms) != 0)
      conn_close(c);
    return;
  }
  V item = CAR(c->queue);
  c->queue = CDR(c->queue);
  if (c->queue == EMPTY) c->queue_tail = NULL;
  c->busy = true;
  valk_task_spawn_c(run_handler_body, item);
}

/* (conn . req . keep-alive) travels as a list */
static V run_handler_body(V item) {
  Conn *c = ((Native *)CAR(item))->ptr;
  V req = CAR(CDR(item));
  bool keep_alive = CAR(CDR(CDR(item))) == VTRUE;
  c->task = valk_task_current();
  V args[3] = {c->srv->handler, req, BOOL(keep_alive)};
  V err = NULL;
  /* the responder answers 500 itself when the handler raises */
  valk_handler h;
  if (VALK_TRY(&h)) {
    valk_apply(c->srv->responder, args, 3);
    VALK_END_TRY(&h);
  } else {
    err = h.err;
  }
  c->task = NULL;
  c->busy = false;
  if (err && c->io) {
    /* the response could not be produced or written: drop the connection */
    conn_close(c);
  }
  if (c->io && (!keep_alive || c->srv->stopping)) {
    c->closing = true;
    conn_close(c);
  }
  conn_next(c);
  return NIL;
}

/* ---- parser callbacks ---- */
static Conn *conn_of(llhttp_t *p) { return p->data; }

static int limit_header(Conn *c, size_t n) {
  c->header_bytes += n;
  if (c->header_bytes > c->srv->max_header) {
    c->reject = 431;
    return -1;
  }
  return 0;
}

static int on_message_begin(llhttp_t *p) {
  Conn *c = conn_of(p);
  c->in_message = true;
  c->url.len = c->field.len = c->value.len = c->body.len = 0;
  c->headers = valk_map_new(8);
  c->header_bytes = 0;
  c->in_field = false;
  if (c->io && uv_timer_again(&c->io->timer) != 0) {
    c->reject = 500;
    return -1;
  }
  return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t n) {
  Conn *c = conn_of(p);
  buf_put(&c->url, at, n);
  return limit_header(c, n);
}

static void flush_header(Conn *c) {
  if (!c->field.len) return;
  for (size_t i = 0; i < c->field.len; i++)
    if (c->field.s[i] >= 'A' && c->field.s[i] <= 'Z') c->field.s[i] += 32;
  V name = valk_str(c->field.s, c->field.len);
  V val = valk_str(c->value.s, c->value.len);
  V old = valk_map_get(c->headers, name, NULL);
  if (old) val = valk_strf("%s, %s", AS_STR(old)->s, AS_STR(val)->s);
  valk_map_set(c->headers, name, val);
  c->field.len = c->value.len = 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n) {
  Conn *c = conn_of(p);
  if (!c->in_field) {
    flush_header(c);
    c->in_field = true;
  }
  buf_put(&c->field, at, n);
  return limit_header(c, n);
}

static int on_header_value(llhttp_t *p, const char *at, size_t n) {
  Conn *c = conn_of(p);
  c->in_field = false;
  buf_put(&c->value, at, n);
  return limit_header(c, n);
}

static int on_headers_complete(llhttp_t *p) {
  Conn *c = conn_of(p);
  flush_header(c);
  if ((p->flags & F_CONTENT_LENGTH) && p->content_length > c->srv->max_body) {
    c->reject = 413;
    return -1;
  }
  V expect = valk_map_get(c->headers, valk_cstr("expect"), NULL);
  if (expect && !strcasecmp(AS_STR(expect)->s, "100-continue"))
    conn_send_raw(c, valk_cstr("HTTP/1.1 100 Continue\r\n\r\n"), false);
  return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n) {
  Conn *c = conn_of(p);
  if (c->body.len + n > c->srv->max_body) {
    c->reject = 413;
    return -1;
  }
  buf_put(&c->body, at, n);
  return 0;
}

static V query_part(Buf *url, V *path) {
  char *q = memchr(url->s, '?', url->len);
  if (!q) {
    *path = valk_str(url->s, url->len);
    return valk_cstr("");
  }
  *path = valk_str(url->s, (size_t)(q - url->s));
  return valk_str(q + 1, url->len - (size_t)(q - url->s) - 1);
}

static int on_message_complete(llhttp_t *p) {
  Conn *c = conn_of(p);
  c->in_message = false;
  if (c->io) uv_timer_stop(&c->io->timer);
  V path;
  V query = query_part(&c->url, &path);
  V req = valk_map_new(12);
  valk_map_set(req, valk_kw("method"), valk_cstr(llhttp_method_name((llhttp_method_t)p->method)));
  valk_map_set(req, valk_kw("path"), path);
  valk_map_set(req, valk_kw("query-string"), query);
  valk_map_set(req, valk_kw("url"), valk_str(c->url.s, c->url.len));
  valk_map_set(req, valk_kw("version"), valk_strf("%d.%d", p->http_major, p->http_minor));
  valk_map_set(req, valk_kw("headers"), c->headers);
  valk_map_set(req, valk_kw("body"), valk_str(c->body.s, c->body.len));
  valk_map_set(req, valk_kw("remote"), valk_cstr(c->remote));
  valk_map_set(req, valk_kw("params"), valk_map_new(2));
  V conn = valk_native(&conn_type, c, NIL);
  valk_map_set(req, valk_kw("conn"), conn);
  bool keep_alive = llhttp_should_keep_alive(p);
  V item = valk_cons(valk_list(3, conn, req, BOOL(keep_alive)), EMPTY);
  if (c->queue_tail) ((Cons *)c->queue_tail)->cdr = item;
  else c->queue = item;
  c->queue_tail = item;
  if (!keep_alive) {
    /* nothing after this request will be answered */
    if (c->io) uv_read_stop((uv_stream_t *)&c->io->tcp);
    conn_next(c);
    return HPE_PAUSED;
  }
  conn_next(c);
  return 0;
}

/* A connection's parsing state, not yet attached to a socket. */
static Conn *conn_new(Server *srv) {
  Conn *c = valk_alloc(sizeof *c);
  c->srv = srv;
  c->queue = EMPTY;
  buf_init(&c->url, 128);
  buf_init(&c->field, 64);
  buf_init(&c->value, 128);
  buf_init(&c->body, 256);
  c->headers = valk_map_new(4);
  llhttp_init(&c->parser, HTTP_REQUEST, &settings);
  c->parser.data = c;
  return c;
}

/* Parses raw bytes as one connection's input, without a socket: the
   entry point of the fuzz harness (test/fuzz/fuzz_http.c). Returns the
   number of complete requests, or -status when the input is rejected. */
int valk_http_parse_for_fuzzing(const char *data, size_t n, size_t max_body) {
  static Server srv;
  srv.max_body = max_body;
  srv.max_header = 16 * 1024;
  Conn *c = conn_new(&srv);
  llhttp_errno_t e = llhttp_execute(&c->parser, data, n);
  if (e != HPE_OK && e != HPE_PAUSED) return -(c->reject ? c->reject : 400);
  return (int)valk_list_len(c->queue);
}

/* ---- libuv callbacks ---- */
static char rdbuf[65536];

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  (void)h; (void)suggested;
  b->base = rdbuf;
  b->len = sizeof rdbuf;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  ConnIO *io = s->data;
  Conn *c = io->conn;
  if (n < 0) {
    conn_close(c);
    return;
  }
  if (n == 0 || c->draining) return;
  if (c->closing) return;
  llhttp_errno_t e = llhttp_execute(&c->parser, b->base, (size_t)n);
  if (e == HPE_OK || e == HPE_PAUSED) return;
  reject(c, c->reject ? c->reject : 400);
}

static void on_timeout(uv_timer_t *t) {
  ConnIO *io = t->data;
  Conn *c = io->conn;
  if (c->draining) {
    conn_close(c);
    return;
  }
  if (c->busy) return;
  if (c->in_message) reject(c, 408);
  else conn_close(c); /* idle keep-alive connection */
}

/* A failed accept or set-up drops that one connection; the server
   listens on. */
static void on_connection(uv_stream_t *ls, int status) {
  Server *srv = ((ServerIO *)ls->data)->srv;
  if (status < 0) return;
  ConnIO *io = valk_root_alloc(sizeof *io);
  if (uv_tcp_init(valk_loop(), &io->tcp) != 0) {
    valk_root_free(io);
    return;
  }
  io->tcp.data = io;
  io->open = 1;
  if (uv_timer_init(valk_loop(), &io->timer) == 0) {
    io->timer.data = io;
    io->open = 2;
  }
  if (io->open < 2 || uv_accept(ls, (uv_stream_t *)&io->tcp) != 0) {
    uv_close((uv_handle_t *)&io->tcp, io_closed);
    if (io->open == 2) uv_close((uv_handle_t *)&io->timer, io_closed);
    return;
  }
  Conn *c = conn_new(srv);
  c->io = io;
  io->conn = c;
  srv->nconns++;
  c->next = srv->conns;
  if (srv->conns) srv->conns->prev = c;
  srv->conns = c;
  struct sockaddr_storage sa;
  int len = sizeof sa;
  if (uv_tcp_getpeername(&io->tcp, (struct sockaddr *)&sa, &len) == 0) {
    if (sa.ss_family == AF_INET) uv_ip4_name((struct sockaddr_in *)&sa, c->remote, sizeof c->remote);
    else uv_ip6_name((struct sockaddr_in6 *)&sa, c->remote, sizeof c->remote);
  }
  if (uv_tcp_nodelay(&io->tcp, 1) != 0 || uv_read_start((uv_stream_t *)&io->tcp, on_alloc, on_read) != 0) {
    conn_close(c);
    return;
  }
  if (srv->nconns > srv->max_conns) {
    drain_and_close(c, simple_response(503, "503 too many connections\n", false));
    return;
  }
  if (uv_timer_start(&io->timer, on_timeout, srv->timeout_ms, srv->timeout_ms) != 0) conn_close(c);
}

/* ---- builtins ---- */
static Server *server_arg(V v, const char *who) { return valk_native_check(v, &server_type, who, 0); }

/* a request map (or its :conn) */
static Conn *conn_arg(V v, const char *who) {
  if (IS(v, T_MAP)) v = valk_map_get(v, valk_kw("conn"), NIL);
  return valk_native_check(v, &conn_type, who, 0);
}

static double num_opt(V *a, int n, int from, const char *name, double dflt) {
  V v = valk_kwarg(a, n, from, name, NULL);
  if (!v) return dflt;
  if (!valk_is_number(v) || valk_num_get(v) < 0) valk_raise("http/server: :%s must be a non-negative number", name);
  return valk_num_get(v);
}

/* (http/-listen port handler :host h :max-body n :max-header n :timeout s :max-connections n) */
static V bi_listen(V *a, int n) {
  int64_t port = valk_arg_int(a, n, 0, "http/server");
  if (port < 0 || port > 65535) valk_raise("http/server: port %lld out of range", (long long)port);
  if (!valk_is_callable(a[1])) valk_raise("http/server: the handler must be a function");
  if (!responder) valk_raise("http/server: no responder registered (lib/http.valk registers it with http/-set-responder)");
  V host = valk_kwarg(a, n, 2, "host", valk_cstr("127.0.0.1"));
  if (!IS(host, T_STR)) valk_raise("http/server: :host must be a string");
  Server *srv = valk_alloc(sizeof *srv);
  srv->handler = a[1];
  srv->responder = responder;
  srv->max_body = (size_t)num_opt(a, n, 2, "max-body", 25.0 * 1024 * 1024);
  srv->max_header = (size_t)num_opt(a, n, 2, "max-header", 16 * 1024);
  srv->timeout_ms = (uint64_t)(num_opt(a, n, 2, "timeout", 10) * 1000);
  if (!srv->timeout_ms) srv->timeout_ms = 1;
  srv->max_conns = (int)num_opt(a, n, 2, "max-connections", 4096);
  struct sockaddr_storage sa;
  const char *h = AS_STR(host)->s;
  if (uv_ip4_addr(h, (int)port, (struct sockaddr_in *)&sa) != 0 &&
      uv_ip6_addr(h, (int)port, (struct sockaddr_in6 *)&sa) != 0)
    valk_raise("http/server: bad address %s (use a numeric IPv4 or IPv6 address)", h);
  ServerIO *io = valk_root_alloc(sizeof *io);
  io->srv = srv;
  srv->io = io;
  int rc = uv_tcp_init(valk_loop(), &io->tcp);
  if (rc != 0) {
    valk_root_free(io);
    valk_raise("http/server: cannot listen on %s:%lld: %s", h, (long long)port, uv_strerror(rc));
  }
  io->tcp.data = io;
  rc = uv_tcp_bind(&io->tcp, (struct sockaddr *)&sa, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&io->tcp, 1024, on_connection);
  if (rc != 0) {
    uv_close((uv_handle_t *)&io->tcp, (uv_close_cb)valk_root_free);
    valk_raise("http/server: cannot listen on %s:%lld: %s", h, (long long)port, uv_strerror(rc));
  }
  struct sockaddr_storage bound;
  int len = sizeof bound;
  /* cannot fail on a bound socket; the asked port stands in if it did */
  srv->port = uv_tcp_getsockname(&io->tcp, (struct sockaddr *)&bound, &len) == 0
                  ? ntohs(((struct sockaddr_in *)&bound)->sin_port) : (int)port;
  return valk_native(&server_type, srv, a[1]);
}

static V bi_port(V *a, int n) {
  (void)n;
  return valk_int(server_arg(a[0], "http/port")->port);
}

static V bi_stop(V *a, int n) {
  (void)n;
  Server *srv = server_arg(a[0], "http/stop");
  if (srv->stopping) return VFALSE;
  srv->stopping = true;
  uv_close((uv_handle_t *)&srv->io->tcp, (uv_close_cb)valk_root_free);
  /* idle connections close now, busy ones after their response */
  for (Conn *c = srv->conns, *next; c; c = next) {
    next = c->next;
    if (!c->busy) conn_close(c);
  }
  return VTRUE;
}

/* (http/-write req bytes [close-after]) writes raw bytes, waits until sent */
static V bi_write(V *a, int n) {
  Conn *c = conn_arg(a[0], "http/-write");
  Str *s = valk_arg_str(a, n, 1, "http/-write");
  conn_write(c, (V)s, n > 2 && valk_truthy(a[2]));
  return NIL;
}

/* (http/-head status headers body-length keep-alive chunked) */
static V bi_head(V *a, int n) {
  int64_t status = valk_arg_int(a, n, 0, "http/-head");
  if (status < 100 || status > 999) valk_raise("http: status %lld is not a valid HTTP status", (long long)status);
  long long len = vtype(a[2]) == T_INT ? (long long)valk_int_get(a[2]) : -1;
  return http_head((int)status, a[1], len, valk_truthy(a[3]), valk_truthy(a[4]));
}

/* (http/-chunk bytes) one chunk of chunked transfer encoding */
static V bi_chunk(V *a, int n) {
  Str *s = valk_arg_str(a, n, 0, "http/-chunk");
  if (!s->len) return valk_cstr("");
  Buf b;
  buf_init(&b, s->len + 16);
  buf_printf(&b, "%zx\r\n", s->len);
  buf_put(&b, s->s, s->len);
  buf_puts(&b, "\r\n");
  return buf_to_str(&b);
}

static V bi_connected(V *a, int n) {
  (void)n;
  return BOOL(conn_arg(a[0], "http/connected?")->io != NULL);
}

/* (http/-set-responder f) f answers every request: (f handler req keep-alive) */
static V bi_set_responder(V *a, int n) {
  (void)n;
  if (!valk_is_callable(a[0])) valk_raise("http/-set-responder: argument 1 must be a function, got %s", valk_type_name(a[0]));
  responder = a[0];
  return NIL;
}

static const valk_reg server_fns[] = {
    {"http/-set-responder", bi_set_responder, 1, 1, "(http/-set-responder f) the function answering requests (set by lib/http.valk)"},
    {"http/-listen", bi_listen, 2, -1, "(http/-listen port handler options...) starts a server (see http/server)"},
    {"http/port", bi_port, 1, 1, "(http/port server) the port the server listens on"},
    {"http/stop", bi_stop, 1, 1, "(http/stop server) stops accepting connections"},
    {"http/-write", bi_write, 2, 3, "(http/-write req bytes [close]) writes raw bytes to the client"},
    {"http/-head", bi_head, 5, 5, "(http/-head status headers length keep-alive chunked) response head bytes"},
    {"http/connected?", bi_connected, 1, 1, "(http/connected? req) false once the client has gone"},
    {"http/-chunk", bi_chunk, 1, 1, "(http/-chunk bytes) bytes framed as one HTTP chunk"},
    {NULL, NULL, 0, 0, NULL}};

void valk_http_server_register(void) {
  llhttp_settings_init(&settings);
  settings.on_message_begin = on_message_begin;
  settings.on_url = on_url;
  settings.on_header_field = on_header_field;
  settings.on_header_value = on_header_value;
  settings.on_headers_complete = on_headers_complete;
  settings.on_body = on_body;
  settings.on_message_complete = on_message_complete;
  valk_register(server_fns);
  valk_http_headers_register();
}
