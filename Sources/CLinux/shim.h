#ifndef STACKREC_CLINUX_SHIM_H
#define STACKREC_CLINUX_SHIM_H

// Linux interfaces that the Swift Glibc module leaves out: epoll(7) for readiness,
// eventfd(2) for waking a thread, signalfd(2) for reading blocked signals, and
// mallopt(3) for tuning glibc's allocator.
#include <malloc.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

// glibc declares accept4 only under _GNU_SOURCE, which the Glibc module is built
// without. This prototype is the one in accept(2); the symbol is in every glibc
// since 2.10.
extern int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);

#endif
