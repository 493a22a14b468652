/*
 * libbitnet: run 1.58-bit (ternary) language models on CPUs.
 *
 * The whole public API is this header (plus version.h). Every object is an
 * opaque handle created and destroyed by the library; every function that can
 * fail returns a status code (BN_OK = 0, negative = error) and never aborts.
 *
 * Thread safety
 * -------------
 * - A loaded bn_model is immutable. Any number of threads may call the
 *   functions taking a `const bn_model *` on the same model at once, and may
 *   create contexts on it, without locking.
 * - bn_model_free() must not race with any other use of that model, and every
 *   context created on the model must be freed first.
 * - The library keeps no global mutable state. The only per-thread state is
 *   the last error message (bn_last_error()), which belongs to the calling
 *   thread.
 *
 * Loading a model
 * ---------------
 *     bn_model_params mp;
 *     bn_model_params_default(&mp);
 *     bn_model *model = NULL;
 *     int rc = bn_model_load(&model, "model.gguf", &mp);
 *     if (rc != BN_OK) {
 *         fprintf(stderr, "%s: %s\n", bn_strerror(rc), bn_last_error());
 *         return 1;
 *     }
 *     printf("%s, %d layers\n", bn_model_arch_name(model), bn_model_n_layer(model));
 *     bn_model_free(&model);   // sets model to NULL
 */
#ifndef BITNET_BITNET_H
#define BITNET_BITNET_H

#include <stddef.h>
#include <stdint.h>

#include "bitnet/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  define BN_API __declspec(dllimport)
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define BN_API __attribute__((visibility("default")))
#else
#  define BN_API
#endif

/* ------------------------------------------------------------------------ */
/* Handles and basic types                                                   */
/* ------------------------------------------------------------------------ */

/** A loaded model: weights, hyper-parameters and vocabulary. Read-only. */
typedef struct bn_model bn_model;
/** An inference context on a model: KV cache, scratch buffers, state. */
typedef struct bn_ctx bn_ctx;
/** A token id, in [0, bn_model_n_vocab()). */
typedef int32_t bn_token;

/* ------------------------------------------------------------------------ */
/* Status codes                                                              */
/* ------------------------------------------------------------------------ */

/**
 * Status codes returned by libbitnet functions. The numeric values are part
 * of the ABI and never change; new codes are only ever added.
 */
enum bn_status {
    BN_OK = 0,
    BN_E_INVALID_ARG = -1,   /**< NULL handle, bad parameter value */
    BN_E_NOMEM = -2,         /**< memory allocation failed */
    BN_E_IO = -3,            /**< the file could not be opened, read or mapped */
    BN_E_FORMAT = -4,        /**< the file is not valid GGUF (truncated, corrupt, hostile) */
    BN_E_UNSUPPORTED = -5,   /**< valid but not supported: GGUF version, tensor type, architecture */
    BN_E_MODEL = -6,         /**< GGUF is valid but the model is inconsistent: missing tensor,
                                  wrong shape or type, bad hyper-parameter */
    BN_E_NOT_FOUND = -7,     /**< no such metadata key or item */
    BN_E_RANGE = -8,         /**< an index or token id is out of range */
    BN_E_CTX_FULL = -9,      /**< the sequence would exceed the context size */
    BN_E_BATCH = -10,        /**< more tokens in one call than the context's batch size */
    BN_E_CANCELLED = -11,    /**< a progress callback asked to stop */
    BN_E_UTF8 = -12,         /**< text is not valid UTF-8 where it must be */
    BN_E_INTERNAL = -13      /**< a bug in libbitnet: please report it */
};

/**
 * A short, static, English description of a status code ("invalid argument").
 * Never returns NULL; unknown codes give "unknown status code".
 */
BN_API const char *bn_strerror(int status);

/**
 * The detailed message of the last failure on the calling thread, e.g.
 * "tensor 'blk.3.attn_q.weight': shape [256, 512], expected [256, 256]".
 * Returns "" if no call on this thread has failed yet. The string stays valid
 * until the next libbitnet call on this thread that fails. Successful calls do
 * not clear it.
 */
BN_API const char *bn_last_error(void);

/* ------------------------------------------------------------------------ */
/* Versions                                                                  */
/* ------------------------------------------------------------------------ */

/** The release of the library actually loaded, e.g. "0.1.0". */
BN_API const char *bn_version_string(void);

