/*
 * client.c - HTTP client (http/request) with libcurl's multi interface
 * driven by the libuv loop: curl tells us which sockets to watch
 * (socket_cb) and when to time out (timer_cb); uv_poll and uv_timer call
 * back into curl_multi_socket_action. TLS, redirects, proxies (from
 * HTTPS_PROXY and friends) and HTTP/2 come from curl. Only the calling
 * fiber waits.
 *
 * A request's state (Req) is root-allocated: curl holds a pointer to it
 * (CURLOPT_PRIVATE) where the collector cannot see. It is freed by the
 * fiber after the transfer, or by the cancel hook when the fiber gives up.
 */
#include "http.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

static CURLM *multi;
static uv_timer_t curl_timer;

/* Sockets curl asked us to watch. Between transfers curl keeps idle
   connections open for reuse; their polls are unref'd then, so they do
   not keep a finished program running. */
typedef struct Sock {
  uv_poll_t poll;
  curl_socket_t fd;
  struct Sock *prev, *next;
} Sock;
static Sock *socks;
static int active; /* transfers in flight */

static void ref_socks(void) {
  for (Sock *s = socks; s; s = s->next) {
    if (active) uv_ref((uv_handle_t *)&s->poll);
    else uv_unref((uv_handle_t *)&s->poll);
  }
}

typedef struct {
  CURL *easy;
  struct curl_slist *req_headers;
  Buf body, head;       /* response body, raw header lines of the last response */
  V req_body;           /* keeps the request body alive during the transfer */
  valk_task *task;
  bool done;
  CURLcode result;
  char errbuf[CURL_ERROR_SIZE];
} Req;

static void check_done(void) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(multi, &left))) {
    if (m->msg != CURLMSG_DONE) continue;
    Req *r;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
    r->done = true;
    r->result = m->data.result;
    if (--active == 0) ref_socks();
    if (r->task) valk_task_wake(r->task);
  }
}

static void on_poll(uv_poll_t *p, int status, int events) {
  Sock *s = (Sock *)p;
  int flags = 0;
  if (status < 0) flags = CURL_CSELECT_ERR;
  if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  int running;
  curl_multi_socket_action(multi, s->fd, flags, &running);
  check_done();
}

static void sock_closed(uv_handle_t *h) { valk_root_free(h); }

static int socket_cb(CURL *e, curl_socket_t fd, int action, void *userp, void *socketp) {
  (void)e; (void)userp;
  Sock *s = socketp;
  if (action == CURL_POLL_REMOVE) {
    if (s) {
      if (s->prev) s->prev->next = s->next;
      else socks = s->next;
      if (s->next) s->next->prev = s->prev;
      uv_poll_stop(&s->poll);
      uv_close((uv_handle_t *)&s->poll, sock_closed);
      curl_multi_assign(multi, fd, NULL);
    }
    return 0;
  }
  if (!s) {
    s = valk_root_alloc(sizeof *s);
    s->fd = fd;
    if (uv_poll_init_socket(valk_loop(), &s->poll, fd) != 0) {
      valk_root_free(s);
      return -1;
    }
    curl_multi_assign(multi, fd, s);
    s->next = socks;
    if (socks) socks->prev = s;
    socks = s;
    if (!active) uv_unref((uv_handle_t *)&s->poll);
  }
  int ev = 0;
  if (action == CURL_POLL_IN || action == CURL_POLL_INOUT) ev |= UV_READABLE;
  if (action == CURL_POLL_OUT || action == CURL_POLL_INOUT) ev |= UV_WRITABLE;
  return uv_poll_start(&s->poll, ev, on_poll) == 0 ? 0 : -1; /* -1: curl fails the transfer */
}

static void on_timer(uv_timer_t *t) {
  (void)t;
  int running;
  curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
  check_done();
}

static int timer_cb(CURLM *m, long ms, void *userp) {
  (void)m; (void)userp;
  if (ms < 0) return uv_timer_stop(&curl_timer) == 0 ? 0 : -1;
  return uv_timer_start(&curl_timer, on_timer, (uint64_t)ms, 0) == 0 ? 0 : -1;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  Req *r = ud;
  buf_put(&r->body, p, size * n);
  return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  Req *r = ud;
  size_t len = size * n;
  if (len >= 5 && !memcmp(p, "HTTP/", 5)) r->head.len = 0; /* a new response (redirect, 100) */
  buf_put(&r->head, p, len);
  return len;
}

