/* yaml.c - YAML: being written (placeholder registration only). */
#include "valk.h"

void valk_yaml_register(void) {}
