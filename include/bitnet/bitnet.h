/**
 * @file bitnet.h
 * @brief libbitnet: run 1.58-bit (ternary) language models on CPUs.
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
 *
 * Bindings
 * --------
 * The header is plain C that FFI generators read after preprocessing
 * (`cc -E -P -DBN_API=`, see BN_API). The sizes of the parameter structs are
 * fixed by static assertions below each of them: bn_model_params is
 * 16 + 2 * sizeof(void *) + 96 bytes (128 on 64-bit systems, 120 on 32-bit),
 * bn_ctx_params 128, bn_sampler_params 120, bn_spec_params 128 and
 * bn_spec_stats 64 everywhere. Enum values never
 * change (doc/abi.md). bindings/python/ is a ctypes binding built this way.
 */
#ifndef BITNET_BITNET_H
#define BITNET_BITNET_H

#include <stddef.h>
#include <stdint.h>

#include "bitnet/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @def BN_API
 * Marks the exported functions. An includer may define it first (an FFI
 * generator reading preprocessed text passes -DBN_API=); the header then also
 * leaves out its static assertions, which such parsers do not accept (cffi's
 * cdef rejects _Static_assert). Otherwise: on Windows, dllexport while the
 * library itself is built, nothing when the program links the static library
 * (define BN_STATIC), dllimport for users of the DLL; elsewhere default
 * visibility (the library hides the rest).
 */
#ifndef BN_API
/* Static assertions only where a compiler, not an FFI parser, reads us. */
#  if defined(__cplusplus) && __cplusplus >= 201103L
#    define BN_SIZE_CHECK_(cond, msg) static_assert(cond, msg)
#  elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#    define BN_SIZE_CHECK_(cond, msg) _Static_assert(cond, msg)
#  endif
#  if defined(_WIN32) || defined(__CYGWIN__)
#    if defined(BN_BUILDING_LIB)
#      define BN_API __declspec(dllexport)
#    elif defined(BN_STATIC)
#      define BN_API
#    else
#      define BN_API __declspec(dllimport)
#    endif
#  elif defined(__GNUC__) && __GNUC__ >= 4
#    define BN_API __attribute__((visibility("default")))
#  else
#    define BN_API
#  endif
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
    BN_OK = 0,               /**< success */
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
    /** Map the file with mmap (1) or read it into memory (0). Default 1.
     *  With 1 the weights are read from the file while decoding, so the file
     *  must not change while the model is loaded: metadata (the getters, the
     *  vocabulary, the chat template) is copied at load and stays as it was,
     *  but a file overwritten in place changes the weights, hence the output,
     *  and a file truncated under a decode kills the process with SIGBUS.
     *  Replacing the file by rename(2) is safe: the model keeps the old one.
     *  Use 0 for files that others may write (doc/security.md). */
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
     *  scalar, avx2, avx512vnni, amx, neon, dotprod, i8mm) may set the cap.
     *  Another value, or an environment value that is neither, makes the
     *  load fail with BN_E_INVALID_ARG. Within the level, a context's
     *  single-token decodes may use a lower level's kernel for a product
     *  where that gives the same bits and runs faster on this machine,
     *  which the context times on its first decodes; the environment
     *  variable BITNET_KERNEL_PICK=own or lower fixes that choice (timed is
     *  the default; another value fails the load). See doc/design.md. */
    int32_t cpu_level_cap;
    /** Keep the output projection (the LM head, often the tied F16 embedding)
     *  as Q8_0, converted at load: about half the bytes read per decoded
     *  token, at a small accuracy cost measured in doc/numerics.md. 1 = on.
     *  Default 0. */
    int32_t output_q8;
    /** Keep the output projection as Q4_0 (4.5 bits per weight, a type
     *  GGUF readers know), converted at load: about a quarter of the F16
     *  head's bytes, at an accuracy cost measured in doc/numerics.md. 1 = on;
     *  not together with output_q8. Default 0. (Since API 0.2.) */
    int32_t output_q4;
    /** Reserved for future fields; bn_model_params_default() zeroes it.
     *  A nonzero byte is refused with BN_E_INVALID_ARG. */
    uint8_t reserved[92];
} bn_model_params;
#ifdef BN_SIZE_CHECK_
BN_SIZE_CHECK_(sizeof(bn_model_params) == 16 + 2 * sizeof(void *) + 96,
               "bn_model_params changed size: new fields must take reserved bytes");
#endif

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
 *         was expected). A path that is not a regular file (a FIFO, a
 *         device, a directory) is BN_E_IO at once, without reading from it;
 *         a mapping refused for lack of address space is BN_E_NOMEM.
 */
BN_API int bn_model_load(bn_model **out, const char *path, const bn_model_params *p);

