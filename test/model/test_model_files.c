/* Model files that are not what they seem or do not stay what they were: a
 * FIFO or a directory instead of a file, a file overwritten or truncated
 * after the load, a mapping refused by a memory limit, an image at an odd
 * address. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <bitnet/bitnet.h>

#include "test_util.h"
#include "tiny_model.h"

static uint8_t *tiny_image(size_t *size)
{
    bn_tiny_opts o;
    bn_tiny_default(&o);
    uint8_t *img = bn_tiny_build(&o, size);
    assert_non_null(img);
    return img;
}

/* A directory of our own in $TMPDIR for special files. */
static char *temp_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    char *dir = malloc(4096);
    assert_non_null(dir);
    snprintf(dir, 4096, "%s/bn-files-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    return dir;
}

/* ---- special files ------------------------------------------------------- */
static void expect_refused(const char *path, const char *kind)
{
    bn_model *m = (bn_model *)1;
    alarm(20);      /* a load that blocks fails the test instead of hanging it */
    int rc = bn_model_load(&m, path, NULL);
    alarm(0);
    assert_int_equal(rc, BN_E_IO);
    assert_null(m);
    if (!strstr(bn_last_error(), "not a regular file") || !strstr(bn_last_error(), kind))
        fail_msg("%s: unexpected message: %s", path, bn_last_error());
}

static void test_fifo_and_directory_refused(void **state)
{
    (void)state;
    char *dir = temp_dir();
    char fifo[4200];
    snprintf(fifo, sizeof fifo, "%s/model.gguf", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    expect_refused(fifo, "FIFO");       /* open() without O_NONBLOCK waits for a writer */
    expect_refused(dir, "directory");
    expect_refused("/dev/null", "character device");
    unlink(fifo);
    rmdir(dir);
    free(dir);
}

/* ---- the file changes after the load ----------------------------------------- */
#define MAX_META 64

typedef struct meta_snapshot {
    int32_t n;
    char key[MAX_META][128];
    char value[MAX_META][256];
    char arch[64], name[64];
    int32_t n_embd;
} meta_snapshot;

static void snapshot(const bn_model *m, meta_snapshot *s)
{
    memset(s, 0, sizeof *s);
    s->n = bn_model_meta_count(m);
    assert_true(s->n > 0 && s->n <= MAX_META);
    for (int32_t i = 0; i < s->n; i++) {
        assert_true(bn_model_meta_key_by_index(m, i, s->key[i], sizeof s->key[i]) >= 0);
        assert_true(bn_model_meta_string(m, s->key[i], s->value[i], sizeof s->value[i]) >= 0);
    }
    snprintf(s->arch, sizeof s->arch, "%s", bn_model_arch_name(m));
    snprintf(s->name, sizeof s->name, "%s", bn_model_name(m));
    s->n_embd = bn_model_n_embd(m);
}

static void expect_same(const meta_snapshot *a, const meta_snapshot *b, const char *when)
{
    if (a->n != b->n)
        fail_msg("%s: %d metadata keys, were %d", when, b->n, a->n);
    for (int32_t i = 0; i < a->n; i++)
        if (strcmp(a->key[i], b->key[i]) || strcmp(a->value[i], b->value[i]))
            fail_msg("%s: key %d is '%s' = '%s', was '%s' = '%s'", when, i, b->key[i], b->value[i],
                     a->key[i], a->value[i]);
    assert_string_equal(a->arch, b->arch);
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->n_embd, b->n_embd);
}

static void metadata_survives(int use_mmap)
{
    size_t size;
    uint8_t *img = tiny_image(&size);
    char *path = bn_test_temp_file(img, size);
    assert_non_null(path);
    bn_model_params p;
    bn_model_params_default(&p);
    p.use_mmap = use_mmap;
    bn_model *m = NULL;
    assert_int_equal(bn_model_load(&m, path, &p), BN_OK);
    meta_snapshot before, after;
    snapshot(m, &before);

    /* overwritten in place (same inode: a mapping sees the new bytes) */
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    memset(img, 0xA5, size);
    assert_int_equal(pwrite(fd, img, size, 0), (ssize_t)size);
    snapshot(m, &after);
    expect_same(&before, &after, "overwritten");

    /* truncated: reading a mapped page past the end would be SIGBUS */
    assert_int_equal(ftruncate(fd, 0), 0);
    close(fd);
    snapshot(m, &after);
    expect_same(&before, &after, "truncated");

    bn_model_free(&m);
    bn_test_temp_file_remove(path);
    free(img);
}

