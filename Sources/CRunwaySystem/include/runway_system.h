#ifndef RUNWAY_SYSTEM_H
#define RUNWAY_SYSTEM_H
#include <spawn.h>

/* glibc's posix_spawn_file_actions_addchdir_np (2.29+) is hidden from Swift's Glibc module
   (it needs _GNU_SOURCE); this forwards to it. */
int runway_spawn_file_actions_addchdir(posix_spawn_file_actions_t *actions, const char *path);

/* posix_spawn_file_actions_addclosefrom_np (glibc 2.34+): closes every descriptor from `lowest`
   up in the child, so a task never inherits the controller's sockets or files. */
int runway_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int lowest);

/* prctl(PR_SET_CHILD_SUBREAPER, 1): orphans among this process's descendants (a daemon that
   forked twice, a child that called setsid) are re-parented to it instead of to init, so it can
   find, stop and reap every one of them. prctl is variadic, which Swift cannot call. */
int runway_become_child_subreaper(void);

/* malloc_trim(0): glibc keeps memory freed by a burst of work (a reconcile pass) resident;
   this hands the free pages back to the system. <malloc.h> is not in Swift's Glibc module. */
void runway_release_free_memory(void);

/* pidfd_open(pid, 0) (Linux 5.3+): a descriptor that becomes readable when child `pid` ends;
   -1 with errno set where the kernel has none. */
int runway_pidfd_open(int pid);

/* An epoll set of descriptors that are read-ready once (pidfds): create (close-on-exec), add,
   remove, and wait for up to `max` ready ones, written to `ready`; returns their count, or -1
   with errno. <sys/epoll.h> is not in Swift's Glibc module. */
int runway_epoll_create(void);
int runway_epoll_add(int epoll, int descriptor);
int runway_epoll_remove(int epoll, int descriptor);
int runway_epoll_wait(int epoll, int *ready, int max);

/* eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK): a descriptor a write makes readable, to wake a thread
   waiting in poll; -1 with errno. <sys/eventfd.h> is not in Swift's Glibc module. */
int runway_eventfd(void);

/* Raises this process's soft limit on open descriptors (RLIMIT_NOFILE) to its hard limit, at
   most `ceiling`, never lowering it; returns the soft limit in force (-1 when unknown). */
long runway_raise_open_files_limit(long ceiling);

/* mallopt(M_ARENA_MAX, count): at most `count` malloc arenas for all threads. */
void runway_limit_malloc_arenas(int count);

/* Bytes of the heap in use (glibc's mallinfo2), for the benchmarks' memory figures. */
size_t runway_heap_in_use(void);

#endif
