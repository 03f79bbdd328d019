/*
 * crypto.c - hashing and encoding for webhooks and APIs, with OpenSSL.
 *
 * crypto/sha256 and crypto/hmac-sha256 give lowercase hex; crypto/equal?
 * compares in constant time (for signatures); base64/encode and
 * base64/decode use the standard alphabet with padding; url/encode and
 * url/decode are RFC 3986 percent-encoding; uuid/v4 is a random UUID from
 * OpenSSL's CSPRNG. Every function works on byte strings, so strings that
 * hold NUL bytes or binary data are fine.
 */
#include "sys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <string.h>

static const char hex_digits[] = "0123456789abcdef";

static V to_hex(const unsigned char *d, size_t n) {
  Buf b;
  buf_init(&b, 2 * n + 1);
  for (size_t i = 0; i < n; i++) {
    buf_putc(&b, hex_digits[d[i] >> 4]);
    buf_putc(&b, hex_digits[d[i] & 15]);
  }
  return buf_to_str(&b);
}

/* (crypto/sha256 s) */
static V bi_sha256(V *a, int n) {
  Str *s = valk_arg_str(a, n, 0, "crypto/sha256");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (!EVP_Digest(s->s, s->len, md, &mdlen, EVP_sha256(), NULL)) valk_raise("crypto/sha256: OpenSSL digest failed");
  return to_hex(md, mdlen);
}

/* (crypto/hmac-sha256 key message) */
static V bi_hmac_sha256(V *a, int n) {
  Str *key = valk_arg_str(a, n, 0, "crypto/hmac-sha256");
  Str *msg = valk_arg_str(a, n, 1, "crypto/hmac-sha256");
  if (key->len > INT32_MAX) valk_raise("crypto/hmac-sha256: key too long");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  static const unsigned char empty_key[1];
  const void *k = key->len ? (const void *)key->s : (const void *)empty_key;
  if (!HMAC(EVP_sha256(), k, (int)key->len, (const unsigned char *)msg->s, msg->len, md, &mdlen))
    valk_raise("crypto/hmac-sha256: OpenSSL HMAC failed");
  return to_hex(md, mdlen);
}

/* (crypto/equal? a b) constant-time for equal lengths; the time taken
   depends only on the length, never on where the strings differ. */
static V bi_equal(V *a, int n) {
  Str *x = valk_arg_str(a, n, 0, "crypto/equal?");
  Str *y = valk_arg_str(a, n, 1, "crypto/equal?");
  if (x->len != y->len) return VFALSE;
  if (x->len == 0) return VTRUE;
  return BOOL(CRYPTO_memcmp(x->s, y->s, x->len) == 0);
}

/* ---- base64 ---- */

static V bi_b64_encode(V *a, int n) {
  Str *s = valk_arg_str(a, n, 0, "base64/encode");
  if (s->len > (SIZE_MAX / 4) * 3 - 3 || s->len > INT32_MAX) valk_raise("base64/encode: input too large");
  size_t outlen = 4 * ((s->len + 2) / 3);
  Buf b;
  buf_init(&b, outlen + 1);
  int w = s->len ? EVP_EncodeBlock((unsigned char *)b.s, (const unsigned char *)s->s, (int)s->len) : 0;
  if (w < 0 || (size_t)w != outlen) valk_raise("base64/encode: OpenSSL encoding failed");
  b.len = outlen;
  return buf_to_str(&b);
}

static int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

static bool b64_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static const char *show_byte(unsigned char c, char *tmp) {
  if (c > 0x20 && c < 0x7F) snprintf(tmp, 16, "'%c'", c);
  else snprintf(tmp, 16, "byte 0x%02X", c);
  return tmp;
}

/* (base64/decode s) strict: standard alphabet, padded to a multiple of 4;
   ASCII whitespace (line breaks of wrapped output) is skipped. */
static V bi_b64_decode(V *a, int n) {
  Str *s = valk_arg_str(a, n, 0, "base64/decode");
  Buf b;
  buf_init(&b, s->len / 4 * 3 + 4);
  uint32_t acc = 0;
  int quad = 0;   /* characters in the current group of 4 */
  int pad = 0;    /* '=' seen in the current group */
  bool done = false; /* a padded group ended the data */
  char tmp[16];
  for (size_t i = 0; i < s->len; i++) {
    unsigned char c = (unsigned char)s->s[i];
    if (b64_space(c)) continue;
    if (done) valk_raise("base64/decode: data after the final padding at offset %zu", i);
    if (c == '=') {
      if (quad < 2) valk_raise("base64/decode: misplaced padding '=' at offset %zu", i);
      pad++;
      acc <<= 6;
    } else {
      int v = b64_value(c);
      if (v < 0) valk_raise("base64/decode: invalid character %s at offset %zu", show_byte(c, tmp), i);
      if (pad) valk_raise("base64/decode: misplaced padding '=' before offset %zu", i);
      acc = (acc << 6) | (uint32_t)v;
    }
    if (++quad == 4) {
      buf_putc(&b, (char)(acc >> 16));
      if (pad < 2) buf_putc(&b, (char)(acc >> 8));
      if (pad < 1) buf_putc(&b, (char)acc);
      if (pad) done = true;
      quad = 0;
      pad = 0;
      acc = 0;
    }
  }
  if (quad != 0) valk_raise("base64/decode: length is not a multiple of 4 (missing padding?)");
  return buf_to_str(&b);
}

