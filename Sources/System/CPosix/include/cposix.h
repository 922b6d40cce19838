/* Linux interfaces that Glibc's Swift module does not show: epoll, eventfd,
 * timerfd, and GNU extensions (they need _GNU_SOURCE) wrapped for Swift. */
#ifndef CPOSIX_H
#define CPOSIX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <netinet/tcp.h>

/* Pins the calling thread to the CPUs listed; returns 0 or an errno value. */
int cposix_pin_thread(const int *cpus, size_t count);
/* Writes up to `capacity` CPU numbers the process may run on; returns the count. */
size_t cposix_available_cpus(int *out, size_t capacity);
/* Names the calling thread (15 characters at most are kept). */
void cposix_set_thread_name(const char *name);
/* accept4(2) without the peer address; flags as SOCK_NONBLOCK | SOCK_CLOEXEC. */
int cposix_accept4(int fd, int flags);
/* epoll_wait with a timeout in nanoseconds (epoll_pwait2, Linux 5.11+; falls
 * back to epoll_wait rounded up to milliseconds). A negative timeout waits
 * without end. */
int cposix_epoll_wait_ns(int epfd, struct epoll_event *events, int maxevents, int64_t timeout_ns);
/* Sets SO_LINGER to {on, 0}: close() then resets the connection instead of
 * leaving it in TIME_WAIT (for a client that closes after every answer). */
int cposix_set_linger_zero(int fd);
/* The kernel thread id of the caller. */
int32_t cposix_gettid(void);
/* Starts `argv[0]` (a path, or a name looked up in PATH) with `envp`, in
 * `cwd` when not NULL, as the leader of a new process group when
 * `new_group` is not 0 (else in the caller's group), with stdin from
 * /dev/null and stdout and stderr on `output_fd` (or inherited when it is -1),
 * no signal blocked and SIGPIPE, SIGINT and SIGTERM at their defaults (a
 * harness that blocks or ignores them must not pass that on). Returns the pid,
 * or -errno. */
int32_t cposix_spawn(char *const argv[], char *const envp[], const char *cwd, int output_fd, int new_group);

#endif