/**
 * Loads a model from a GGUF image in memory owned by the caller, which must
 * stay valid and unchanged until bn_model_free(). The `use_mmap` field is
 * ignored. An image at an address that leaves its tensors misaligned for
 * their types (e.g. floats at an odd address) is copied once to aligned
 * memory the model owns; give an address aligned to 64 bytes (as mmap and
 * aligned_alloc do) to avoid the copy. Errors as for bn_model_load().
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
 * A context holds one sequence (or n_seq_max of them, see "Many sequences"
 * below): its KV cache, scratch buffers, and a pool of worker threads (its
 * own, or a shared bn_threadpool). Contexts are independent: several contexts on one model
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
    /** Sequences the context holds (bn_batch_add(), bn_ctx_seq_*()); 0 or 1 =
     *  one, sequence 0, the one bn_decode() extends. Each sequence has its own
     *  positions, and n_ctx bounds each sequence, not their sum: the KV cache
     *  has room for n_seq_max * n_ctx positions, whose memory is committed by
     *  the operating system only as sequences grow (doc/design.md). Default 1.
     *  (Since API 0.2.) */
    int32_t n_seq_max;
    /** Most tokens of one batch that may ask for logits (rows of logits the
     *  context keeps). 0 = the larger of n_seq_max and 16, capped at n_batch;
     *  logits_all = 1 raises it to n_batch. Default 0. (Since API 0.2.) */
    int32_t n_outputs_max;
    /** Reserved for future fields; bn_ctx_params_default() zeroes it.
     *  A nonzero byte is refused with BN_E_INVALID_ARG. */
    uint8_t reserved[100];
} bn_ctx_params;
#ifdef BN_SIZE_CHECK_
BN_SIZE_CHECK_(sizeof(bn_ctx_params) == 128,
               "bn_ctx_params changed size: new fields must take reserved bytes");
#endif

/** Fills *p with the defaults documented on each field. */
BN_API void bn_ctx_params_default(bn_ctx_params *p);

/**
 * Creates a context on a model. The model must outlive the context.
 * Allocates the KV cache and every buffer up front: bn_decode() does not
 * allocate afterwards.
 * @return BN_OK, BN_E_INVALID_ARG (NULL model, bad parameter, nonzero
 *         reserved bytes), BN_E_NOMEM (also when the system refuses a thread
 *         for lack of memory or a limit on threads), BN_E_INTERNAL.
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

/** Effective context size in tokens (after defaults were resolved); 0 for NULL. */
BN_API int32_t bn_ctx_n_ctx(const bn_ctx *c);
/** Effective batch size: most tokens one bn_decode() call takes; 0 for NULL. */
BN_API int32_t bn_ctx_n_batch(const bn_ctx *c);
/** Effective number of computing threads (the caller included); 0 for NULL. */
BN_API int32_t bn_ctx_n_threads(const bn_ctx *c);
/** The model the context was created on. */
BN_API const bn_model *bn_ctx_model(const bn_ctx *c);

/* ------------------------------------------------------------------------ */
/* Many sequences, batches, saved state, cancellation (since API 0.2)        */
/* ------------------------------------------------------------------------ */
/*
 * A context created with n_seq_max = N holds N sequences, numbered 0 to N-1,
 * each with its own positions over one KV cache. One bn_decode_batch() call
 * advances any of them together: a prompt chunk of one sequence may ride
 * along with single tokens of others (continuous batching). Every matmul of
 * the pass reads each weight once for the whole batch, so N sequences cost
 * little more memory traffic than one. Each token's logits are exactly those
 * of the same sequence decoded alone (bit for bit, any batch composition).
 *
 *     bn_ctx_params cp;
 *     bn_ctx_params_default(&cp);
 *     cp.n_seq_max = 4;
 *     bn_ctx *ctx = NULL;
 *     bn_ctx_new(&ctx, model, &cp);
 *     bn_batch *b = NULL;
 *     bn_batch_new(&b, bn_ctx_n_batch(ctx));
 *     for (int32_t s = 0; s < 4; s++)                  // four prompts at once
 *         for (size_t i = 0; i < n_prompt[s]; i++)
 *             bn_batch_add(b, prompt[s][i], s, BN_POS_NEXT, i + 1 == n_prompt[s]);
 *     while (bn_decode_batch(ctx, b) == BN_OK && ...) {
 *         bn_batch_clear(b);
 *         for (int32_t s = 0; s < 4; s++) {             // one token each
 *             const float *logits = bn_ctx_seq_logits(ctx, s);
 *             bn_batch_add(b, pick(logits), s, BN_POS_NEXT, 1);
 *         }
 *     }
 *     bn_batch_free(&b);
 *
 * Sequence 0 is the one bn_decode(), bn_ctx_logits(), bn_ctx_pos() and
 * bn_ctx_truncate() act on, so a program written for one sequence runs
 * unchanged. All functions here follow the context's threading rule: one
 * thread at a time per context. A bn_batch is plain caller-side data, used by
 * one thread at a time.
 */

/** Position argument of bn_batch_add(): the sequence's next position. */
#define BN_POS_NEXT (-1)

/** Tokens for bn_decode_batch(), each naming its sequence and position. */
typedef struct bn_batch bn_batch;

/**
 * Creates an empty batch with room for n_max tokens (1 to 2^24).
 * @return BN_OK, BN_E_INVALID_ARG, BN_E_NOMEM.
 */
BN_API int bn_batch_new(bn_batch **out, int32_t n_max);

