#ifndef RUNWAY_SYSTEM_H
#define RUNWAY_SYSTEM_H
#include <spawn.h>

/* glibc's posix_spawn_file_actions_addchdir_np (2.29+) is hidden from Swift's Glibc module
   (it needs _GNU_SOURCE); this forwards to it. */
int runway_spawn_file_actions_addchdir(posix_spawn_file_actions_t *actions, const char *path);

#endif
