/*
 * fuzz_http.c - libFuzzer harness for the HTTP server's request path:
 * raw bytes go through llhttp and the server's callbacks (header
 * accumulation, limits, request maps, pipelining) exactly as bytes read
 * from a socket do. Run with `make fuzz-http FUZZ_SECONDS=N`.
 */
#include "host.h"
#include "http.h"

#include <stdlib.h>

static void parse(void *ud) {
  const uint8_t **in = ud;
  size_t n = (size_t)(uintptr_t)in[1];
  /* a small body limit so that the 413 path is reachable */
  valk_http_parse_for_fuzzing((const char *)in[0], n, 4096);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int ready;
  if (!ready) {
    valk_gc_init();
    valk_host_open(0, NULL);
    ready = 1;
  }
  const uint8_t *in[2] = {data, (const uint8_t *)(uintptr_t)size};
  valk_pcall(parse, in); /* Valkyria errors are fine; crashes are not */
  return 0;
}