/** Frees a batch and sets *b to NULL. Accepts NULL and a pointer to NULL. */
BN_API void bn_batch_free(bn_batch **b);

/** Removes every token from the batch (keeps its room). Accepts NULL. */
BN_API void bn_batch_clear(bn_batch *b);

/**
 * Appends a token for sequence seq at position pos.
 * @param b            the batch.
 * @param token        the token id (checked by bn_decode_batch()).
 * @param seq          the sequence, 0 to the context's n_seq_max - 1.
 * @param pos          BN_POS_NEXT for the sequence's next position (after
 *                     its cached tokens and this batch's earlier tokens of
 *                     the same sequence), or an explicit position, which
 *                     bn_decode_batch() checks to be exactly that one.
 * @param want_logits  1 to keep this token's logits (bn_ctx_batch_logits(),
 *                     bn_ctx_seq_logits()), 0 not to.
 * @return BN_OK; BN_E_INVALID_ARG (NULL batch, negative seq, pos < -1,
 *         want_logits not 0 or 1); BN_E_BATCH when the batch is full. The
 *         sequence id and position are checked against a context by
 *         bn_decode_batch().
 */
BN_API int bn_batch_add(bn_batch *b, bn_token token, int32_t seq, int32_t pos, int want_logits);

/** Tokens in the batch (0 for NULL). */
BN_API int32_t bn_batch_n_tokens(const bn_batch *b);

/**
 * Runs one forward pass over every token of the batch, in any order of
 * sequences; tokens of one sequence must come in position order.
 * All or nothing: on any error no sequence and no logits change.
 * @return BN_OK;
 *         BN_E_INVALID_ARG (NULL argument, empty batch, a position that leaves
 *         a gap or overlaps tokens already in the sequence);
 *         BN_E_RANGE (a token id outside the vocabulary, a sequence id
 *         outside [0, n_seq_max));
 *         BN_E_BATCH (more tokens than n_batch, or more asking for logits
 *         than the context keeps rows for: n_outputs_max);
 *         BN_E_CTX_FULL (a sequence would exceed n_ctx);
 *         BN_E_CANCELLED (the abort callback asked to stop).
 */
BN_API int bn_decode_batch(bn_ctx *c, const bn_batch *b);

/**
 * Logits of token i of the last successful bn_decode_batch() or bn_decode()
 * call (0 = its first token, negative counts from the end): n_vocab floats,
 * or NULL when that token did not ask for logits or i is out of range.
 * Valid until the next call on this context that decodes, or that changes
 * the token's sequence (truncate, clear, copy into it), keeps another
 * sequence (bn_ctx_seq_keep) or loads a state; such a change makes this
 * return NULL for the tokens concerned; the other sequences' tokens keep
 * theirs (so that the sequences of one pass can be settled one after the
 * other, e.g. by bn_spec_accept()).
 */
BN_API const float *bn_ctx_batch_logits(const bn_ctx *c, int32_t i);

/**
 * Logits of the last token of sequence seq, if the last successful decode
 * call asked for them (or bn_ctx_seq_copy() or bn_ctx_seq_state_load() gave
 * them to seq since); NULL otherwise. Valid until the next decode call on
 * this context or the next change of that sequence.
 */
BN_API const float *bn_ctx_seq_logits(const bn_ctx *c, int32_t seq);

/** The context's n_seq_max (after defaults). */
BN_API int32_t bn_ctx_n_seq_max(const bn_ctx *c);

/** Tokens in sequence seq (its next position); 0 for a bad argument. */
BN_API int32_t bn_ctx_seq_pos(const bn_ctx *c, int32_t seq);

/**
 * Empties sequence seq, or every sequence when seq is -1.
 * @return BN_OK, BN_E_INVALID_ARG (NULL), BN_E_RANGE (seq).
 */
BN_API int bn_ctx_seq_clear(bn_ctx *c, int32_t seq);

/**
 * Rewinds sequence seq to its first pos tokens (0 <= pos <= its length).
 * @return BN_OK, BN_E_INVALID_ARG, BN_E_RANGE.
 */
BN_API int bn_ctx_seq_truncate(bn_ctx *c, int32_t seq, int32_t pos);

/**
 * Makes sequence dst hold the first n_pos tokens of sequence src (-1 = all
 * of them), replacing what dst held, e.g. a system prompt computed once and
 * shared by every conversation. Copies the cached keys and values (no
 * recomputation). The logits of dst are those of src when n_pos covers all
 * of src, else none.
 * @return BN_OK, BN_E_INVALID_ARG (NULL, src == dst), BN_E_RANGE (a sequence
 *         id, or n_pos beyond src's length).
 */
BN_API int bn_ctx_seq_copy(bn_ctx *c, int32_t src, int32_t dst, int32_t n_pos);

/**
 * Empties every sequence except seq. @return as bn_ctx_seq_clear().
 */
BN_API int bn_ctx_seq_keep(bn_ctx *c, int32_t seq);

/*
 * Saved state: one sequence's cached keys and values, its length and its
 * last logits (when it has them), in a versioned, checksummed format tied to
 * the model it came from (architecture, shapes, tensor types and a sample of
 * the weights) and to the context's KV type. Loading it into a context on
 * another model, with another KV type, with a smaller n_ctx, from another
 * format version, or truncated or corrupted, is a clear error that changes
 * nothing. doc/design.md gives the format.
 */

