/* crypto.c - hashing and encoding: being written (placeholder registration only). */
#include "valk.h"

void valk_crypto_register(void) {}