/**
 * The ABI version of the library actually loaded, packed as
 * (major << 16) | (minor << 8) | patch (see BN_VERSION_PACK). A binding built
 * against BN_API_VERSION may check at run time that the major numbers match
 * and the loaded minor is at least the one it was built with.
 */
BN_API uint32_t bn_version_api(void);

/* ------------------------------------------------------------------------ */
/* Loading models                                                            */
/* ------------------------------------------------------------------------ */

/**
 * Progress of a model load, called with a fraction in [0, 1]. Return 0 to go
 * on, non-zero to cancel the load (bn_model_load then returns BN_E_CANCELLED).
 * Called on the thread that called bn_model_load.
 */
typedef int (*bn_progress_fn)(float fraction, void *user_data);

/**
 * Options of bn_model_load(). Always fill it with bn_model_params_default()
 * first, then change the fields you need: later versions add fields in the
 * reserved space, and their defaults come from that function, never from zero.
 */
typedef struct bn_model_params {
    /** Map the file with mmap (1) or read it into memory (0). Default 1. */
    int32_t use_mmap;
    /** Check every ternary weight code while loading (1) or trust the file (0).
     *  A code that no ternary format may hold (0b11 in I2_S) is then an error.
     *  Default 1. */
    int32_t check_weights;
    /** Called during the load with its progress; NULL for none. Default NULL. */
    bn_progress_fn progress;
    /** Passed to `progress`. Default NULL. */
    void *progress_user_data;
    /** Highest instruction-set level the kernels may use, for bug reports and
     *  tests: -1 = the best the CPU has (default), 0 = portable C, 1 = AVX2
     *  (x86-64) or NEON (arm64), 2 = AVX-512 VNNI or NEON dotprod, 3 = AMX
     *  (x86-64, prompts; on Linux the load then requests the AMX state for
     *  the process, see doc/design.md) or i8mm (arm64).
     *  When -1, the environment variable BITNET_CPU_LEVEL (a number or a name:
     *  scalar, avx2, avx512vnni, amx, neon, dotprod, i8mm) may set the cap. */
    int32_t cpu_level_cap;
    /** Keep the output projection (the LM head, often the tied F16 embedding)
     *  as Q8_0, converted at load: about half the bytes read per decoded
     *  token, at a small accuracy cost measured in doc/numerics.md. 1 = on.
     *  Default 0. */
    int32_t output_q8;
    /** Reserved for future fields; bn_model_params_default() zeroes it. */
    uint8_t reserved[96];
} bn_model_params;

/** Fills *p with the defaults documented on each field. p must not be NULL. */
BN_API void bn_model_params_default(bn_model_params *p);

/**
 * Loads a GGUF model file.
 *
 * @param out   receives the model on success, NULL on failure. Must not be NULL.
 * @param path  path of a GGUF v2/v3 file.
 * @param p     options, or NULL for the defaults.
 * @return BN_OK, or BN_E_INVALID_ARG, BN_E_NOMEM, BN_E_IO, BN_E_FORMAT,
 *         BN_E_UNSUPPORTED, BN_E_MODEL, BN_E_CANCELLED. On failure
 *         bn_last_error() says what was wrong (which key, which tensor, what
 *         was expected).
 */
BN_API int bn_model_load(bn_model **out, const char *path, const bn_model_params *p);

/**
 * Loads a model from a GGUF image in memory owned by the caller, which must
 * stay valid and unchanged until bn_model_free(). The `use_mmap` field is
 * ignored. Errors as for bn_model_load().
 */
BN_API int bn_model_load_from_memory(bn_model **out, const void *data, size_t size,
                                     const bn_model_params *p);

/** Frees a model and sets *m to NULL. Accepts NULL and a pointer to NULL. */
BN_API void bn_model_free(bn_model **m);

/* ------------------------------------------------------------------------ */
/* What a loaded model is                                                    */
/* ------------------------------------------------------------------------ */
/* All getters accept NULL and then return 0 (numbers) or "" (strings).     */
/* Returned strings are owned by the model and live as long as it does.     */

/** general.architecture as in the file, e.g. "bitnet-b1.58". */
BN_API const char *bn_model_arch_name(const bn_model *m);
/** general.name, or "" when the file has none. */
BN_API const char *bn_model_name(const bn_model *m);
/** Name of the type of the ternary linear weights: "I2_S", "TQ2_0", "TQ1_0",
 *  "F16", "F32", ... */
