// Linux calls that Swift's Glibc module does not export: epoll, eventfd and accept4.
#ifndef C_SLUICE_LINUX_H
#define C_SLUICE_LINUX_H

#ifdef __linux__
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

/// accept4 needs _GNU_SOURCE, which a Swift module map cannot set for the caller.
int csluice_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);

/// The file descriptor stored in an epoll event (the union member Swift cannot reach easily).
static inline int csluice_epoll_event_fd(const struct epoll_event *event) { return event->data.fd; }
#endif

#endif
