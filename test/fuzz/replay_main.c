/*
 * Runs a fuzz target (LLVMFuzzerTestOneInput) on files, without a fuzzing
 * engine: each argument is a file or a directory whose files (not
 * subdirectories, not dot files) are run in name order. Each input is copied
 * into a buffer of exactly its size, so that a sanitizer sees any read past
 * its end. Exits non-zero when an argument cannot be read or no input ran; a
 * violated invariant aborts inside the target.
 *
 *     fuzz_gguf_replay test/fuzz/corpus/gguf [more files or dirs...]
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        size_t k = fread(buf + len, 1, cap - len, f);
        len += k;
        if (len < cap)
            break;
        uint8_t *p = realloc(buf, cap * 2);
        if (!p) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = p;
        cap *= 2;
    }
    int err = !buf || ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        fprintf(stderr, "replay: cannot read %s\n", path);
        return -1;
    }
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in a directory, sorted, without dot files (opendir/readdir:
 * scandir is not on Windows). Returns the count, or -1. */
static int list_dir(const char *path, char ***out)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    char **names = NULL;
    int n = 0, cap = 0, ok = 1;
    for (struct dirent *e; ok && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(names, (size_t)cap * sizeof *names);
            ok = grown != NULL;
            names = grown ? grown : names;
        }
        if (ok && (ok = (names[n] = strdup(e->d_name)) != NULL))
            n++;
    }
    closedir(d);
    if (!ok) {
        while (n > 0)
            free(names[--n]);
        free(names);
        return -1;
    }
    qsort(names, (size_t)n, sizeof *names, by_name);
    *out = names;
    return n;
}

/* Returns the number of inputs run, or -1. */
static long run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: no such file or directory: %s\n", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return run_file(path) ? -1 : 1;
    char **list = NULL;
    int n = list_dir(path, &list);
    if (n < 0) {
        fprintf(stderr, "replay: cannot list %s\n", path);
        return -1;
    }
    long ran = 0;
    for (int i = 0; i < n && ran >= 0; i++) {
        size_t len = strlen(path) + strlen(list[i]) + 2;
        char *file = malloc(len);
        if (file) {
            snprintf(file, len, "%s/%s", path, list[i]);
            if (stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
                if (run_file(file) == 0)
                    ran++;
                else
                    ran = -1;
            }
            free(file);
        }
    }
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
    return ran;
}

int main(int argc, char **argv)
{
    long total = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        long n = run_path(argv[i]);
        if (n < 0)
            return 1;
        total += n;
    }
    printf("replayed %ld inputs\n", total);
    return total > 0 ? 0 : 1;
}
