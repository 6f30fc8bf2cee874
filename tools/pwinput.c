/*
 * pwinput.c - password buffers and password input (see pwinput.h).
 *
 * Interface: pwbuf_new, pwbuf_free, pwinput_read_fd, pwinput_read_tty,
 * pwinput_strerror.  Diagnostics are status codes only; the caller words
 * the message.  Terminal handling: echo is switched off with tcsetattr
 * (TCSAFLUSH) and SIGINT/SIGTERM/SIGQUIT/SIGHUP get a no-op handler without
 * SA_RESTART for the duration, so a ^C interrupts read(2) and the old
 * terminal state and signal actions are put back before returning.
 */
#include "pwinput.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

pwbuf *pwbuf_new(size_t max)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t size = ((sizeof(pwbuf) + max + 1 + page - 1) / page) * page;
    void *mem;
    pwbuf *b;

    mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return NULL;
    (void)madvise(mem, size, MADV_DONTDUMP);
    (void)mlock(mem, size); /* best effort: RLIMIT_MEMLOCK may forbid it */
    b = mem;
    b->pw = (char *)mem + sizeof(pwbuf);
    b->cap = max + 1;
    b->len = 0;
    b->pw[0] = '\0';
    return b;
}

void pwbuf_free(pwbuf *b)
{
    size_t page, size;

    if (b == NULL)
        return;
    page = (size_t)sysconf(_SC_PAGESIZE);
    size = ((sizeof(pwbuf) + b->cap + page - 1) / page) * page;
    explicit_bzero(b, size);
    (void)munlock(b, size);
    (void)munmap(b, size);
}

static void pwbuf_clear(pwbuf *b)
{
    explicit_bzero(b->pw, b->cap);
    b->len = 0;
}

int pwinput_read_fd(int fd, pwbuf *b)
{
    int rc = PWINPUT_OK, toolong = 0, nul = 0, got = 0;
    char c;

    pwbuf_clear(b);
    for (;;) {
        ssize_t n = read(fd, &c, 1);
        if (n < 0 && errno == EINTR) {
            rc = PWINPUT_INTERRUPTED;
            goto out;
        }
        if (n < 0) {
            rc = PWINPUT_EIO;
            goto out;
        }
        if (n == 0 || c == '\n')
            break;
        got = 1;
        if (c == '\0')
            nul = 1;
        if (b->len + 1 >= b->cap)
            toolong = 1;
        else
            b->pw[b->len++] = c;
    }
    if (b->len > 0 && b->pw[b->len - 1] == '\r' && !toolong)
        b->len--;
    b->pw[b->len] = '\0';
    if (toolong)
        rc = PWINPUT_TOOLONG;
    else if (nul)
        rc = PWINPUT_NUL;
    else if (!got || b->len == 0)
        rc = PWINPUT_EMPTY;
out:
    c = 0;
    if (rc != PWINPUT_OK)
        pwbuf_clear(b);
    return rc;
}

static void pwinput_nop(int sig)
{
    (void)sig;
}

static const int pwinput_signals[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP};
#define PWINPUT_NSIG (sizeof(pwinput_signals) / sizeof(pwinput_signals[0]))

/* One prompt with echo off. */
static int pwinput_ask(int tty, const char *prompt, pwbuf *b)
{
    struct termios old, noecho;
    struct sigaction sa, saved[PWINPUT_NSIG];
    int rc, saved_errno;

    if (tcgetattr(tty, &old) != 0)
        return PWINPUT_NOTTY;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = pwinput_nop; /* no SA_RESTART: read() returns EINTR */
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < PWINPUT_NSIG; i++)
        sigaction(pwinput_signals[i], &sa, &saved[i]);
    noecho = old;
    noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
    noecho.c_lflag |= ICANON;
    /* Echo off (discarding what was typed ahead) before the prompt: what
     * is typed once the prompt shows is read, never flushed. */
    if (tcsetattr(tty, TCSAFLUSH, &noecho) != 0) {
        rc = PWINPUT_EIO;
    } else {
        (void)!write(tty, prompt, strlen(prompt));
        rc = pwinput_read_fd(tty, b);
        saved_errno = errno;
        tcsetattr(tty, TCSAFLUSH, &old);
        errno = saved_errno;
    }
    (void)!write(tty, "\n", 1);
    for (size_t i = 0; i < PWINPUT_NSIG; i++)
        sigaction(pwinput_signals[i], &saved[i], NULL);
    return rc;
}

int pwinput_read_tty(const char *prompt, int confirm, pwbuf *b)
{
    pwbuf *again = NULL;
    int tty, rc;

    tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (tty < 0)
        return PWINPUT_NOTTY;
    rc = pwinput_ask(tty, prompt, b);
    if (rc != PWINPUT_OK || !confirm)
        goto out;
    if ((again = pwbuf_new(b->cap - 1)) == NULL) {
        rc = PWINPUT_ENOMEM;
        goto out;
    }
    rc = pwinput_ask(tty, "Retype password: ", again);
    if (rc != PWINPUT_OK)
        goto out;
    if (again->len != b->len || memcmp(again->pw, b->pw, b->len) != 0)
        rc = PWINPUT_MISMATCH;
out:
    if (rc != PWINPUT_OK)
        pwbuf_clear(b);
    pwbuf_free(again);
    close(tty);
    return rc;
}

const char *pwinput_strerror(int status)
{
    switch (status) {
    case PWINPUT_OK:
        return "ok";
    case PWINPUT_EMPTY:
        return "empty password";
    case PWINPUT_TOOLONG:
        return "password too long";
    case PWINPUT_MISMATCH:
        return "the passwords do not match";
    case PWINPUT_NOTTY:
        return "no terminal to ask for the password (use --password-stdin)";
    case PWINPUT_INTERRUPTED:
        return "interrupted";
    case PWINPUT_NUL:
        return "password contains a NUL byte";
    case PWINPUT_EIO:
        return "cannot read the password";
    case PWINPUT_ENOMEM:
        return "out of memory";
    default:
        return "unknown password input error";
    }
}