static void req_free(Req *r) {
  curl_multi_remove_handle(multi, r->easy);
  curl_easy_cleanup(r->easy);
  curl_slist_free_all(r->req_headers);
  valk_root_free(r);
}

static void req_cancel(valk_task *t, void *data) {
  (void)t;
  Req *r = data;
  if (!r->done && --active == 0) ref_socks();
  req_free(r);
}

/* URL for messages: user and password removed */
static V safe_url(const char *url) {
  const char *scheme = strstr(url, "://");
  if (!scheme) return valk_cstr(url);
  const char *host = scheme + 3;
  const char *at = strchr(host, '@');
  const char *slash = strchr(host, '/');
  if (!at || (slash && at > slash)) return valk_cstr(url);
  return valk_strf("%.*s%s", (int)(host - url), url, at + 1);
}

static V parse_headers(Buf *head) {
  V m = valk_map_new(16);
  size_t i = 0;
  while (i < head->len) {
    const char *line = head->s + i;
    const char *nl = memchr(line, '\n', head->len - i);
    size_t n = nl ? (size_t)(nl - line) : head->len - i;
    i += n + 1;
    if (n && line[n - 1] == '\r') n--;
    const char *colon = memchr(line, ':', n);
    if (!colon || !memcmp(line, "HTTP/", 5)) continue;
    size_t kn = (size_t)(colon - line);
    char *key = valk_alloc_atomic(kn + 1);
    for (size_t k = 0; k < kn; k++) key[k] = (char)(line[k] >= 'A' && line[k] <= 'Z' ? line[k] + 32 : line[k]);
    key[kn] = '\0';
    const char *v = colon + 1;
    while (v < line + n && (*v == ' ' || *v == '\t')) v++;
    V kv = valk_str(key, kn);
    V val = valk_str(v, (size_t)(line + n - v));
    V old = valk_map_get(m, kv, NULL);
    valk_map_set(m, kv, old ? valk_strf("%s, %s", AS_STR(old)->s, AS_STR(val)->s) : val);
  }
  return m;
}

static void client_init(void);

