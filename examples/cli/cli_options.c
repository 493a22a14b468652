#include "cli_options.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_TEMP = 256, OPT_TOP_K, OPT_TOP_P, OPT_MIN_P, OPT_REPEAT_PENALTY, OPT_REPEAT_LAST_N,
    OPT_FREQ_PENALTY, OPT_PRESENCE_PENALTY, OPT_SEED, OPT_CHAT, OPT_SYSTEM, OPT_TEMPLATE,
    OPT_STOP, OPT_RAW_OUTPUT, OPT_DRAFT, OPT_DRAFT_MODEL, OPT_VERSION,
};

static const struct option long_opts[] = {
    { "model", required_argument, NULL, 'm' },
    { "prompt", required_argument, NULL, 'p' },
    { "file", required_argument, NULL, 'f' },
    { "n-predict", required_argument, NULL, 'n' },
    { "threads", required_argument, NULL, 't' },
    { "ctx-size", required_argument, NULL, 'c' },
    { "batch-size", required_argument, NULL, 'b' },
    { "temp", required_argument, NULL, OPT_TEMP },
    { "top-k", required_argument, NULL, OPT_TOP_K },
    { "top-p", required_argument, NULL, OPT_TOP_P },
    { "min-p", required_argument, NULL, OPT_MIN_P },
    { "repeat-penalty", required_argument, NULL, OPT_REPEAT_PENALTY },
    { "repeat-last-n", required_argument, NULL, OPT_REPEAT_LAST_N },
    { "frequency-penalty", required_argument, NULL, OPT_FREQ_PENALTY },
    { "presence-penalty", required_argument, NULL, OPT_PRESENCE_PENALTY },
    { "seed", required_argument, NULL, OPT_SEED },
    { "chat", no_argument, NULL, OPT_CHAT },
    { "system", required_argument, NULL, OPT_SYSTEM },
    { "chat-template", required_argument, NULL, OPT_TEMPLATE },
    { "stop", required_argument, NULL, OPT_STOP },
    { "raw-output", no_argument, NULL, OPT_RAW_OUTPUT },
    { "draft", required_argument, NULL, OPT_DRAFT },
    { "draft-model", required_argument, NULL, OPT_DRAFT_MODEL },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: " BN_CLI_PROG " [-m MODEL] -p PROMPT [OPTIONS]\n"
               "       " BN_CLI_PROG " [-m MODEL] --chat [--system TEXT] [OPTIONS]\n");
}

static void help(void)
{
    usage(stdout);
    printf("Generate text with a ternary (BitNet b1.58) language model, streaming it as it\n"
           "comes; or hold a conversation with --chat.\n"
           "\n"
           "Model and prompt:\n"
           "  -m, --model FILE          GGUF model (default: the bundled default.gguf)\n"
           "  -p, --prompt TEXT         the prompt (with --chat: the first message)\n"
           "  -f, --file FILE           read the prompt from FILE (- = standard input)\n"
           "  -n, --n-predict N         tokens to generate (per answer with --chat);\n"
           "                            -1 = until the model ends or the context is full\n"
           "                            (default -1)\n"
           "      --stop TEXT           stop when the text contains TEXT (repeatable)\n"
           "      --raw-output          write control characters to a terminal as they\n"
           "                            are (default: shown as \\x1b, \\u009b, ...; pipes\n"
           "                            and files always get the text byte for byte)\n"
           "\n"
           "Chat:\n"
           "      --chat                converse: each line of standard input is a message,\n"
           "                            each answer is printed as it is generated\n"
           "      --system TEXT         the system message of the conversation\n"
           "      --chat-template NAME  bitnet-2b4t or llama3 (default: from the model)\n"
           "\n"
           "Sampling:\n"
           "      --temp F              temperature; 0 = greedy (default 0.8)\n"
           "      --top-k N             keep the N most likely tokens; 0 = all (default 40)\n"
           "      --top-p F             keep the most likely tokens up to mass F; 1 = off\n"
           "                            (default 0.95)\n"
           "      --min-p F             drop tokens less likely than F times the best;\n"
           "                            0 = off (default 0.05)\n"
           "      --repeat-penalty F    penalise recent tokens; 1 = off (default 1.0)\n"
           "      --repeat-last-n N     recent tokens the penalties look at (default 64)\n"
           "      --frequency-penalty F subtract F per occurrence of a recent token\n"
           "                            (default 0)\n"
           "      --presence-penalty F  subtract F once from each recent token (default 0)\n"
           "      --seed N              seed of the generator; the same seed, model and\n"
           "                            options give the same text (default 24301)\n"
           "\n"
           "Performance:\n"
           "  -t, --threads N           threads; 0 = all CPUs (default 0)\n"
           "  -c, --ctx-size N          context size in tokens; 0 = the smaller of 4096 and\n"
           "                            the model's training context (default 0)\n"
           "  -b, --batch-size N        prompt tokens per forward pass (default 512)\n"
           "      --draft N             speculative decoding: draft up to N tokens per pass\n"
           "                            from the text so far (prompt lookup) and check them\n"
           "                            in one pass; the same text as without it (greedy:\n"
           "                            token for token), faster where the text repeats;\n"
           "                            0 = off (default 0)\n"
           "      --draft-model FILE    draft with this small model of the same vocabulary\n"
           "                            instead (its greedy continuation; --draft 8 unless\n"
           "                            given); the text is still the same\n"
           "\n"
           "  -h, --help                show this help and exit\n"
           "      --version             show the version and exit\n"
           "\n"
           "The text goes to standard output; progress, notes, errors and a one-line\n"
           "summary (tokens and tokens per second) go to standard error.\n"
           "Ctrl-C stops the text at the next token (a long prompt within a layer):\n"
           "generation ends with its summary, a chat returns to its prompt; Ctrl-C at\n"
           "the prompt, or twice within a second, ends the program.\n"
           "Exit status: 0 success, 1 failure (model file, context, writing the output,\n"
           "...), 2 bad usage, 130 ended by Ctrl-C.\n");
}