/** Bytes bn_ctx_seq_state_save() writes for sequence seq now; 0 for a bad argument. */
BN_API size_t bn_ctx_seq_state_size(const bn_ctx *c, int32_t seq);

/**
 * Writes the state of sequence seq into buf (buf_size bytes); *n_out
 * receives the size needed. @return BN_OK, BN_E_INVALID_ARG, BN_E_RANGE
 * (seq out of range, or buf_size too small: nothing useful in buf).
 */
BN_API int bn_ctx_seq_state_save(const bn_ctx *c, int32_t seq, void *buf, size_t buf_size,
                                 size_t *n_out);

/**
 * Replaces sequence seq with a saved state (size bytes at data). The context
 * may be another one, in this process or another, on the same model.
 * @return BN_OK; BN_E_INVALID_ARG (NULL); BN_E_RANGE (seq); BN_E_FORMAT
 *         (not a state, truncated, corrupted, or another format version);
 *         BN_E_MODEL (saved from another model, or with another KV type);
 *         BN_E_CTX_FULL (longer than this context's n_ctx).
 */
BN_API int bn_ctx_seq_state_load(bn_ctx *c, int32_t seq, const void *data, size_t size);

/** bn_ctx_seq_state_save() to a file (created or replaced). Adds BN_E_IO. */
BN_API int bn_ctx_seq_state_save_file(const bn_ctx *c, int32_t seq, const char *path);

/** bn_ctx_seq_state_load() from a file. Adds BN_E_IO. */
BN_API int bn_ctx_seq_state_load_file(bn_ctx *c, int32_t seq, const char *path);

/**
 * Called during bn_decode() and bn_decode_batch() at least once per layer of
 * the forward pass, on the thread that made the call. Return 0 to go on,
 * non-zero to stop: the call then returns BN_E_CANCELLED and leaves every
 * sequence and the logits exactly as they were before it.
 */
typedef int (*bn_abort_fn)(void *user_data);

/**
 * Sets (or, with fn NULL, removes) the context's abort callback.
 * @return BN_OK, BN_E_INVALID_ARG (NULL context).
 */
BN_API int bn_ctx_set_abort_callback(bn_ctx *c, bn_abort_fn fn, void *user_data);

/**
 * A thread pool shared by contexts, so that several contexts in one process
 * do not oversubscribe the cores: contexts created with
 * bn_ctx_new_with_pool() compute on the pool's threads, one forward pass at
 * a time (a pass waits for the pool while another context's pass runs on
 * it). The pool may be used from any thread; it must outlive its contexts.
 */
typedef struct bn_threadpool bn_threadpool;

/**
 * Starts a pool of n_threads computing threads (the caller of a pass is one
 * of them); 0 = the number of online CPUs.
 * @return BN_OK, BN_E_INVALID_ARG, BN_E_NOMEM.
 */
BN_API int bn_threadpool_new(bn_threadpool **out, int32_t n_threads);

/** Stops the pool's threads and frees it; sets *p to NULL. Every context
 *  using it must be freed first. Accepts NULL and a pointer to NULL. */
BN_API void bn_threadpool_free(bn_threadpool **p);

/** The pool's thread count (0 for NULL). */
BN_API int32_t bn_threadpool_n_threads(const bn_threadpool *p);

/**
 * bn_ctx_new() on a shared pool: the context starts no threads of its own
 * and its n_threads is the pool's (p->n_threads must be 0 or equal to it).
 * @return as bn_ctx_new().
 */
BN_API int bn_ctx_new_with_pool(bn_ctx **out, bn_model *m, const bn_ctx_params *p,
                                bn_threadpool *pool);

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
 * @param m         the model whose vocabulary is used.
 * @param text      UTF-8 (invalid bytes allowed), `len` bytes, need not be
 *                  NUL-terminated.
 * @param len       length of text in bytes.
 * @param out       room for `n_max` tokens (may be NULL when n_max is 0).
 * @param n_max     capacity of out.
 * @param flags     bn_tokenize_flags, or-ed (0 = plain text, no BOS).
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

/** Beginning of sequence token, or -1 when the model has none. */
BN_API bn_token bn_model_token_bos(const bn_model *m);
/** End of sequence token, or -1 when the model has none. */
BN_API bn_token bn_model_token_eos(const bn_model *m);
/** End of turn (<|eot_id|>), or -1; found by its text when the file declares no id. */
BN_API bn_token bn_model_token_eot(const bn_model *m);
/** Padding token, or -1 when the model has none. */
BN_API bn_token bn_model_token_pad(const bn_model *m);
/** 1 if the token ends generation (EOS, EOT, and the like), else 0. */
BN_API int bn_model_token_is_eog(const bn_model *m, bn_token token);

