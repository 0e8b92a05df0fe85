#ifndef RUNWAY_CYAML_SHIM_H
#define RUNWAY_CYAML_SHIM_H
#include <yaml.h>
#endif