static int bad_value(const char *opt, const char *value, const char *what)
{
    fprintf(stderr, BN_CLI_PROG ": %s: needs %s, got '%s'\n", opt, what, value);
    return BN_CLI_USAGE;
}

/* The option as messages name it ("-n", "--temp"), whichever way it was
 * typed: argv[optind - 1] is the value when it came as a separate word. */
static const char *option_name(int c, char *buf, size_t size)
{
    for (const struct option *o = long_opts; o->name; o++)
        if (o->val == c) {
            if (c < 256)
                snprintf(buf, size, "-%c", c);
            else
                snprintf(buf, size, "--%s", o->name);
            return buf;
        }
    return "?";
}

/* Parses an integer in [lo, hi]; returns 0 or BN_CLI_USAGE. */
static int int_arg(const char *opt, const char *value, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (end == value || *end || errno || v < lo || v > hi) {
        char what[96];
        snprintf(what, sizeof what, "an integer from %ld to %ld", lo, hi);
        return bad_value(opt, value, what);
    }
    *out = (int)v;
    return 0;
}

static int float_arg(const char *opt, const char *value, double lo, double hi, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (end == value || *end || errno || !isfinite(v) || v < lo || v > hi) {
        char what[96];
        if (hi == HUGE_VAL)
            snprintf(what, sizeof what, "a number of at least %g", lo);
        else
            snprintf(what, sizeof what, "a number from %g to %g", lo, hi);
        return bad_value(opt, value, what);
    }
    *out = (float)v;
    return 0;
}

static int seed_arg(const char *value, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(value, &end, 0);
    if (end == value || *end || errno || value[0] == '-')
        return bad_value("--seed", value, "a non-negative integer");
    *out = (uint64_t)v;
    return 0;
}

void bn_cli_options_release(bn_cli_options *o)
{
    free(o->stop);
    o->stop = NULL;
    o->n_stop = 0;
}

