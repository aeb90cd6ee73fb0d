/* pty-run: runs a program in a new pseudo-terminal (100x30) of its own, as its controlling
 * terminal, and throws away what it draws; for tests/bench's measure of `ipvsctl top`, which
 * refuses to run without a terminal (busybox in the VM has no `script`).
 *
 *   pty-run PROGRAM [ARG]...
 *
 * Exits with the program's exit status (128 + the signal when a signal ended it). Needs devpts
 * mounted on /dev/pts. Build: gcc -O2 -o pty-run pty-run.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: pty-run PROGRAM [ARG]...\n");
        return 2;
    }
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) {
        perror("pty-run: posix_openpt");
        return 1;
    }
    struct winsize size = {.ws_row = 30, .ws_col = 100};
    ioctl(master, TIOCSWINSZ, &size);
    const char *name = ptsname(master);
    pid_t child = fork();
    if (child < 0) {
        perror("pty-run: fork");
        return 1;
    }
    if (child == 0) {
        int slave;
        if (setsid() < 0 || !name || (slave = open(name, O_RDWR)) < 0 ||
            ioctl(slave, TIOCSCTTY, 0) < 0) {
            perror("pty-run: the pty as controlling terminal");
            _exit(1);
        }
        dup2(slave, 0);
        dup2(slave, 1);
        dup2(slave, 2);
        if (slave > 2) close(slave);
        close(master);
        execvp(argv[1], argv + 1);
        perror("pty-run: exec");
        _exit(127);
    }
    char buf[65536];
    for (;;) {
        ssize_t n = read(master, buf, sizeof buf);
        if (n > 0) continue;
        if (n < 0 && errno == EINTR) continue;
        break; /* EIO: the program and its children closed the terminal */
    }
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}