/* ------------------------------------------------------------------------ */
/* Sampling                                                                  */
/* ------------------------------------------------------------------------ */
/**
 * A sampler picks the next token from logits: penalties over a window of
 * recent tokens, then top-k, top-p, min-p and temperature, then a draw from a
 * seeded generator (the same seed and inputs give the same tokens). With
 * temperature 0 it is greedy. It allocates only in bn_sampler_new(). A
 * sampler is used by one thread at a time. doc/sampling-and-chat.md has the
 * details.
 */
typedef struct bn_sampler bn_sampler;

/**
 * Options of bn_sampler_new(). Fill with bn_sampler_params_default() first.
 * bn_sampler_new() checks every field against the range given here and
 * returns BN_E_INVALID_ARG, naming the field, for a value outside it.
 */
typedef struct bn_sampler_params {
    /** Softmax temperature, finite and >= 0; 0 = greedy (argmax). A negative
     *  temperature is an error (BN_E_INVALID_ARG), not greedy. Default 0.8. */
    float temperature;
    /** Keep the k most likely tokens; 0 = all; >= 0. Default 40. */
    int32_t top_k;
    /** Keep the smallest set with cumulative probability >= top_p; in [0, 1],
     *  1 = off. Default 0.95. */
    float top_p;
    /** Drop tokens less likely than min_p times the most likely; in [0, 1],
     *  0 = off. Default 0.05. */
    float min_p;
    /** Divide positive (multiply negative) logits of recent tokens; finite
     *  and > 0, 1 = off. Default 1.0. */
    float repeat_penalty;
    /** Subtract this times the count of each recent token; finite (negative
     *  rewards repetition). Default 0. */
    float frequency_penalty;
    /** Subtract this once from each recent token; finite. Default 0. */
    float presence_penalty;
    /** Tokens in the penalty window, 0 to 1048576 (2^20). Default 64. */
    int32_t penalty_last_n;
    /** Seed of the random generator. Default 0x5EED. */
    uint64_t seed;
    /** Reserved for future fields; bn_sampler_params_default() zeroes it.
     *  A nonzero byte is refused with BN_E_INVALID_ARG. */
    uint8_t reserved[80];
} bn_sampler_params;
#ifdef BN_SIZE_CHECK_
BN_SIZE_CHECK_(sizeof(bn_sampler_params) == 120,
               "bn_sampler_params changed size: new fields must take reserved bytes");
#endif

/** Fills *p with the defaults documented on each field. */
BN_API void bn_sampler_params_default(bn_sampler_params *p);
/** @return BN_OK, BN_E_INVALID_ARG (NULL, out-of-range parameter), BN_E_NOMEM. */
BN_API int bn_sampler_new(bn_sampler **out, const bn_model *m, const bn_sampler_params *p);
/** Frees a sampler and sets *s to NULL. Accepts NULL and a pointer to NULL. */
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

/**
 * The distribution the sampler would draw the next token from, after
 * penalties, top-k, min-p, top-p and temperature: *n_out candidate tokens in
 * ids[] with their probabilities in probs[] (summing to 1, in no particular
 * order). With temperature 0 it is the greedy token with probability 1.
 * Neither draws nor records a token (since API 0.2; speculative sampling's
 * acceptance rule needs these filtered probabilities).
 * @param s       the sampler (its penalty window and parameters).
 * @param logits  bn_model_n_vocab() floats, not modified.
 * @param ids, probs  room for n_max entries each (NULL when n_max is 0).
 * @param n_max   capacity of ids and probs.
 * @param n_out   receives the number of candidates.
 * @return BN_OK; BN_E_RANGE when n_max is too small (*n_out says how many
 *         are needed); BN_E_INVALID_ARG.
 */
BN_API int bn_sampler_probs(bn_sampler *s, const float *logits, bn_token *ids, float *probs, size_t n_max,
                            size_t *n_out);

/* ------------------------------------------------------------------------ */
/* Speculative decoding (since API 0.2)                                      */
/* ------------------------------------------------------------------------ */
/**
 * @typedef bn_spec
 * Exact speculative decoding of one sequence. Each bn_spec_step() drafts up
 * to n_draft_max tokens by looking the sequence's latest tokens up in its own
 * history (prompt lookup: rewriting, editing, extraction and code repeat long
 * spans of their context), checks them all in one batched pass, keeps what
 * the model agrees with, and rolls the rest back in the cache. The output is
 * that of plain decoding with the same sampler: token for token with greedy
 * sampling (temperature 0); with random sampling, drafts are accepted by the
 * speculative-sampling rule, so every token is distributed exactly as the
 * sampler's filtered distribution (with other random draws than plain
 * decoding). The draft length adapts to how often drafts are accepted, and
 * drafting pauses where it does not pay.
 *
 *     bn_decode(ctx, prompt, n_prompt);              // sequence 0, logits of its last token
 *     bn_spec_begin(spec, prompt, n_prompt);
 *     bn_token out[65];
 *     size_t n;
 *     while (bn_spec_step(spec, ctx, 0, sampler, out, 65, &n) == BN_OK) {
 *         ... out[0..n) are the next tokens; stop at an end-of-generation one ...
 *     }
 *
 * Between bn_spec_begin() and the last step, the sequence belongs to the
 * speculative decoder: decode nothing else into it. Its cache holds every
 * token returned so far except possibly the last. A bn_spec is used by one
 * thread at a time.
 */