static void test_metadata_survives_changed_file_mmap(void **state)
{
    (void)state;
    metadata_survives(1);
}

static void test_metadata_survives_changed_file_read(void **state)
{
    (void)state;
    metadata_survives(0);
}

/* ---- a memory limit ------------------------------------------------------------- */
static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* Under `ulimit -v` a 1 GB file cannot be mapped: out of memory, not an I/O
 * error, and the path said once. Run in a child: the limit stays there. */
static void test_mmap_under_memory_limit(void **state)
{
    (void)state;
    char *path = bn_test_temp_file("GGUF", 4);
    assert_non_null(path);
    assert_int_equal(truncate(path, 1 << 30), 0);  /* sparse: no disk used */
    if (bn_test_statm_bytes(0) == 0) {
        bn_test_temp_file_remove(path);
        skip();
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit r;
        r.rlim_cur = r.rlim_max = bn_test_statm_bytes(0) + (256u << 20);
        if (setrlimit(RLIMIT_AS, &r))
            _exit(3);
        if (!bn_test_rlimit_as_binds())
            _exit(77);  /* qemu-user keeps RLIMIT_AS to itself */
        bn_model *m = NULL;
        int rc = bn_model_load(&m, path, NULL);
        const char *msg = bn_last_error();
        if (rc != BN_E_NOMEM || count(msg, path) != 1) {
            fprintf(stderr, "status %s, message: %s\n", bn_strerror(rc), msg);
            _exit(1);
        }
        _exit(0);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    bn_test_temp_file_remove(path);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
        skip();
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- an image at an odd address ---------------------------------------------------- */
/* The F32 norms of an image one byte off must not be read as misaligned
 * floats (UBSan reports it in CI's sanitizer step: halt_on_error); the model
 * decodes like the aligned one. */
static void test_misaligned_image(void **state)
{
    (void)state;
    size_t size;
    uint8_t *img = tiny_image(&size);
    uint8_t *odd = malloc(size + 1);
    assert_non_null(odd);
    memcpy(odd + 1, img, size);
    bn_model *a = NULL, *b = NULL;
    assert_int_equal(bn_model_load_from_memory(&a, img, size, NULL), BN_OK);
    assert_int_equal(bn_model_load_from_memory(&b, odd + 1, size, NULL), BN_OK);
    bn_ctx_params cp;
    bn_ctx_params_default(&cp);
    cp.n_ctx = 16;
    cp.n_threads = 1;
    bn_ctx *ca = NULL, *cb = NULL;
    assert_int_equal(bn_ctx_new(&ca, a, &cp), BN_OK);
    assert_int_equal(bn_ctx_new(&cb, b, &cp), BN_OK);
    const bn_token t[3] = { 1, 2, 3 };
    assert_int_equal(bn_decode(ca, t, 3), BN_OK);
    assert_int_equal(bn_decode(cb, t, 3), BN_OK);
    assert_memory_equal(bn_ctx_logits(ca), bn_ctx_logits(cb), (size_t)bn_model_n_vocab(a) * sizeof(float));
    bn_ctx_free(&ca);
    bn_ctx_free(&cb);
    bn_model_free(&a);
    bn_model_free(&b);
    free(odd);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_and_directory_refused),
        cmocka_unit_test(test_metadata_survives_changed_file_mmap),
        cmocka_unit_test(test_metadata_survives_changed_file_read),
        cmocka_unit_test(test_mmap_under_memory_limit),
        cmocka_unit_test(test_misaligned_image),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
