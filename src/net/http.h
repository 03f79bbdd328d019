/*
 * http.h - the HTTP layer: server (server.c, llhttp) and client
 * (client.c, libcurl), both on the runtime's libuv loop. The routing,
 * request accessors and response building live in lib/http.valk. The
 * top layer of C: it builds on rt.h and valk.h; only the host names it.
 */
#ifndef VALK_HTTP_H
#define VALK_HTTP_H

#include "sys.h"

/* Headers given as a map, or as a list of name value pairs
   ({"X-Name" "value"} is a list); returns a map, raises otherwise
   (headers.c). */
V valk_http_headers_arg(V headers, const char *who);
/* A header name given as a keyword, symbol or string. */
void valk_http_headers_register(void);

void valk_http_server_register(void); /* server.c */
void valk_http_client_register(void); /* client.c */

int valk_http_parse_for_fuzzing(const char *data, size_t n, size_t max_body);

#endif