typedef struct bn_spec bn_spec;

/** Options of bn_spec_new(). Fill with bn_spec_params_default() first. */
typedef struct bn_spec_params {
    /** Most tokens drafted per step, 0 to 64; 0 = plain decoding. Default 8. */
    int32_t n_draft_max;
    /** Lengths of the latest-token suffix looked up in the history, longest
     *  first: from ngram_max down to ngram_min (1 to 8). Default 2. */
    int32_t ngram_min;
    /** The longest suffix looked up (see ngram_min), 1 to 8. Default 4. */
    int32_t ngram_max;
    /** Cost of checking one more token in a pass, as a fraction of a
     *  one-token pass (bitnet-bench measures it: pp of k tokens against one).
     *  The draft length maximises expected tokens per cost given the
     *  acceptance seen so far. 0 to 10. Default 0.1. */
    float draft_cost;
    /** Reserved for future fields; bn_spec_params_default() zeroes it. */
    uint8_t reserved[112];
} bn_spec_params;
#ifdef BN_SIZE_CHECK_
BN_SIZE_CHECK_(sizeof(bn_spec_params) == 128,
               "bn_spec_params changed size: new fields must take reserved bytes");
#endif

/** Counters of a speculative decoder since bn_spec_new(). */
typedef struct bn_spec_stats {
    int64_t n_steps;        /**< bn_spec_step() calls that succeeded (one pass each) */
    int64_t n_drafted;      /**< tokens drafted and checked */
    int64_t n_accepted;     /**< drafted tokens the model agreed with */
    int64_t n_tokens;       /**< tokens returned */
    uint8_t reserved[32];   /**< zero */
} bn_spec_stats;
#ifdef BN_SIZE_CHECK_
BN_SIZE_CHECK_(sizeof(bn_spec_stats) == 64,
               "bn_spec_stats changed size: new counters must take reserved bytes");
#endif

/** Fills *p with the defaults documented on each field. */
BN_API void bn_spec_params_default(bn_spec_params *p);
/** @return BN_OK, BN_E_INVALID_ARG (NULL, out-of-range field), BN_E_NOMEM. */
BN_API int bn_spec_new(bn_spec **out, const bn_spec_params *p);
/** Frees it and sets *s to NULL. Accepts NULL and a pointer to NULL. */
BN_API void bn_spec_free(bn_spec **s);
/**
 * Starts a generation: history[0, n) are the tokens the sequence holds (its
 * prompt), where drafts are looked up, with every token generated after.
 * @return BN_OK, BN_E_INVALID_ARG, BN_E_NOMEM.
 */
BN_API int bn_spec_begin(bn_spec *s, const bn_token *history, size_t n);
/**
 * One step: picks the next token with the sampler from the sequence's logits,
 * drafts, checks the drafts in one pass of the context, and writes the tokens
 * that follow (at least one, at most n_draft_max + 1) to out[0, *n_out).
 * Tokens after an end-of-generation token are never returned.
 * @param s      the speculative decoder, started by bn_spec_begin().
 * @param c      the context holding the sequence.
 * @param seq    the sequence.
 * @param smp    the sampler that picks every token.
 * @param out    receives the tokens.
 * @param n_max  room in out: at least n_draft_max + 1.
 * @param n_out  receives the number of tokens written.
 * @return BN_OK; BN_E_INVALID_ARG (NULL, n_max too small, the sequence has
 *         no logits to start from: decode its prompt first); BN_E_RANGE (seq);
 *         BN_E_CTX_FULL (no room for one more token); BN_E_CANCELLED and the
 *         errors of bn_decode_batch(), after which the sequence and the
 *         decoder are as before the call; BN_E_NOMEM.
 */
BN_API int bn_spec_step(bn_spec *s, bn_ctx *c, int32_t seq, bn_sampler *smp, bn_token *out, size_t n_max,
                        size_t *n_out);
/** Copies the counters into *out. s and out must not be NULL. */
BN_API void bn_spec_get_stats(const bn_spec *s, bn_spec_stats *out);
/**
 * Drafts with a small model instead of the history (since API 0.2): the
 * drafts become the draft model's greedy continuation of the sequence, one
 * of its one-token passes each, checked and accepted exactly as before (the
 * output stays that of plain decoding). The decoder brings the draft
 * sequence to the history itself, feeding only what changed. The draft
 * length then weighs the draft model's tokens too (cost), and drafting
 * pauses where it does not pay.
 * @param s      the speculative decoder.
 * @param draft  a context of the draft model, which must have the checked
 *               model's vocabulary (the same tokens with the same ids: a
 *               step fails with BN_E_INVALID_ARG if their counts differ),
 *               and must not be the checked context; NULL goes back to
 *               drafting from the history. It must outlive its use here.
 * @param seq    the draft context's sequence the decoder drafts in: cleared
 *               now, and the decoder's until it is detached; the context's
 *               other sequences stay the caller's (one thread at a time).
 * @param cost   one draft token's pass as a fraction of a one-token pass of
 *               the checked model, 0 to 10 (about the models' size ratio).
 * @return BN_OK; BN_E_INVALID_ARG (NULL s, cost out of range); BN_E_RANGE
 *         (seq); BN_E_NOMEM, after which the decoder drafts from the history
 *         (other errors change nothing).
 */