BN_API const char *bn_model_weight_type_name(const bn_model *m);
/** Vocabulary size (rows of the embedding). */
BN_API int32_t bn_model_n_vocab(const bn_model *m);
/** Embedding (hidden) size. */
BN_API int32_t bn_model_n_embd(const bn_model *m);
/** Number of transformer blocks. */
BN_API int32_t bn_model_n_layer(const bn_model *m);
/** Attention heads (query heads). */
BN_API int32_t bn_model_n_head(const bn_model *m);
/** Key/value heads (grouped-query attention when smaller than n_head). */
BN_API int32_t bn_model_n_head_kv(const bn_model *m);
/** Inner size of the feed-forward network. */
BN_API int32_t bn_model_n_ff(const bn_model *m);
/** Context length the model was trained with. */
BN_API int32_t bn_model_n_ctx_train(const bn_model *m);
/** Number of parameters (elements of all tensors). */
BN_API uint64_t bn_model_n_params(const bn_model *m);
/** Bytes of all tensor data in the file (weights as stored). */
BN_API uint64_t bn_model_weight_bytes(const bn_model *m);
/** Bytes of weights read from memory to decode one token: the ternary weights
 *  in the layout the kernels use, the norms, the output projection and one
 *  embedding row. Divided by the memory bandwidth it gives the decode floor. */
BN_API uint64_t bn_model_bytes_per_token(const bn_model *m);
/** Names of the kernels chosen for this model on this CPU, e.g.
 *  "ternary avx512vnni, output f16 avx512". For bug reports and benchmarks. */
BN_API const char *bn_model_kernel_name(const bn_model *m);

/** Number of metadata key/value pairs in the file. */
BN_API int32_t bn_model_meta_count(const bn_model *m);

/**
 * Copies the key of metadata pair `index` into buf as a NUL-terminated string,
 * truncated to buf_size - 1 bytes (buf may be NULL when buf_size is 0).
 * @return the full length of the key (as snprintf does), or BN_E_INVALID_ARG,
 *         BN_E_RANGE for an index outside [0, bn_model_meta_count()).
 */
BN_API int32_t bn_model_meta_key_by_index(const bn_model *m, int32_t index, char *buf,
                                          size_t buf_size);

/**
 * Copies the value of metadata `key` into buf as text, NUL-terminated and
 * truncated like snprintf. Strings are copied as they are, numbers and
 * booleans printed in C notation, arrays as "[<type> x <count>]".
 * @return the full length of the text, or BN_E_INVALID_ARG, BN_E_NOT_FOUND.
 */
BN_API int32_t bn_model_meta_string(const bn_model *m, const char *key, char *buf,
                                    size_t buf_size);

/* ------------------------------------------------------------------------ */
/* Inference contexts                                                        */
/* ------------------------------------------------------------------------ */
/*
 * A context holds one sequence: its KV cache, scratch buffers, and a pool of
 * worker threads. Contexts are independent: several contexts on one model
 * may run on different threads at once with no locking. One context must not
 * be used by two threads at the same time.
 *
 * The decode loop:
 *
 *     bn_ctx_params cp;
 *     bn_ctx_params_default(&cp);
 *     bn_ctx *ctx = NULL;
 *     if (bn_ctx_new(&ctx, model, &cp) != BN_OK) { ... bn_last_error() ... }
 *     bn_token prompt[] = { ... };
 *     int rc = bn_decode(ctx, prompt, n_prompt);        // prompt in one batch
 *     while (rc == BN_OK && n_generated < max) {
 *         const float *logits = bn_ctx_logits(ctx);      // bn_model_n_vocab() floats
 *         bn_token next = pick(logits);                  // e.g. argmax
 *         rc = bn_decode(ctx, &next, 1);                 // one token at a time
 *     }
 *     bn_ctx_free(&ctx);
 *
 * Numerics: the same tokens give bit-identical logits for any n_threads, and
 * for a prompt fed in one batch or token by token (see doc/numerics.md).
 */

/** Element type of the KV cache. */
enum bn_kv_type {
    BN_KV_F16 = 0,      /**< half precision: half the memory (default) */
    BN_KV_F32 = 1       /**< single precision */
};

/**
 * Options of bn_ctx_new(). Fill with bn_ctx_params_default() first.
 */
