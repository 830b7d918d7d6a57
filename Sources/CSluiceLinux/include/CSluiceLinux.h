// Linux calls that Swift's Glibc module does not export: epoll, eventfd, timerfd, accept4 and futex.
#ifndef C_SLUICE_LINUX_H
#define C_SLUICE_LINUX_H

#ifdef __linux__
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>

/// accept4 needs _GNU_SOURCE, which a Swift module map cannot set for the caller.
int csluice_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);

/// The file descriptor stored in an epoll event (the union member Swift cannot reach easily).
static inline int csluice_epoll_event_fd(const struct epoll_event *event) { return event->data.fd; }

// A lock in one 32-bit word for critical sections of tens of nanoseconds: 0 free, 1 held,
// 2 held with a thread asleep on it ("Futexes Are Tricky", Drepper, mutex 3). A thread that
// finds it held spins briefly first, since the holder is about to let go; only then does it
// sleep in the kernel. Unlike a priority-inheritance mutex, a short wait never enters the kernel.

/// Waits until the word is free and takes it; called when a first attempt failed.
void csluice_lock_wait(uint32_t *word);
/// Wakes one thread asleep on the word.
void csluice_lock_wake(uint32_t *word);

/// Takes the lock.
static inline void csluice_lock(uint32_t *word) {
    uint32_t expected = 0;
    if (!__atomic_compare_exchange_n(word, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
        csluice_lock_wait(word);
    }
}

/// Lets the lock go, waking a sleeper if there may be one.
static inline void csluice_unlock(uint32_t *word) {
    if (__atomic_exchange_n(word, 0, __ATOMIC_RELEASE) == 2) {
        csluice_lock_wake(word);
    }
}
#endif

#endif
