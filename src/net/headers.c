/*
 * headers.c - HTTP header maps, in one place for the server's responses
 * (server.c, lib/http.valk through http/-headers) and the client's
 * requests (client.c).
 *
 * Headers are given as a map, or as a list of name value pairs
 * ({"X-Name" "value"} is a list); names are keywords, symbols or
 * strings, values anything (shown with display).
 */
#include "http.h"

V valk_http_headers_arg(V headers, const char *who) {
  if (headers == NIL || headers == EMPTY) return valk_map_new(0);
  if (IS(headers, T_MAP)) return headers;
  if (IS_LIST(headers) && valk_list_len(headers) % 2 == 0) {
    V m = valk_map_new(8);
    for (V l = headers; IS_CONS(l); l = CDR(CDR(l))) valk_map_set(m, CAR(l), CAR(CDR(l)));
    return m;
  }
  valk_raise("%s: :headers must be a map or a list of name value pairs, got %s", who, valk_repr_c(headers));
}

/* (http/-headers h [who]) h as a map (see valk_http_headers_arg) */
static V bi_headers(V *a, int n) {
  return valk_http_headers_arg(a[0], n > 1 ? valk_arg_str(a, n, 1, "http/-headers")->s : "http/response");
}

static const valk_reg header_fns[] = {
    {"http/-headers", bi_headers, 1, 2, "(http/-headers h [who]) headers given as a map or name value pairs, as a map"},
    {NULL, NULL, 0, 0, NULL}};

void valk_http_headers_register(void) { valk_register(header_fns); }