typedef struct bn_ctx_params {
    /** Tokens of history the context can hold. 0 = the model's training
     *  context (bn_model_n_ctx_train()). Default 0. */
    int32_t n_ctx;
    /** Most tokens one bn_decode() call may take. Default 512; capped at n_ctx. */
    int32_t n_batch;
    /** Threads that compute (the calling thread plus n_threads - 1 workers).
     *  0 = the number of online CPUs. Default 0. */
    int32_t n_threads;
    /** enum bn_kv_type. Default BN_KV_F16. */
    int32_t kv_type;
    /** Keep the logits of every token of each batch (1), not only of the
     *  last (0), for bn_ctx_logits_ith(). Default 0. */
    int32_t logits_all;
    /** Reserved for future fields; bn_ctx_params_default() zeroes it. */
    uint8_t reserved[108];
} bn_ctx_params;

/** Fills *p with the defaults documented on each field. */
BN_API void bn_ctx_params_default(bn_ctx_params *p);

/**
 * Creates a context on a model. The model must outlive the context.
 * Allocates the KV cache and every buffer up front: bn_decode() does not
 * allocate afterwards.
 * @return BN_OK, BN_E_INVALID_ARG (NULL model, bad parameter), BN_E_NOMEM,
 *         BN_E_INTERNAL (threads could not be started).
 */
BN_API int bn_ctx_new(bn_ctx **out, bn_model *m, const bn_ctx_params *p);

/** Frees a context and sets *c to NULL. Accepts NULL and a pointer to NULL. */
BN_API void bn_ctx_free(bn_ctx **c);

/**
 * Feeds n_tokens tokens at the next positions of the sequence (more than one
 * = prompt processing). Afterwards bn_ctx_logits() holds the logits of the
 * last of them.
 * @return BN_OK; BN_E_INVALID_ARG for a NULL context or tokens or
 *         n_tokens == 0; BN_E_RANGE for a token id outside the vocabulary;
 *         BN_E_BATCH when n_tokens exceeds n_batch; BN_E_CTX_FULL when the
 *         sequence would exceed n_ctx. On any error the context is unchanged.
 */
BN_API int bn_decode(bn_ctx *c, const bn_token *tokens, size_t n_tokens);

/**
 * Logits of the last token of the last successful bn_decode() call:
 * bn_model_n_vocab() floats, valid until the next bn_decode(),
 * bn_ctx_truncate() or bn_ctx_free() on this context. NULL before any decode.
 */
BN_API const float *bn_ctx_logits(const bn_ctx *c);

/**
 * Logits of token i of the last batch (0 = its first token; negative counts
 * from the end, -1 = the last). Needs logits_all = 1 except for the last
 * token. NULL when i is out of range or those logits were not kept.
 */
BN_API const float *bn_ctx_logits_ith(const bn_ctx *c, int32_t i);

/** Number of tokens in the sequence (the position of the next token). */
BN_API int32_t bn_ctx_pos(const bn_ctx *c);

/**
 * Rewinds the sequence to its first `pos` tokens, dropping the rest from the
 * KV cache (e.g. to edit chat history). 0 <= pos <= bn_ctx_pos().
 * Invalidates the logits. @return BN_OK, BN_E_INVALID_ARG, BN_E_RANGE.
 */
BN_API int bn_ctx_truncate(bn_ctx *c, int32_t pos);

/** Effective settings of a context (after defaults were resolved). */
BN_API int32_t bn_ctx_n_ctx(const bn_ctx *c);
BN_API int32_t bn_ctx_n_batch(const bn_ctx *c);
BN_API int32_t bn_ctx_n_threads(const bn_ctx *c);
/** The model the context was created on. */
BN_API const bn_model *bn_ctx_model(const bn_ctx *c);

/* ------------------------------------------------------------------------ */
/* Tokens and text                                                           */
/* ------------------------------------------------------------------------ */
/*
 * The vocabulary comes from the model file: byte-level BPE (tokenizer.ggml.model
 * "gpt2", with the Llama 3 or GPT-2 pre-tokenizer) or SentencePiece ("llama").
 * All functions here are thread-safe on a shared model. Text is UTF-8; invalid
 * UTF-8 bytes are kept as single-byte tokens and come back unchanged.
 */

/** Flags of bn_tokenize(). */
enum bn_tokenize_flags {
    /** Add BOS (and EOS) when the model file asks for them (add_bos_token). */
    BN_TOKENIZE_ADD_SPECIAL = 1u << 0,
    /** Text spelling a special token ("<|eot_id|>") becomes that token;
     *  without the flag it is tokenized as plain text. */
    BN_TOKENIZE_PARSE_SPECIAL = 1u << 1
};

