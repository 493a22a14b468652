/* A read-only view of a whole file: mmap'ed, or read into memory. */
#ifndef BN_CORE_MAPFILE_H
#define BN_CORE_MAPFILE_H

#include <stddef.h>
#include <stdint.h>

typedef struct bn_mapfile {
    const uint8_t *data;
    uint64_t size;
    int mapped;     /* 1: munmap on close; 0: free */
} bn_mapfile;

/* Returns BN_OK, BN_E_IO (message names the path and errno text) or BN_E_NOMEM. */
int bn_mapfile_open(bn_mapfile *f, const char *path, int use_mmap);
void bn_mapfile_close(bn_mapfile *f);

#endif
