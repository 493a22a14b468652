/* core/platform.h on the OS it was built for (POSIX, or Windows under Wine
 * in CI): the same expectations on both. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/error.h"
#include "core/mapfile.h"
#include "core/platform.h"
#include "test_util.h"

static void test_aligned_alloc(void **state)
{
    (void)state;
    const size_t aligns[] = { 16, 64, 4096, (size_t)2 << 20 };
    for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
        uint8_t *p = bn_aligned_alloc(aligns[i], 1000);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % aligns[i], 0);
        memset(p, 0xab, 1000);
        bn_aligned_free(p);
    }
    bn_aligned_free(NULL);
    /* a size the address space cannot hold: NULL, no crash */
    assert_null(bn_aligned_alloc(64, SIZE_MAX - 8));
}

static void test_machine(void **state)
{
    (void)state;
    assert_true(bn_cpu_count() >= 1);
    size_t page = bn_page_size();
    assert_true(page >= 4096 && (page & (page - 1)) == 0);
}

static void test_memmem(void **state)
{
    (void)state;
    const char *hay = "abcabcabd";
    assert_ptr_equal(bn_memmem(hay, 9, "abd", 3), hay + 6);
    assert_ptr_equal(bn_memmem(hay, 9, "a", 1), hay);
    assert_ptr_equal(bn_memmem(hay, 9, "abcabcabd", 9), hay);
    assert_null(bn_memmem(hay, 9, "abe", 3));
    assert_null(bn_memmem(hay, 8, "abd", 3));     /* past the end */
    assert_null(bn_memmem(hay, 2, "abc", 3));
    const char bin[] = { 0, 1, 0, 2, 0, 1, 0, 3 };
    assert_ptr_equal(bn_memmem(bin, 8, "\0\1\0\3", 4), bin + 4);
}

static void test_files(void **state)
{
    (void)state;
    uint8_t data[10000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    char *path = bn_test_temp_file(data, sizeof data);
    assert_non_null(path);
    int fd = bn_file_open_read(path);
    assert_true(fd >= 0);
    const char *kind = NULL;
    assert_int_equal(bn_file_regular(fd, &kind), 1);
    const uint8_t *map = bn_file_map(fd, sizeof data);
    assert_non_null(map);
    assert_memory_equal(map, data, sizeof data);
    uint8_t got[100];
    assert_int_equal(bn_file_pread(fd, got, sizeof got, 5000), (int64_t)sizeof got);
    assert_memory_equal(got, data + 5000, sizeof got);
    assert_int_equal(bn_file_pread(fd, got, sizeof got, sizeof data), 0);     /* at the end */
    bn_release_mapped((void *)map, sizeof data);    /* a hint: the bytes stay readable */
    assert_memory_equal(map, data, sizeof data);
    bn_file_unmap((void *)map, sizeof data);
    close(fd);

    /* the same through bn_mapfile, mapped and read */
    for (int use_mmap = 0; use_mmap <= 1; use_mmap++) {
        bn_mapfile f;
        assert_int_equal(bn_mapfile_open(&f, path, use_mmap), BN_OK);
        assert_int_equal(f.size, sizeof data);
        assert_memory_equal(f.data, data, sizeof data);
        bn_mapfile_close(&f);
    }
    bn_test_temp_file_remove(path);

    assert_int_equal(bn_file_open_read(BN_TEST_BUILDDIR "/no-such-file"), -1);
    /* a directory opens but is not a regular file (Windows: fstat says it is) */
    fd = bn_file_open_read(BN_TEST_BUILDDIR);
    if (fd >= 0) {
        assert_int_equal(bn_file_regular(fd, &kind), 0);
        assert_string_equal(kind, "a directory");
        close(fd);
    }
}

static void *fail_on_thread(void *arg)
{
    (void)arg;
    bn_fail(BN_E_IO, "message of the second thread");
    return strcmp(bn_last_error(), "message of the second thread") ? (void *)1 : NULL;
}

static void test_error_per_thread(void **state)
{
    (void)state;
    bn_fail(BN_E_FORMAT, "message of the first thread %zu", (size_t)42);
    pthread_t th;
    void *bad = (void *)1;
    assert_int_equal(pthread_create(&th, NULL, fail_on_thread, NULL), 0);
    assert_int_equal(pthread_join(th, &bad), 0);
    assert_null(bad);
    assert_string_equal(bn_last_error(), "message of the first thread 42");
    assert_int_equal(bn_fail_prefix(BN_E_IO, "file.gguf"), BN_E_IO);
    assert_string_equal(bn_last_error(), "file.gguf: message of the first thread 42");
}

/* Windows code under Wine cannot get the AMX tile state from Linux (only a
 * Linux process can ask for it): the platform must say so, whatever the CPU
 * has, so that the AVX-512 kernels are used instead. */
static void test_amx_state(void **state)
{
    (void)state;
    int available = bn_os_amx_available();
    assert_true(available == 0 || available == 1);
    if (bn_test_under_wine()) {
        assert_int_equal(available, 0);
        assert_int_equal(bn_os_amx_request(), 0);
    }
    print_message("the OS can grant the AMX tile state: %s%s\n", available ? "yes" : "no",
                  bn_test_under_wine() ? " (Wine)" : "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aligned_alloc),
        cmocka_unit_test(test_machine),
        cmocka_unit_test(test_memmem),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_error_per_thread),
        cmocka_unit_test(test_amx_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
