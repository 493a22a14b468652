/* bitnet-info: what a GGUF model file holds, as libbitnet sees it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bitnet/bitnet.h>

#include "common/tool_common.h"
#include "common/tool_escape.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: bitnet-info [OPTIONS] MODEL.gguf\n"
            "Print the architecture, hyper-parameters and weights of a GGUF model.\n\n"
            "  -k, --keys       also list every metadata key with its value\n"
            "      --no-mmap    read the file into memory instead of mapping it\n"
            "      --no-check   do not scan the ternary weights for invalid codes\n"
            "  -h, --help       show this help and exit\n"
            "      --version    show the library version and exit\n\n"
            "Exit status: 0 on success, 1 if the model cannot be loaded, 2 on usage errors.\n");
}

static void print_keys(const bn_model *m)
{
    int32_t n = bn_model_meta_count(m);
    for (int32_t i = 0; i < n; i++) {
        char key[256], val[120];
        bn_model_meta_key_by_index(m, i, key, sizeof key);
        int32_t len = bn_model_meta_string(m, key, val, sizeof val);
        printf("  ");
        bn_tool_fputs_untrusted(key, stdout);
        printf("%*s ", strlen(key) < 44 ? (int)(44 - strlen(key)) : 0, "");
        bn_tool_fputs_untrusted(val, stdout);
        printf("%s\n", len >= (int32_t)sizeof val ? "..." : "");
    }
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    int keys = 0;
    bn_tool_init("bitnet-info");
    bn_model_params mp;
    bn_model_params_default(&mp);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            printf("bitnet-info (libbitnet) %s\n", bn_version_string());
            return 0;
        } else if (!strcmp(a, "-k") || !strcmp(a, "--keys")) {
            keys = 1;
        } else if (!strcmp(a, "--no-mmap")) {
            mp.use_mmap = 0;
        } else if (!strcmp(a, "--no-check")) {
            mp.check_weights = 0;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "bitnet-info: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (path) {
            fprintf(stderr, "bitnet-info: more than one model given\n");
            return 2;
        } else {
            path = a;
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    bn_model *m = NULL;
    double t0 = now_s();
    int rc = bn_model_load(&m, path, &mp);
    double t1 = now_s();
    if (rc != BN_OK) {
        fprintf(stderr, "bitnet-info: %s: ", bn_strerror(rc));
        bn_tool_fputs_untrusted(bn_last_error(), stderr);
        fputc('\n', stderr);
        return 1;
    }
    printf("file          %s\n", path);
    printf("architecture  %s\n", bn_model_arch_name(m));
    printf("name          ");
    bn_tool_fputs_untrusted(bn_model_name(m), stdout);
    printf("\n");
    printf("weights       %s\n", bn_model_weight_type_name(m));
    printf("n_vocab       %" PRId32 "\n", bn_model_n_vocab(m));
    printf("n_embd        %" PRId32 "\n", bn_model_n_embd(m));
    printf("n_layer       %" PRId32 "\n", bn_model_n_layer(m));
    printf("n_head        %" PRId32 "\n", bn_model_n_head(m));
    printf("n_head_kv     %" PRId32 "\n", bn_model_n_head_kv(m));
    printf("n_ff          %" PRId32 "\n", bn_model_n_ff(m));
    printf("n_ctx_train   %" PRId32 "\n", bn_model_n_ctx_train(m));
    printf("parameters    %" PRIu64 "\n", bn_model_n_params(m));
    printf("tensor bytes  %" PRIu64 " (%.1f MiB)\n", bn_model_weight_bytes(m),
           (double)bn_model_weight_bytes(m) / (1024.0 * 1024.0));
    char buf[64];
    bn_model_meta_string(m, "general.file_type", buf, sizeof buf);
    printf("load time     %.1f ms\n", (t1 - t0) * 1e3);
    if (keys) {
        printf("metadata      %" PRId32 " keys\n", bn_model_meta_count(m));
        print_keys(m);
    }
    bn_model_free(&m);
    return 0;
}