/** Flags of bn_token_to_piece() and bn_detokenize(). */
enum bn_detokenize_flags {
    /** Render special/control tokens as their text; by default they give "". */
    BN_DETOKENIZE_SPECIAL = 1u << 0
};

/**
 * Splits text into tokens.
 * @param text      UTF-8 (invalid bytes allowed), `len` bytes, need not be
 *                  NUL-terminated.
 * @param out       room for `n_max` tokens (may be NULL when n_max is 0).
 * @param n_out     receives the number of tokens the text needs.
 * @return BN_OK; BN_E_RANGE when n_max is too small (nothing useful in out,
 *         *n_out says how many are needed); BN_E_INVALID_ARG.
 */
BN_API int bn_tokenize(const bn_model *m, const char *text, size_t len, bn_token *out,
                       size_t n_max, uint32_t flags, size_t *n_out);

/**
 * The bytes a token stands for (not NUL-terminated; may be part of a UTF-8
 * sequence). Writes at most buf_size bytes; *n_out receives the full length.
 * @return BN_OK, BN_E_RANGE (buffer too small, or token id out of range),
 *         BN_E_INVALID_ARG.
 */
BN_API int bn_token_to_piece(const bn_model *m, bn_token token, char *buf, size_t buf_size,
                             uint32_t flags, size_t *n_out);

/**
 * The text of a token sequence (the bytes of bn_tokenize's input, for a
 * sequence it produced without ADD_SPECIAL). Writes at most buf_size bytes, no
 * NUL; *n_out receives the full length. @return as bn_token_to_piece().
 */
BN_API int bn_detokenize(const bn_model *m, const bn_token *tokens, size_t n_tokens, char *buf,
                         size_t buf_size, uint32_t flags, size_t *n_out);

/** Special tokens of the model, or -1 when it has none. */
BN_API bn_token bn_model_token_bos(const bn_model *m);
BN_API bn_token bn_model_token_eos(const bn_model *m);
/** End of turn (<|eot_id|>); found by its text when the file declares no id. */
BN_API bn_token bn_model_token_eot(const bn_model *m);
BN_API bn_token bn_model_token_pad(const bn_model *m);
/** 1 if the token ends generation (EOS, EOT, and the like), else 0. */
BN_API int bn_model_token_is_eog(const bn_model *m, bn_token token);

/* ------------------------------------------------------------------------ */
/* Sampling                                                                  */
/* ------------------------------------------------------------------------ */
/*
 * A sampler picks the next token from logits: penalties over a window of
 * recent tokens, then top-k, top-p, min-p and temperature, then a draw from a
 * seeded generator (the same seed and inputs give the same tokens). With
 * temperature 0 it is greedy. It allocates only in bn_sampler_new(). A
 * sampler is used by one thread at a time.
 */
typedef struct bn_sampler bn_sampler;

typedef struct bn_sampler_params {
    /** Softmax temperature; 0 = greedy (argmax). Default 0.8. */
    float temperature;
    /** Keep the k most likely tokens; 0 = all. Default 40. */
    int32_t top_k;
    /** Keep the smallest set with cumulative probability >= top_p; 1 = off. Default 0.95. */
    float top_p;
    /** Drop tokens less likely than min_p times the most likely; 0 = off. Default 0.05. */
    float min_p;
    /** Divide positive (multiply negative) logits of recent tokens; 1 = off. Default 1.0. */
    float repeat_penalty;
    /** Subtract this times the count of each recent token. Default 0. */
    float frequency_penalty;
    /** Subtract this once from each recent token. Default 0. */
    float presence_penalty;
    /** Tokens in the penalty window. Default 64. */
    int32_t penalty_last_n;
    /** Seed of the random generator. Default 0x5EED. */
    uint64_t seed;
    /** Reserved for future fields; bn_sampler_params_default() zeroes it. */
    uint8_t reserved[80];
} bn_sampler_params;

/** Fills *p with the defaults documented on each field. */
BN_API void bn_sampler_params_default(bn_sampler_params *p);
/** @return BN_OK, BN_E_INVALID_ARG (NULL, out-of-range parameter), BN_E_NOMEM. */
BN_API int bn_sampler_new(bn_sampler **out, const bn_model *m, const bn_sampler_params *p);
BN_API void bn_sampler_free(bn_sampler **s);
/**
 * Picks a token from `logits` (bn_model_n_vocab() floats, not modified) and
 * records it in the penalty window. @return BN_OK, BN_E_INVALID_ARG.
 */
