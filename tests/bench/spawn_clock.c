/* spawn_clock.c - the wall-clock time of one run of a command, for
 * make bench-parse:
 *
 *   spawn_clock OUT CMD [ARG...]
 *
 * runs CMD (found in PATH) with the standard streams it was given, waits
 * for it, writes the seconds between starting it and its end to the file
 * OUT and exits with its status. The command is started with
 * posix_spawn(), which glibc does without copying the caller's address
 * space: the clock of a process that forks itself first counts the fork
 * too, a copy of its page tables whose cost depends on the caller's size
 * (3 ms of a 28 ms run for a small Perl process on a virtual machine),
 * and belongs to neither of the programs compared. */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

int
main(int argc, char **argv)
{
    struct timespec start, end;
    pid_t pid;
    int status = 0, rc;
    FILE *out;

    if (argc < 3) {
        fprintf(stderr, "usage: spawn_clock OUT CMD [ARG...]\n");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &start);
    rc = posix_spawnp(&pid, argv[2], NULL, NULL, argv + 2, environ);
    if (rc != 0) {
        fprintf(stderr, "spawn_clock: %s: %s\n", argv[2], strerror(rc));
        return 127;
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "spawn_clock: waitpid: %s\n", strerror(errno));
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    out = fopen(argv[1], "w");
    if (out == NULL || fprintf(out, "%.6f\n", (double)(end.tv_sec - start.tv_sec)
                                                  + (double)(end.tv_nsec - start.tv_nsec) / 1e9) < 0
        || fclose(out) != 0) {
        fprintf(stderr, "spawn_clock: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
