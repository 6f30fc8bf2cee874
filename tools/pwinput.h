/*
 * pwinput.h - read a password without it ever touching argv, the screen or
 * a core dump.
 *
 * Passwords live in a pwbuf: an mmap'ed page locked in memory (when the
 * RLIMIT_MEMLOCK allows), excluded from core dumps (MADV_DONTDUMP) and
 * wiped on free.  pwinput_read() fills one from the controlling terminal
 * (echo off; asked twice when confirming) or from one line of a file
 * descriptor (--password-stdin).
 */
#ifndef AUTHGATECTL_PWINPUT_H
#define AUTHGATECTL_PWINPUT_H

#include <stddef.h>

typedef struct pwbuf {
    char *pw;   /* NUL-terminated password */
    size_t len; /* octets, without the NUL */
    size_t cap; /* octets usable including the NUL */
} pwbuf;

enum pwinput_status {
    PWINPUT_OK = 0,
    PWINPUT_EMPTY,       /* empty password or nothing to read */
    PWINPUT_TOOLONG,     /* longer than the limit */
    PWINPUT_MISMATCH,    /* the two entries differ */
    PWINPUT_NOTTY,       /* no terminal to ask on */
    PWINPUT_INTERRUPTED, /* a signal (^C) while reading */
    PWINPUT_NUL,         /* the line holds a NUL byte */
    PWINPUT_EIO,         /* read or terminal error (errno set) */
    PWINPUT_ENOMEM,
};

/* A buffer for passwords of up to max octets.  NULL on failure. */
pwbuf *pwbuf_new(size_t max);
/* Wipe and release; NULL is fine. */
void pwbuf_free(pwbuf *b);

/* Read one line from fd into b: the line ends at "\n" (a "\r" before it is
 * dropped) or at end of input.  Reads byte by byte so nothing past the line
 * is consumed and no stdio buffer keeps a copy. */
int pwinput_read_fd(int fd, pwbuf *b);

/* Ask on the controlling terminal (/dev/tty) with echo off; with confirm,
 * ask twice and require both to match.  The terminal is restored on every
 * path, including ^C. */
int pwinput_read_tty(const char *prompt, int confirm, pwbuf *b);

/* Text for a status. */
const char *pwinput_strerror(int status);

#endif