BN_API int bn_sampler_sample(bn_sampler *s, const float *logits, bn_token *out);
/** Records a token (e.g. of the prompt) in the penalty window. BN_E_RANGE for a bad id. */
BN_API int bn_sampler_accept(bn_sampler *s, bn_token token);
/** Empties the penalty window and restarts the generator from the seed. */
BN_API void bn_sampler_reset(bn_sampler *s);

/* ------------------------------------------------------------------------ */
/* Streaming text out                                                        */
/* ------------------------------------------------------------------------ */
/*
 * Turns generated tokens into text that is safe to show as it comes: never a
 * broken UTF-8 sequence, and never the beginning of a stop string that may
 * still match. Used by one thread at a time.
 */
typedef struct bn_text_stream bn_text_stream;

/**
 * @param stop    n_stop NUL-terminated stop strings (may be NULL when n_stop is 0).
 * @return BN_OK, BN_E_INVALID_ARG, BN_E_NOMEM.
 */
BN_API int bn_text_stream_new(bn_text_stream **out, const bn_model *m, const char *const *stop,
                              size_t n_stop);
BN_API void bn_text_stream_free(bn_text_stream **s);
/**
 * Adds a token. *text / *len receive the bytes that became safe to show (valid
 * until the next call on this stream). *stopped is set to 1 when a stop
 * string or an end-of-generation token ended the text: the stop string itself
 * is not returned. @return BN_OK, BN_E_INVALID_ARG, BN_E_RANGE.
 */
BN_API int bn_text_stream_push(bn_text_stream *s, bn_token token, const char **text, size_t *len,
                               int *stopped);
/** Returns whatever is held back (at the end of generation). */
BN_API int bn_text_stream_flush(bn_text_stream *s, const char **text, size_t *len);

/* ------------------------------------------------------------------------ */
/* Chat                                                                      */
/* ------------------------------------------------------------------------ */
/*
 * Formats a conversation as the text a chat model was trained on. Built-in
 * templates: "bitnet-2b4t" (System: ...<|eot_id|>User: ...<|eot_id|>Assistant: )
 * and "llama3"; or a template of the caller's own, made of plain strings (no
 * Jinja). Templates are immutable once made and may be shared by threads.
 */
typedef struct bn_chat_template bn_chat_template;

/** The built-in template that fits the model (from its architecture and
 *  vocabulary). @return BN_OK, BN_E_NOT_FOUND (no built-in fits), ... */
BN_API int bn_chat_template_for_model(bn_chat_template **out, const bn_model *m);
/** A built-in template by name ("bitnet-2b4t", "llama3"). BN_E_NOT_FOUND otherwise. */
BN_API int bn_chat_template_builtin(bn_chat_template **out, const char *name);
/** An empty custom template, to be filled with the setters below. */
BN_API int bn_chat_template_new(bn_chat_template **out);
/** Text around each message of `role` ("system", "user", "assistant", or any other). */
BN_API int bn_chat_template_set_role(bn_chat_template *t, const char *role, const char *prefix,
                                     const char *suffix);
/** Text at the very start (e.g. "<|begin_of_text|>"), and the prompt that asks
 *  for the assistant's answer (e.g. "Assistant: "). */
BN_API int bn_chat_template_set_begin(bn_chat_template *t, const char *begin);
BN_API int bn_chat_template_set_generation_prompt(bn_chat_template *t, const char *prompt);
BN_API void bn_chat_template_free(bn_chat_template **t);
/** Name of a built-in template, or "custom". */
BN_API const char *bn_chat_template_name(const bn_chat_template *t);

/**
 * Formats n messages (roles[i], contents[i]) and, if add_generation_prompt,
 * the assistant prompt. Writes at most buf_size bytes plus a NUL when room;
 * *n_out receives the full length (without NUL).
 * @return BN_OK, BN_E_RANGE (buffer too small), BN_E_INVALID_ARG.
 */
BN_API int bn_chat_format(const bn_chat_template *t, const char *const *roles,
                          const char *const *contents, size_t n, int add_generation_prompt,
                          char *buf, size_t buf_size, size_t *n_out);

#ifdef __cplusplus
}
#endif

#endif /* BITNET_BITNET_H */