BN_API int bn_spec_set_draft_model(bn_spec *s, bn_ctx *draft, int32_t seq, float cost);

/*
 * The split form of bn_spec_step() (since API 0.2), for a caller that decodes
 * many sequences in one bn_decode_batch(), such as a server: each sequence's
 * drafts ride in the shared batch.
 *
 *     bn_spec_begin(spec, prompt, n_prompt);
 *     ... a pass decodes the prompt, its last token asking for logits ...
 *     rows[0] = bn_ctx_batch_logits(ctx, i_last);
 *     bn_spec_accept(spec, ctx, seq, smp, rows, NULL, 0, out, n_max, &n);   // the first token
 *     for (;;) {                              // out[n - 1] is the pending token
 *         bn_spec_draft(spec, ctx, seq, draft, k_max, &k);
 *         ... add out[n - 1], then draft[0, k), all asking for logits, to the
 *             batch (with other sequences' tokens); bn_decode_batch() ...
 *         rows[j] = bn_ctx_batch_logits(ctx, i_pending + j), j = 0..k;
 *         bn_spec_accept(spec, ctx, seq, smp, rows, draft, k, out, n_max, &n);
 *     }
 *
 * bn_spec_step() is bn_spec_draft(), a pass of its own and bn_spec_accept():
 * the same drafts, the same rule, the same tokens. Changing one sequence
 * (bn_spec_accept() truncates it) leaves the other sequences' logits of the
 * pass valid (bn_ctx_batch_logits()), so the sequences of one pass can be
 * accepted one after the other. Thread safety: a bn_spec is used by one
 * thread at a time, and its calls take the context as any bn_ctx call does
 * (one thread at a time); every array belongs to the caller and is only
 * used during the call.
 */
/**
 * The drafts for the sequence's next pass: up to n_max tokens to follow the
 * pending token (the last one bn_spec_accept() returned), as many as the
 * acceptance seen so far makes worth checking (bn_spec_step()'s adaptation:
 * when none pays, one every 16 calls, to measure again), and no more than
 * the sequence's room in the context, n_batch - 1 and n_outputs_max - 1
 * allow. None before the first token is returned.
 * The caller's next pass must feed the pending token and then a prefix of
 * these drafts (possibly none) to the sequence, every one asking for logits.
 * @param s        the speculative decoder, started by bn_spec_begin().
 * @param c        the context holding the sequence (only read).
 * @param seq      the sequence.
 * @param draft    receives the drafts; room for n_max tokens (NULL if 0).
 * @param n_max    most drafts wanted, on top of the decoder's n_draft_max.
 * @param n_draft  receives the number of drafts written.
 * @return BN_OK; BN_E_INVALID_ARG (NULL, the pending token ended the
 *         generation); BN_E_RANGE (seq); BN_E_CTX_FULL (no room for the
 *         pending token).
 */
BN_API int bn_spec_draft(bn_spec *s, const bn_ctx *c, int32_t seq, bn_token *draft, size_t n_max,
                         size_t *n_draft);
/**
 * After the pass: applies the acceptance rule of bn_spec_step() to the drafts
 * with the sampler, removes the rejected drafts from the sequence's cache
 * (bn_ctx_seq_truncate()), and writes the tokens that follow (the accepted
 * drafts, then one picked or drawn from the logits: 1 to n_draft + 1, none
 * after an end-of-generation token) to out[0, *n_out). The last of them is
 * the new pending token: returned, not in the cache.
 * @param s        the speculative decoder, started by bn_spec_begin().
 * @param c        the context holding the sequence, whose last pass fed the
 *                 pending token and draft[0, n_draft) to the end of the
 *                 sequence (for the first call after bn_spec_begin(): no
 *                 token, the prompt's pass left the logits).
 * @param seq      the sequence.
 * @param smp      the sampler that picks every token.
 * @param logits   n_draft + 1 pointers, each to bn_model_n_vocab() floats,
 *                 read only: logits[0] after the pending token (first call:
 *                 after the prompt's last token), logits[j] after draft j - 1.
 *                 Usually bn_ctx_batch_logits() of those tokens; a caller may
 *                 pass changed copies (tokens it rules out set to -INFINITY).
 * @param draft    the drafts the pass fed after the pending token (NULL if
 *                 n_draft is 0); usually bn_spec_draft()'s, but any tokens
 *                 keep the output exact.
 * @param n_draft  their number; 0 on the first call.
 * @param out      receives the tokens.
 * @param n_max    room in out: at least n_draft + 1.
 * @param n_out    receives the number of tokens written.
 * @return BN_OK; BN_E_INVALID_ARG (NULL, n_max too small, drafts on the first
 *         call or more than the sequence holds, a NULL row or one whose
 *         logits are all -inf or NaN); BN_E_RANGE (seq, a draft outside the
 *         vocabulary); BN_E_NOMEM. A bad argument changes nothing. After an
 *         error in judging (bad logits, BN_E_NOMEM) the decoder is as before
 *         the pass and the sequence's cache is cut back to before it (the
 *         pending token is out of the cache again), so the pass can be
 *         repeated; the sampler's penalty window may keep tokens judged
 *         before the error (as after bn_spec_step()'s errors).
 */
