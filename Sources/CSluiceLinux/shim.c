#ifdef __linux__
#define _GNU_SOURCE
#include <linux/futex.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "CSluiceLinux.h"

int csluice_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags) {
    return accept4(fd, address, length, flags);
}

/// Spins this many times, reading the word, before sleeping: about a microsecond.
#define CSLUICE_LOCK_SPINS 128

static inline void csluice_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

void csluice_lock_wait(uint32_t *word) {
    for (int spin = 0; spin < CSLUICE_LOCK_SPINS; spin++) {
        csluice_pause();
        uint32_t expected = 0;
        if (__atomic_load_n(word, __ATOMIC_RELAXED) == 0 &&
            __atomic_compare_exchange_n(word, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
            return;
        }
    }
    // Mark the word "held with sleepers" and sleep while it stays so; taking it this way
    // leaves it at 2, so the unlock that follows may wake a thread needlessly, never miss one.
    while (__atomic_exchange_n(word, 2, __ATOMIC_ACQUIRE) != 0) {
        syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
    }
}

void csluice_lock_wake(uint32_t *word) {
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
#endif
