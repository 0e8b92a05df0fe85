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

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

int runway_pidfd_open(int pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
}

#include <sys/epoll.h>

int runway_epoll_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int runway_epoll_add(int epoll, int descriptor) {
    struct epoll_event event = {.events = EPOLLIN, .data.fd = descriptor};
    return epoll_ctl(epoll, EPOLL_CTL_ADD, descriptor, &event);
}

int runway_epoll_remove(int epoll, int descriptor) {
    return epoll_ctl(epoll, EPOLL_CTL_DEL, descriptor, NULL);
}

int runway_epoll_wait(int epoll, int *ready, int max) {
    struct epoll_event events[64];
    if (max > 64) max = 64;
    int count = epoll_wait(epoll, events, max, -1);
    for (int index = 0; index < count; index++) ready[index] = events[index].data.fd;
    return count;
}

#include <sys/eventfd.h>

int runway_eventfd(void) {
    return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

#include <limits.h>
#include <sys/resource.h>

long runway_raise_open_files_limit(long ceiling) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return -1;
    rlim_t wanted = (limit.rlim_max == RLIM_INFINITY || limit.rlim_max > (rlim_t)ceiling) ? (rlim_t)ceiling : limit.rlim_max;
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted) {
        limit.rlim_cur = wanted;
        if (setrlimit(RLIMIT_NOFILE, &limit) != 0 && getrlimit(RLIMIT_NOFILE, &limit) != 0) return -1;
    }
    return limit.rlim_cur == RLIM_INFINITY ? LONG_MAX : (long)limit.rlim_cur;
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