static int parse(bn_cli_options *o, int argc, char **argv)
{
    int c, rc = 0;
    opterr = 0;
    while (!rc && (c = getopt_long(argc, argv, ":m:p:f:n:t:c:b:h", long_opts, NULL)) != -1) {
        char name[32];
        const char *opt = option_name(c, name, sizeof name);
        switch (c) {
        case 'm': o->model = optarg; break;
        case 'p': o->prompt = optarg; break;
        case 'f': o->prompt_file = optarg; break;
        case 'n': rc = int_arg(opt, optarg, -1, INT32_MAX, &o->n_predict); break;
        case 't': rc = int_arg(opt, optarg, 0, 512, &o->n_threads); break;
        case 'c': rc = int_arg(opt, optarg, 0, 1 << 24, &o->n_ctx); break;
        case 'b': rc = int_arg(opt, optarg, 1, 1 << 24, &o->n_batch); break;
        case OPT_TEMP: rc = float_arg("--temp", optarg, 0, HUGE_VAL, &o->sampling.temperature); break;
        case OPT_TOP_K: rc = int_arg("--top-k", optarg, 0, INT32_MAX, &o->sampling.top_k); break;
        case OPT_TOP_P: rc = float_arg("--top-p", optarg, 0, 1, &o->sampling.top_p); break;
        case OPT_MIN_P: rc = float_arg("--min-p", optarg, 0, 1, &o->sampling.min_p); break;
        case OPT_REPEAT_PENALTY:
            rc = float_arg("--repeat-penalty", optarg, 1e-6, HUGE_VAL, &o->sampling.repeat_penalty);
            break;
        case OPT_REPEAT_LAST_N:
            rc = int_arg("--repeat-last-n", optarg, 0, 1 << 20, &o->sampling.penalty_last_n);
            break;
        case OPT_FREQ_PENALTY:
            rc = float_arg("--frequency-penalty", optarg, -HUGE_VAL, HUGE_VAL, &o->sampling.frequency_penalty);
            break;
        case OPT_PRESENCE_PENALTY:
            rc = float_arg("--presence-penalty", optarg, -HUGE_VAL, HUGE_VAL, &o->sampling.presence_penalty);
            break;
        case OPT_SEED: rc = seed_arg(optarg, &o->sampling.seed); break;
        case OPT_CHAT: o->chat = 1; break;
        case OPT_RAW_OUTPUT: o->raw_output = 1; break;
        case OPT_DRAFT: rc = int_arg("--draft", optarg, 0, 64, &o->n_draft); o->draft_set = 1; break;
        case OPT_DRAFT_MODEL: o->draft_model = optarg; break;
        case OPT_SYSTEM: o->system = optarg; break;
        case OPT_TEMPLATE: o->chat_template = optarg; break;
        case OPT_STOP: {
            if (!optarg[0]) {
                rc = bad_value("--stop", optarg, "a non-empty text");
                break;
            }
            const char **s = realloc(o->stop, (o->n_stop + 1) * sizeof *s);
            if (!s) {
                fprintf(stderr, BN_CLI_PROG ": out of memory\n");
                return BN_CLI_FAILURE;
            }
            o->stop = s;
            o->stop[o->n_stop++] = optarg;
            break;
        }
        case 'h':
            help();
            return BN_CLI_OK;
        case OPT_VERSION:
            printf(BN_CLI_PROG " (libbitnet) %s\n", bn_version_string());
            return BN_CLI_OK;
        case ':':
            fprintf(stderr, BN_CLI_PROG ": option '%s' needs a value\n", argv[optind - 1]);
            rc = BN_CLI_USAGE;
            break;
        default:
            fprintf(stderr, BN_CLI_PROG ": unknown option '%s'\n", argv[optind - 1]);
            rc = BN_CLI_USAGE;
            break;
        }
    }
    if (rc)
        return rc;
    if (optind < argc) {
        fprintf(stderr, BN_CLI_PROG ": unexpected argument '%s' (the prompt goes after -p)\n", argv[optind]);
        return BN_CLI_USAGE;
    }
    if (o->prompt && o->prompt_file) {
        fprintf(stderr, BN_CLI_PROG ": -p and -f both give the prompt: use one\n");
        return BN_CLI_USAGE;
    }
    if (!o->chat && !o->prompt && !o->prompt_file) {
        fprintf(stderr, BN_CLI_PROG ": no prompt: give -p TEXT, -f FILE, or --chat\n");
        return BN_CLI_USAGE;
    }
    if (!o->chat && (o->system || o->chat_template)) {
        fprintf(stderr, BN_CLI_PROG ": %s needs --chat\n", o->system ? "--system" : "--chat-template");
        return BN_CLI_USAGE;
    }
    if (o->draft_model && o->draft_set && o->n_draft == 0) {
        fprintf(stderr, BN_CLI_PROG ": --draft-model with --draft 0: no drafts to make\n");
        return BN_CLI_USAGE;
    }
    if (o->draft_model && !o->draft_set)
        o->n_draft = 8;
    if (o->chat && o->prompt_file && !strcmp(o->prompt_file, "-")) {
        fprintf(stderr, BN_CLI_PROG ": with --chat, standard input holds the conversation: -f - is not possible\n");
        return BN_CLI_USAGE;
    }
    return -1;
}

int bn_cli_parse(bn_cli_options *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->n_predict = -1;
    o->n_batch = 512;
    bn_sampler_params_default(&o->sampling);
    int rc = parse(o, argc, argv);
    if (rc == BN_CLI_USAGE)
        fprintf(stderr, "Try '" BN_CLI_PROG " --help' for more information.\n");
    if (rc >= 0)
        bn_cli_options_release(o);
    return rc;
}
