#include "server_options.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bitnet/bitnet.h>

#include "common/tool_common.h"

enum {
    OPT_HOST = 256, OPT_PORT, OPT_QUEUE, OPT_TIMEOUT, OPT_IDLE_TIMEOUT, OPT_DRAIN_TIMEOUT,
    OPT_MAX_BODY, OPT_API_KEY, OPT_API_KEY_FILE, OPT_ALIAS, OPT_TEMPLATE, OPT_VERSION, OPT_DRAFT,
};

static const struct option long_opts[] = {
    { "model", required_argument, NULL, 'm' },
    { "host", required_argument, NULL, OPT_HOST },
    { "port", required_argument, NULL, OPT_PORT },
    { "parallel", required_argument, NULL, 'P' },
    { "ctx-size", required_argument, NULL, 'c' },
    { "batch-size", required_argument, NULL, 'b' },
    { "draft", required_argument, NULL, OPT_DRAFT },
    { "threads", required_argument, NULL, 't' },
    { "queue", required_argument, NULL, OPT_QUEUE },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
    { "drain-timeout", required_argument, NULL, OPT_DRAIN_TIMEOUT },
    { "max-body", required_argument, NULL, OPT_MAX_BODY },
    { "api-key", required_argument, NULL, OPT_API_KEY },
    { "api-key-file", required_argument, NULL, OPT_API_KEY_FILE },
    { "alias", required_argument, NULL, OPT_ALIAS },
    { "chat-template", required_argument, NULL, OPT_TEMPLATE },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 },
};

static void help(void)
{
    printf("Usage: " BN_SRV_PROG " [-m MODEL] [OPTIONS]\n"
           "Serve a ternary (BitNet b1.58) language model over an OpenAI-compatible HTTP API:\n"
           "POST /v1/chat/completions, /v1/completions, /tokenize, /detokenize;\n"
           "GET /v1/models, /health, /metrics. Requests are decoded together (continuous\n"
           "batching); answers stream as server-sent events with \"stream\": true.\n"
           "\n"
           "Model:\n"
           "  -m, --model FILE          GGUF model (default: the bundled default.gguf)\n"
           "      --alias NAME          the model's id in the API (default: the file name)\n"
           "      --chat-template NAME  bitnet-2b4t or llama3 (default: the one that fits the\n"
           "                            model, else bitnet-2b4t)\n"
           "\n"
           "Network:\n"
           "      --host ADDRESS        address to listen on (default 127.0.0.1: this machine\n"
           "                            only; 0.0.0.0 or :: for every interface)\n"
           "      --port N              port; 0 = any free port (default 8080)\n"
           "      --api-key KEY         require 'Authorization: Bearer KEY' (not on /health)\n"
           "      --api-key-file FILE   the same, the key being the first line of FILE\n"
           "\n"
           "Limits:\n"
           "  -P, --parallel N          sequences decoded together (default 4)\n"
           "      --queue N             requests that may wait for a sequence; more get\n"
           "                            429 (default 64)\n"
           "      --max-body BYTES      largest request body; larger get 413 (default 1048576)\n"
           "      --timeout S           seconds one request may take; 0 = no limit\n"
           "                            (default 600)\n"
           "      --idle-timeout S      seconds before a silent connection is closed\n"
           "                            (default 30)\n"
           "      --drain-timeout S     on SIGTERM or SIGINT, seconds to let running requests\n"
           "                            finish before cancelling them (default 30)\n"
           "\n"
           "Performance:\n"
           "  -t, --threads N           threads; 0 = all CPUs (default 0)\n"
           "  -c, --ctx-size N          tokens per sequence; 0 = the smaller of 4096 and the\n"
           "                            model's training context (default 0)\n"
           "  -b, --batch-size N        tokens per forward pass; a long prompt is fed in\n"
           "                            pieces of at most this (default 512)\n"
           "      --draft N             speculative decoding: up to N tokens per sequence\n"
           "                            drafted from its own text and checked in the same\n"
           "                            pass, same output (0-64; default 0: off)\n"
           "\n"
           "  -v, --verbose             log one line per request to standard error\n"
           "  -h, --help                show this help and exit\n"
           "      --version             show the version and exit\n"
           "\n"
           "Once listening, a line 'listening on http://ADDRESS:PORT' goes to standard output.\n"
           "Exit status: 0 after SIGTERM/SIGINT, 1 failure (model, address in use), 2 bad usage.\n");
}

static int bad_value(const char *opt, const char *value, const char *what)
{
    fprintf(stderr, BN_SRV_PROG ": %s needs %s, got '%s'\n", opt, what, value);
    return BN_SRV_USAGE;
}

