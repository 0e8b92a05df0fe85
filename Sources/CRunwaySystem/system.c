#define _GNU_SOURCE
#include <spawn.h>
#include "runway_system.h"

int runway_spawn_file_actions_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

int runway_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int lowest) {
    return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
}

#include <sys/prctl.h>

int runway_become_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

#include <malloc.h>

void runway_release_free_memory(void) {
    malloc_trim(0);
}

void runway_limit_malloc_arenas(int count) {
    mallopt(M_ARENA_MAX, count);
}

size_t runway_heap_in_use(void) {
    return mallinfo2().uordblks;
}