/* ---- URL percent-encoding ---- */

static bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

/* (url/encode s) every byte but A-Z a-z 0-9 - _ . ~ as %XX (upper case) */
static V bi_url_encode(V *a, int n) {
  Str *s = valk_arg_str(a, n, 0, "url/encode");
  static const char HEX[] = "0123456789ABCDEF";
  Buf b;
  buf_init(&b, s->len + 16);
  for (size_t i = 0; i < s->len; i++) {
    unsigned char c = (unsigned char)s->s[i];
    if (unreserved(c)) {
      buf_putc(&b, (char)c);
    } else {
      buf_putc(&b, '%');
      buf_putc(&b, HEX[c >> 4]);
      buf_putc(&b, HEX[c & 15]);
    }
  }
  return buf_to_str(&b);
}

/* (url/decode s [:form true]) %XX escapes decoded; '+' stays '+' unless
   :form true (application/x-www-form-urlencoded), where it is a space. */
static V bi_url_decode(V *a, int n) {
  Str *s = valk_arg_str(a, n, 0, "url/decode");
  if (valk_positional_count(a, n, 0) > 1) valk_raise("url/decode: expected 1 argument and options");
  bool form = valk_truthy(valk_kwarg(a, n, 0, "form", VFALSE));
  Buf b;
  buf_init(&b, s->len + 1);
  for (size_t i = 0; i < s->len; i++) {
    unsigned char c = (unsigned char)s->s[i];
    if (c == '%') {
      int hi = i + 1 < s->len ? valk_hexval((unsigned char)s->s[i + 1]) : -1;
      int lo = i + 2 < s->len ? valk_hexval((unsigned char)s->s[i + 2]) : -1;
      if (hi < 0 || lo < 0) valk_raise("url/decode: malformed escape at offset %zu (expected %% and two hex digits)", i);
      buf_putc(&b, (char)(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && form) {
      buf_putc(&b, ' ');
    } else {
      buf_putc(&b, (char)c);
    }
  }
  return buf_to_str(&b);
}

/* (uuid/v4) random UUID, RFC 9562 version 4, lowercase */
static V bi_uuid_v4(V *a, int n) {
  (void)a;
  (void)n;
  unsigned char r[16];
  if (RAND_bytes(r, sizeof r) != 1) valk_raise("uuid/v4: OpenSSL RAND_bytes failed");
  r[6] = (unsigned char)((r[6] & 0x0F) | 0x40); /* version 4 */
  r[8] = (unsigned char)((r[8] & 0x3F) | 0x80); /* variant 10xx */
  Buf b;
  buf_init(&b, 37);
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) buf_putc(&b, '-');
    buf_putc(&b, hex_digits[r[i] >> 4]);
    buf_putc(&b, hex_digits[r[i] & 15]);
  }
  return buf_to_str(&b);
}

static const valk_reg crypto_fns[] = {
    {"crypto/sha256", bi_sha256, 1, 1, "(crypto/sha256 s) SHA-256 of s as lowercase hex"},
    {"crypto/hmac-sha256", bi_hmac_sha256, 2, 2, "(crypto/hmac-sha256 key message) HMAC-SHA256 as lowercase hex"},
    {"crypto/equal?", bi_equal, 2, 2, "(crypto/equal? a b) constant-time string comparison, for signatures"},
    {"base64/encode", bi_b64_encode, 1, 1, "(base64/encode s) standard base64 with padding"},
    {"base64/decode", bi_b64_decode, 1, 1, "(base64/decode s) bytes of standard padded base64 (whitespace skipped)"},
    {"url/encode", bi_url_encode, 1, 1, "(url/encode s) percent-encodes every byte except A-Z a-z 0-9 - _ . ~"},
    {"url/decode", bi_url_decode, 1, 3, "(url/decode s [:form true]) decodes %XX escapes; :form true also reads + as space"},
    {"uuid/v4", bi_uuid_v4, 0, 0, "(uuid/v4) random version 4 UUID"},
    {NULL, NULL, 0, 0, NULL}};

void valk_crypto_register(void) { valk_register(crypto_fns); }