static int int_arg(const char *opt, const char *value, long lo, long hi, int *out)
{
    return bn_tool_int_range(BN_SRV_PROG, opt, value, lo, hi, out);
}

/* The first line of a key file, without its line end; whitespace-only or empty is an error. */
static int read_key_file(srv_options *o, const char *path)
{
    size_t len;
    char *buf = bn_tool_read_file(path, &len);
    if (!buf) {
        fprintf(stderr, BN_SRV_PROG ": cannot read the API key file %s: %s\n", path, strerror(errno));
        return BN_SRV_FAILURE;
    }
    buf[strcspn(buf, "\r\n")] = 0;
    if (!buf[0] || strspn(buf, " \t") == strlen(buf)) {
        free(buf);
        fprintf(stderr, BN_SRV_PROG ": the API key file %s holds no key on its first line\n", path);
        return BN_SRV_FAILURE;
    }
    free(o->api_key_owned);
    o->api_key_owned = buf;
    o->api_key = buf;
    return 0;
}

void srv_options_release(srv_options *o)
{
    free(o->api_key_owned);
    o->api_key_owned = NULL;
    o->api_key = NULL;
}

static int parse(srv_options *o, int argc, char **argv)
{
    int c, rc = 0, max_body;
    opterr = 0;
    while (!rc && (c = getopt_long(argc, argv, ":m:P:c:b:t:vh", long_opts, NULL)) != -1) {
        const char *opt = argv[optind - 1];
        switch (c) {
        case 'm': o->model = optarg; break;
        case OPT_HOST: o->host = optarg; break;
        case OPT_PORT: rc = int_arg("--port", optarg, 0, 65535, &o->port); break;
        case 'P': rc = int_arg(opt, optarg, 1, 256, &o->n_parallel); break;
        case 'c': rc = int_arg(opt, optarg, 0, 1 << 24, &o->n_ctx); break;
        case 'b': rc = int_arg(opt, optarg, 1, 1 << 16, &o->n_batch); break;
        case OPT_DRAFT: rc = int_arg("--draft", optarg, 0, 64, &o->n_draft); break;
        case 't': rc = int_arg(opt, optarg, 0, 512, &o->n_threads); break;
        case OPT_QUEUE: rc = int_arg("--queue", optarg, 0, 1 << 16, &o->queue); break;
        case OPT_TIMEOUT: rc = int_arg("--timeout", optarg, 0, 86400 * 7, &o->timeout); break;
        case OPT_IDLE_TIMEOUT:
            rc = int_arg("--idle-timeout", optarg, 1, 86400, &o->idle_timeout);
            break;
        case OPT_DRAIN_TIMEOUT:
            rc = int_arg("--drain-timeout", optarg, 0, 86400, &o->drain_timeout);
            break;
        case OPT_MAX_BODY:
            rc = int_arg("--max-body", optarg, 64, 1 << 30, &max_body);
            if (!rc)
                o->max_body = (size_t)max_body;
            break;
        case OPT_API_KEY:
            if (!optarg[0])
                rc = bad_value("--api-key", optarg, "a non-empty key");
            o->api_key = optarg;
            break;
        case OPT_API_KEY_FILE: rc = read_key_file(o, optarg); break;
        case OPT_ALIAS:
            if (!optarg[0])
                rc = bad_value("--alias", optarg, "a non-empty name");
            o->alias = optarg;
            break;
        case OPT_TEMPLATE: o->chat_template = optarg; break;
        case 'v': o->verbose = 1; break;
        case 'h':
            help();
            return BN_SRV_OK;
        case OPT_VERSION:
            printf(BN_SRV_PROG " (libbitnet) %s\n", bn_version_string());
            return BN_SRV_OK;
        case ':':
            fprintf(stderr, BN_SRV_PROG ": option '%s' needs a value\n", opt);
            rc = BN_SRV_USAGE;
            break;
        default:
            fprintf(stderr, BN_SRV_PROG ": unknown option '%s'\n", opt);
            rc = BN_SRV_USAGE;
            break;
        }
    }
    if (rc)
        return rc;
    if (optind < argc) {
        fprintf(stderr, BN_SRV_PROG ": unexpected argument '%s'\n", argv[optind]);
        return BN_SRV_USAGE;
    }
    return -1;
}

int srv_options_parse(srv_options *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 8080;
    o->n_parallel = 4;
    o->n_batch = 512;
    o->queue = 64;
    o->timeout = 600;
    o->idle_timeout = 30;
    o->drain_timeout = 30;
    o->max_body = 1 << 20;
    int rc = parse(o, argc, argv);
    if (rc == BN_SRV_USAGE)
        fprintf(stderr, "Try '" BN_SRV_PROG " --help' for more information.\n");
    if (rc >= 0)
        srv_options_release(o);
    return rc;
}
