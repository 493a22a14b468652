/* mkmodel_tar.h on POSIX systems: posix_spawnp, output through a pipe. */
#include "mkmodel_tar.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"

extern char **environ;

/* Runs `tar -xOf tarball package/member` and collects its output. */
int bn_mkmodel_tar_read(const char *tarball, const char *member, char **data, size_t *size)
{
    char name[256];
    snprintf(name, sizeof name, "package/%s", member);
    int fds[2];
    if (pipe(fds))
        return bn_fail(BN_E_IO, "pipe: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    char *argv[] = { "tar", "-xOf", (char *)tarball, name, NULL };
    pid_t pid;
    int err = posix_spawnp(&pid, "tar", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (err) {
        close(fds[0]);
        return bn_fail(BN_E_IO, "cannot run tar to read '%s': %s", tarball, strerror(err));
    }
    FILE *out = fdopen(fds[0], "rb");
    int rc = out ? bn_mkmodel_read_stream(out, tarball, data, size)
                 : bn_fail(BN_E_IO, "pipe: %s", strerror(errno));
    if (out)
        fclose(out);
    else
        close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!rc && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
        free(*data);
        *data = NULL;
        rc = bn_fail(BN_E_IO, "'%s': tar could not extract %s (an npm tarball is expected)",
                     tarball, name);
    }
    return rc;
}