/* (http/request :method m :url u :headers h :body b :json v :timeout s) */
static V bi_request(V *a, int n) {
  if (n % 2) valk_raise("http/request: expected :key value options");
  V url = valk_kwarg(a, n, 0, "url", NULL);
  if (!url || !IS(url, T_STR)) valk_raise("http/request: :url (a string) is required");
  V method = valk_kwarg(a, n, 0, "method", valk_cstr("GET"));
  if (IS(method, T_KW)) method = valk_cstr(AS_SYM(method)->name);
  if (!IS(method, T_STR)) valk_raise("http/request: :method must be a string");
  V headers = valk_kwarg(a, n, 0, "headers", NIL);
  V body = valk_kwarg(a, n, 0, "body", NIL);
  V json = valk_kwarg(a, n, 0, "json", NULL);
  V timeout = valk_kwarg(a, n, 0, "timeout", MK_FIX(30));
  for (int i = 0; i < n; i += 2) {
    if (!IS(a[i], T_KW)) valk_raise("http/request: expected a keyword option, got %s", valk_repr_c(a[i]));
    const char *k = AS_SYM(a[i])->name;
    if (strcmp(k, "url") && strcmp(k, "method") && strcmp(k, "headers") && strcmp(k, "body") && strcmp(k, "json") &&
        strcmp(k, "timeout"))
      valk_raise("http/request: unknown option :%s (known: :method :url :headers :body :json :timeout)", k);
  }
  if (!valk_task_current()) valk_raise("http/request: not inside a task");
  client_init();

  /* Everything that can raise is done before the transfer exists: from
     curl_easy_init on, nothing raises until the fiber parks, and the
     park's cancel hook (req_cancel) frees the transfer. */
  if (json) body = valk_json_stringify(json);
  headers = valk_http_headers_arg(headers, "http/request");
  V lines = json ? valk_cons(valk_cstr("Content-Type: application/json"), EMPTY) : EMPTY;
  {
    V k, v;
    for (uint32_t i = 0; valk_map_next(headers, &i, &k, &v);)
      lines = valk_cons(valk_strf("%s: %s", valk_key_name(k, "http/request", "header names"), AS_STR(valk_display(v))->s), lines);
  }
  lines = valk_list_reverse(lines); /* "Name: value" header lines, in order */
  V req_body = body == NIL ? NULL : IS(body, T_STR) ? body : valk_display(body);
  V shown_url = safe_url(AS_STR(url)->s);

  Req *r = valk_root_alloc(sizeof *r);
  r->easy = curl_easy_init();
  if (!r->easy) {
    valk_root_free(r);
    valk_raise("http/request: cannot create a transfer");
  }
  buf_init(&r->body, 1024);
  buf_init(&r->head, 512);
  CURL *e = r->easy;
  const char *m = AS_STR(method)->s;
  CURLcode cc = curl_easy_setopt(e, CURLOPT_URL, AS_STR(url)->s);
  curl_easy_setopt(e, CURLOPT_PRIVATE, r);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(e, CURLOPT_USERAGENT, "valk/0.1");
  if (valk_is_number(timeout) && valk_num_get(timeout) > 0)
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(valk_num_get(timeout) * 1000));
  bool oom = false;
  for (V l = lines; IS_CONS(l) && !oom; l = CDR(l)) {
    struct curl_slist *h = curl_slist_append(r->req_headers, AS_STR(CAR(l))->s);
    if (h) r->req_headers = h;
    else oom = true;
  }
  if (r->req_headers) curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->req_headers);
  if (!strcasecmp(m, "HEAD")) {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (req_body) {
    r->req_body = req_body;
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)AS_STR(req_body)->len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, AS_STR(req_body)->s);
    if (strcasecmp(m, "POST")) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
  } else if (strcasecmp(m, "GET")) {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
  }
  if (cc != CURLE_OK || oom) {
    curl_easy_cleanup(e);
    curl_slist_free_all(r->req_headers);
    valk_root_free(r);
    valk_raise("http/request: %s: %s", AS_STR(shown_url)->s, oom ? "out of memory" : curl_easy_strerror(cc));
  }
  r->task = valk_task_current();
  if (active++ == 0) ref_socks();
  CURLMcode mc = curl_multi_add_handle(multi, e);
  if (mc != CURLM_OK) {
    if (--active == 0) ref_socks();
    curl_easy_cleanup(e);
    curl_slist_free_all(r->req_headers);
    valk_root_free(r);
    valk_raise("http/request: %s", curl_multi_strerror(mc));
  }
  while (!r->done) valk_task_park(req_cancel, r);
  if (r->result != CURLE_OK) {
    V msg = valk_strf("http/request: %s %s: %s", m, AS_STR(shown_url)->s,
                      r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->result));
    int timed_out = r->result == CURLE_OPERATION_TIMEDOUT;
    req_free(r);
    valk_throw(valk_error_new(valk_kw(timed_out ? "timeout" : "http"), msg, valk_S->form));
  }
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  V out = valk_map_new(4);
  valk_map_set(out, valk_kw("status"), valk_int(status));
  valk_map_set(out, valk_kw("headers"), parse_headers(&r->head));
  Buf b = r->body;
  valk_map_set(out, valk_kw("body"), buf_to_str(&b));
  req_free(r);
  return out;
}

static const valk_reg client_fns[] = {
    {"http/request", bi_request, 2, -1,
     "(http/request :method m :url u :headers {...} :body s :json v :timeout secs) {:status :headers :body}"},
    {NULL, NULL, 0, 0, NULL}};

void valk_http_client_register(void) {
  valk_register(client_fns);
}

/* Set up on first use, when the loop exists. */
static void client_init(void) {
  if (multi) return;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) valk_raise("http/request: cannot initialise libcurl");
  int rc = uv_timer_init(valk_loop(), &curl_timer);
  if (rc) valk_raise("http/request: %s", uv_strerror(rc));
  CURLM *m = curl_multi_init();
  if (!m) valk_raise("http/request: cannot initialise libcurl");
  curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, socket_cb);
  curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, timer_cb);
  multi = m;
}