BN_API int bn_spec_accept(bn_spec *s, bn_ctx *c, int32_t seq, bn_sampler *smp, const float *const *logits,
                          const bn_token *draft, size_t n_draft, bn_token *out, size_t n_max, size_t *n_out);

/* ------------------------------------------------------------------------ */
/* Streaming text out                                                        */
/* ------------------------------------------------------------------------ */
/**
 * Turns generated tokens into text that is safe to show as it comes: never a
 * broken UTF-8 sequence, and never the beginning of a stop string that may
 * still match. Used by one thread at a time.
 */
typedef struct bn_text_stream bn_text_stream;

/**
 * Creates a text stream for the tokens of a model.
 * @param out     receives the stream. Must not be NULL.
 * @param m       the model; it must outlive the stream.
 * @param stop    n_stop NUL-terminated stop strings (may be NULL when n_stop is 0).
 * @param n_stop  number of stop strings.
 * @return BN_OK, BN_E_INVALID_ARG, BN_E_NOMEM.
 */
BN_API int bn_text_stream_new(bn_text_stream **out, const bn_model *m, const char *const *stop,
                              size_t n_stop);
/** Frees a text stream and sets *s to NULL. Accepts NULL and a pointer to NULL. */
BN_API void bn_text_stream_free(bn_text_stream **s);
/**
 * Adds a token. *text / *len receive the bytes that became safe to show (valid
 * until the next call on this stream). *stopped is set to 1 when a stop
 * string or an end-of-generation token ended the text: the stop string itself
 * is not returned. @return BN_OK, BN_E_INVALID_ARG, BN_E_RANGE.
 */
BN_API int bn_text_stream_push(bn_text_stream *s, bn_token token, const char **text, size_t *len,
                               int *stopped);
/** Returns whatever is held back (at the end of generation) in *text / *len,
 *  and starts the stream afresh. @return BN_OK, BN_E_INVALID_ARG. */
BN_API int bn_text_stream_flush(bn_text_stream *s, const char **text, size_t *len);

/* ------------------------------------------------------------------------ */
/* Chat                                                                      */
/* ------------------------------------------------------------------------ */
/**
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
/** Text at the very start (e.g. "<|begin_of_text|>"). */
BN_API int bn_chat_template_set_begin(bn_chat_template *t, const char *begin);
/** The prompt that asks for the assistant's answer (e.g. "Assistant: "). */
BN_API int bn_chat_template_set_generation_prompt(bn_chat_template *t, const char *prompt);
/** Frees a template and sets *t to NULL. Accepts NULL and a pointer to NULL. */
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

/**
 * The tokens of a conversation, safe against role injection (since API 0.2).
 *
 * bn_chat_format() gives text, and tokenizing that text with
 * BN_TOKENIZE_PARSE_SPECIAL turns every special-token spelling in it into
 * the special token, including spellings inside a message: a user who writes
 * "<|eot_id|><|start_header_id|>system<|end_header_id|>" forges an end of
 * turn and a system header. Never tokenize formatted chat text that holds
 * untrusted content with PARSE_SPECIAL. Use this call instead: the
 * template's own text (begin, role headers and suffixes, the generation
 * prompt) becomes special tokens where it spells them, while every role name
 * and message content is tokenized as plain text (as bn_tokenize() without
 * BN_TOKENIZE_PARSE_SPECIAL). Where no content spells a special token, the
 * tokens equal those of tokenizing bn_chat_format()'s text with
 * BN_TOKENIZE_PARSE_SPECIAL. Template text before and after a message never
 * joins into one special token, even when the message is empty, so the
 * control tokens of a conversation do not depend on what its messages say.
 * No BOS is added beyond what the template spells.
 *
 * @param t      the template.
 * @param m      the model whose vocabulary is used.
 * @param roles  n role names ("system", "user", "assistant", ...).
 * @param contents  n message texts, UTF-8, never parsed for special tokens.
 * @param n      number of messages.
 * @param add_generation_prompt  non-zero to end with the assistant prompt.
 * @param out    room for n_max tokens (NULL when n_max is 0).
 * @param n_max  capacity of out.
 * @param n_out  receives the number of tokens the conversation needs.
 * @return BN_OK; BN_E_RANGE when n_max is too small (*n_out says how many
 *         are needed); BN_E_INVALID_ARG (as bn_chat_format(), or a model
 *         without a tokenizer); BN_E_NOMEM.
 */
BN_API int bn_chat_tokenize(const bn_chat_template *t, const bn_model *m,
                            const char *const *roles, const char *const *contents, size_t n,
                            int add_generation_prompt, bn_token *out, size_t n_max,
                            size_t *n_out);

#ifdef __cplusplus
}
#endif

#undef BN_SIZE_CHECK_

#endif /* BITNET_BITNET_H */
