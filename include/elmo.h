/*
 * elmo.h - libelmo: ELMo contextual word vectors (Peters et al. 2018). The stable C API.
 *
 *     #include <elmo.h>                      // cc app.c $(pkg-config --cflags --libs elmo)
 *
 *     elmo_model *model; elmo_session *session;
 *     if (elmo_model_load("elmo_2x4096_512_2048cnn_2xhighway_weights.hdf5", NULL, &model) != ELMO_OK) {
 *         fprintf(stderr, "%s\n", elmo_last_error()); return 1;
 *     }
 *     elmo_session_create(model, NULL, &session);          // one per thread; the model is shared
 *     const char *texts[] = { "The bank of the river ." };  // split on whitespace
 *     elmo_output_params out = elmo_output_default_params(); // ELMO_OUTPUT_ELMO: (tokens, output_dim)
 *     size_t n_floats, n_tokens;
 *     elmo_texts_output_size(model, texts, 1, &out, &n_floats, &n_tokens);
 *     float *vectors = malloc(n_floats * sizeof *vectors);
 *     if (elmo_embed_texts(session, texts, 1, &out, vectors, n_floats, NULL) != ELMO_OK) { ... }
 *     free(vectors); elmo_session_free(session); elmo_model_free(model);
 *
 * Conventions
 * - Every function that can fail returns an elmo_status; ELMO_OK is 0. On failure the
 *   function has no effect beyond its documented outputs, and elmo_last_error() describes
 *   what went wrong. Nothing aborts the process: invalid arguments are reported, never trapped.
 * - Handles are opaque. A model is immutable after loading and may be used from any number
 *   of threads at once. A session is one thread's working memory: use each session from one
 *   thread at a time (a second thread entering a session that is busy gets
 *   ELMO_ERR_SESSION_BUSY; nothing is corrupted). Make one session per thread.
 *   Thread safety at a glance (each function's comment says "Any thread" or "The session's
 *   thread"): safe to call concurrently from any threads, on the same model too:
 *   elmo_version, elmo_status_string, elmo_last_error (per thread), the *_params_init
 *   functions, elmo_model_load, elmo_model_free, the elmo_model_* queries,
 *   elmo_session_create and the size queries (elmo_tokens_output_size,
 *   elmo_texts_output_size, elmo_output_shape). One thread at a time per session: elmo_embed_tokens,
 *   elmo_embed_texts, elmo_embed_character_ids, elmo_session_reset, elmo_session_release_memory; elmo_session_free
 *   must not race with a call on the same session. Sessions share no mutable state: threads
 *   with their own sessions on one model get bit-identical results to a serial run.
 *   Handles are never reused, so a freed handle stays invalid (ELMO_ERR_INVALID_ARGUMENT).
 * - The caller owns every buffer it passes in; the library keeps no pointer to caller memory
 *   after a call returns. Strings returned by the library are owned by the library.
 * - Text is UTF-8 and NUL-terminated. Sizes and counts are size_t.
 * - Params structs begin with struct_size. Get them from elmo_*_default_params() (or
 *   elmo_*_params_init()), then set the fields you need. struct_size records which fields
 *   this header knew, so a program compiled against this header keeps working with later
 *   libelmo 0.x releases, whose structs gain fields at the end: fields the program does not
 *   know take their defaults. A library older than the header refuses a larger struct with
 *   ELMO_ERR_INVALID_ARGUMENT rather than ignore settings it does not understand.
 *   Passing NULL for a params pointer means "all defaults". (For maintainers: fields are only
 *   ever appended, and every params struct's size stays a multiple of 8 with no tail padding,
 *   so an appended field never overlaps the bytes of an older, smaller struct.)
 */
#ifndef ELMO_H
#define ELMO_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Version ------------------------------------------------------------------------- */

/* The version of this header. The library's SONAME is libelmo.so.<MAJOR>: releases with the
 * same major version are binary compatible with programs built against older headers. */
#define ELMO_VERSION_MAJOR 0
#define ELMO_VERSION_MINOR 3
#define ELMO_VERSION_PATCH 0
#define ELMO_VERSION_STRING "0.3.0"

/* Returns the library's version, "MAJOR.MINOR.PATCH" (static storage; never NULL; any thread). */
const char *elmo_version(void);

/* ---- Status codes and errors ----------------------------------------------------------- */

typedef enum elmo_status {
    ELMO_OK = 0,
    ELMO_ERR_INVALID_ARGUMENT = 1, /* NULL or unknown handle/pointer, out-of-range value */
    ELMO_ERR_INVALID_INPUT = 2,    /* text that cannot be embedded: empty batch, sentence or token, invalid UTF-8 */
    ELMO_ERR_IO = 3,               /* a file is missing or cannot be read */
    ELMO_ERR_INVALID_MODEL = 4,    /* a model file is malformed (options, weights) */
    ELMO_ERR_SHAPE_MISMATCH = 5,   /* a weight tensor's shape disagrees with the options */
    ELMO_ERR_LIMIT_EXCEEDED = 6,   /* a batch exceeds the session's limits, or a size overflows */
    ELMO_ERR_OUT_OF_MEMORY = 7,    /* memory for the computation could not be allocated */
    ELMO_ERR_BUFFER_TOO_SMALL = 8, /* the caller's output buffer is smaller than the size query says */
    ELMO_ERR_SESSION_BUSY = 9,     /* the session is in use by another thread right now */
    ELMO_ERR_INTERNAL = 10         /* a bug in libelmo: please report it with elmo_last_error() */
} elmo_status;

/* Returns a short constant name for a status ("ELMO_ERR_IO"), or "unknown status" for a value
 * outside the enum (static storage; never NULL; any thread). */
const char *elmo_status_string(elmo_status status);

/* Returns the message of the last call that failed on the calling thread, "" if none has.
 * Owned by the library; valid until the next failing call on this thread. Thread-local. */
const char *elmo_last_error(void);

/* ---- Handles --------------------------------------------------------------------------- */

/* Immutable weights: shared by all threads; freed when elmo_model_free has been called and
 * the last session made from it has been freed. */
typedef struct elmo_model elmo_model;
/* One thread's working memory (and, for stateful sessions, the carried LSTM states). */
typedef struct elmo_session elmo_session;

/* ---- Model ----------------------------------------------------------------------------- */

/* The number format of a model's large weight matrices (elmo_model_params.precision).
 *
 * FP32 is exact: the model file's float32 weights, results bit-identical on every CPU, thread
 * count and batch composition.
 *
 * BF16 is approximate. The LSTMs' input, recurrent and projection matrices, the highway
 * matrices and the char-CNN projection are bfloat16 (converted from fp32 by rounding to
 * nearest even), and the activations they multiply are rounded to bf16; every sum is
 * accumulated in float32, and biases, gates, cell states, the char-CNN tables and all outputs
 * stay float32. Half the weight memory and bandwidth. Results differ from FP32 by that
 * rounding (cosine similarity to FP32 above 0.999 for every layer's token vectors and for
 * `default`; measured figures in BENCHMARKS.md), but are as deterministic as FP32: the same
 * bits on every CPU, thread count and batch composition.
 *
 * CPU dispatch: the bf16 kernels are chosen at run time from the CPU's features. With
 * AVX512_BF16 they execute `vdpbf16ps` (twice the multiply-adds of an fp32 FMA per
 * instruction: about twice as fast as FP32); otherwise AVX-512F, AVX2+FMA or portable code
 * widens bf16 to fp32 on the fly and reproduces that instruction's arithmetic exactly (order
 * of accumulation, rounding, flushing of denormals), so results are identical, only slower.
 *
 * INT8 (since 0.2) is approximate too. The LSTMs' input, recurrent and projection matrices are
 * int8, quantised per output column (symmetric, float32 scales), and the activations they
 * multiply are quantised per row at run time; each product is an exact int32 sum, dequantised
 * in float32. The highway matrices and the char-CNN projection are bfloat16 (as in BF16);
 * gates, cell states, biases, the char-CNN tables and all outputs stay float32. A quarter of
 * the LSTM weight memory. The products use `vpdpbusd` where the CPU has AVX-512 VNNI or
 * AVX-VNNI, otherwise exact AVX2 or portable code: the same bits on every CPU, thread count
 * and batch composition. Accuracy against FP32 in BENCHMARKS.md. */
typedef enum elmo_precision {
    ELMO_PRECISION_FP32 = 0, /* float32 (default): exact */
    ELMO_PRECISION_BF16 = 1, /* bfloat16 weights, float32 accumulation: approximate, deterministic */
    ELMO_PRECISION_INT8 = 2  /* int8 LSTM weights and activations, int32 products: approximate, deterministic */
} elmo_precision;

typedef struct elmo_model_params {
    size_t struct_size;       /* set by elmo_model_params_init / elmo_model_default_params */
    const char *options_path; /* the options JSON file; NULL (default): found beside the weights
                                 (X_options.json for X_weights.hdf5, else options.json) or in
                                 the model directory. Only read during elmo_model_load. */
    size_t token_cache_bytes; /* memory bound of the model's token-layer cache, shared by all its
                                 sessions (default 32 MiB; 0 disables it). The token layer depends
                                 only on a token's characters, so frequent tokens are computed once;
                                 results are bit-identical with and without the cache. */
    elmo_precision precision; /* the number format to compute with (default ELMO_PRECISION_FP32).
                                 Weights stored otherwise are converted at load: an fp32 source
                                 is rounded to bf16 (to nearest even); a bf16 native file loaded
                                 as FP32 is widened exactly (fp32 arithmetic on the bf16 weights,
                                 not the original fp32 results). A native file loaded in its own
                                 precision is memory-mapped as is (see elmo_model_stored_precision). */
    int reserved;             /* must be 0 (the default) */
} elmo_model_params;

/* Fills *params with the defaults for a struct of struct_size bytes (pass sizeof *params).
 * Returns ELMO_ERR_INVALID_ARGUMENT for NULL or a struct_size this library cannot fill. Any thread. */
elmo_status elmo_model_params_init(elmo_model_params *params, size_t struct_size);

/* Returns the default model params (see elmo_model_params_init). */
static inline elmo_model_params elmo_model_default_params(void) {
    elmo_model_params params;
    elmo_model_params_init(&params, sizeof params);
    return params;
}

/* Loads a model from `path`: a directory holding the options JSON and the weights HDF5 file
 * (official AllenNLP / bilm-tf layout), the weights HDF5 file itself, or a TF Hub google/elmo
 * module (its directory, or the .tar.gz from ?tf-hub-format=compressed; the module's own
 * scalar mix becomes the default of the elmo and default outputs), an ELMoForManyLangs model
 * directory (config.json, char.dic, word.dic and the PyTorch state dicts token_embedder.pkl
 * and encoder.pkl; its default mix is the plain mean of the layers, the package's
 * output_layer -1), or a native model file. The format is recognised
 * from the files, not from names given by the caller. `params` may be NULL.
 * On success stores a new handle in *model (free it with elmo_model_free); on failure stores
 * NULL. Errors: ELMO_ERR_IO (missing or unreadable), ELMO_ERR_INVALID_MODEL (not a model,
 * truncated, bad options), ELMO_ERR_SHAPE_MISMATCH, ELMO_ERR_OUT_OF_MEMORY,
 * ELMO_ERR_INVALID_ARGUMENT (NULL path or model). Any thread.
 * Hostile files: every field is checked against the file and the documented ranges before
 * it sizes anything, so a malformed, truncated or lying file is refused with an error naming
 * the file and the field; nothing sized from an unchecked field is allocated. HDF5 features
 * that no released model uses (chunked or compressed datasets, "dense" groups) are refused
 * with the h5repack command that rewrites the file. Weights are used as stored: NaN or
 * infinite weights load (the file is mapped, not scanned) and make the affected outputs
 * NaN or infinite; they never crash a call. */
elmo_status elmo_model_load(const char *path, const elmo_model_params *params, elmo_model **model);

/* Writes the model as a native model file at `path` (a single safetensors file holding the
 * prepared weights in the model's precision, options and default mix; replaced atomically if
 * it exists; a bf16 file is about half the size). Loading it with elmo_model_load at the same
 * precision takes milliseconds (the file is memory-mapped, never copied; processes mapping one
 * file share its pages) and gives bit-identical embeddings. Errors:
 * ELMO_ERR_INVALID_ARGUMENT (NULL or dead model, NULL path), ELMO_ERR_IO. Any thread. */
elmo_status elmo_model_save_native(const elmo_model *model, const char *path);

/* Stores the precision the model computes with (its params' precision) in *precision. Any thread. */
elmo_status elmo_model_precision(const elmo_model *model, elmo_precision *precision);

/* Stores in *precision the precision of the weights that `path` holds, reading only what is
 * needed (a native file's header; official HDF5 files and TF Hub modules are always FP32).
 * `options_path` as in elmo_model_params (may be NULL). Errors as elmo_model_load. Any thread. */
elmo_status elmo_model_stored_precision(const char *path, const char *options_path, elmo_precision *precision);

/* Stores the token-layer cache's counters: lookups answered from the cache (*hits), lookups
 * that computed a vector (*misses) and vectors held now (*entries); any pointer may be NULL.
 * Counters cover all sessions of the model since it was loaded. Any thread. */
elmo_status elmo_model_cache_stats(const elmo_model *model, size_t *hits, size_t *misses, size_t *entries);

/* Releases the caller's reference to a model; sessions made from it keep working and keep it
 * alive until they are freed. NULL is a no-op returning ELMO_OK; a handle that is not a live
 * model (already freed, or a session) returns ELMO_ERR_INVALID_ARGUMENT. Any thread. */
elmo_status elmo_model_free(elmo_model *model);

/* Stores the width of the token layer (`word_emb`, the projection dim) in *dim. Any thread. */
elmo_status elmo_model_token_dim(const elmo_model *model, size_t *dim);
/* Stores the width of every contextual output (`lstm_outputsK`, `elmo`, `default`; 2 x the
 * projection dim) in *dim. Any thread. */
elmo_status elmo_model_output_dim(const elmo_model *model, size_t *dim);
/* Stores the number of layers of the all-layers output (1 token layer + the LSTM layers) in
 * *count. Any thread. */
elmo_status elmo_model_output_layer_count(const elmo_model *model, size_t *count);
/* Stores the number of biLSTM layers (valid `lstm_layer` values are 1..count) in *count. Any thread. */
elmo_status elmo_model_lstm_layer_count(const elmo_model *model, size_t *count);
/* Stores the number of character ids per token (the options' max_characters_per_token: 50 for
 * every released model) in *count: the row width elmo_embed_character_ids reads. Any thread.
 * Since 0.2. */
elmo_status elmo_model_characters_per_token(const elmo_model *model, size_t *count);

/* Stores the model's own scalar mix, the one ELMO_OUTPUT_ELMO and ELMO_OUTPUT_DEFAULT use when
 * mix_weights is NULL (equal weights and gamma 1 for official files; a TF Hub module's learned
 * aggregation): its output_layer_count unnormalised weights in weights[0...], *gamma and
 * *layer_norm (0 or 1). So a caller holding ELMO_OUTPUT_ALL_LAYERS can derive `elmo` and
 * `default` without a second pass. Errors: ELMO_ERR_INVALID_ARGUMENT (NULL pointers),
 * ELMO_ERR_BUFFER_TOO_SMALL (capacity below output_layer_count). Any thread. Since 0.2. */
elmo_status elmo_model_default_mix(const elmo_model *model, float *weights, size_t capacity, float *gamma,
                                   int *layer_norm);

/* ---- Session --------------------------------------------------------------------------- */

typedef struct elmo_session_params {
    size_t struct_size;             /* set by elmo_session_params_init / elmo_session_default_params */
    int stateful;                   /* 0 (default): a sentence's vectors depend only on the sentence.
                                       Nonzero: row i of a call starts from the LSTM states with
                                       which row i of the previous call ended (bilm-tf, AllenNLP). */
    size_t max_sentences;           /* most sentences per call (default 16384) */
    size_t max_tokens_per_sentence; /* most tokens in one sentence (default 65536) */
    size_t max_tokens_per_call;     /* most tokens per call, all sentences together (default 65536);
                                       working memory grows with it: about 14 KB per token
                                       for the original model, plus the output. */
    size_t n_threads;               /* threads one call may use, the calling thread included
                                       (default 0: every core this process may run on; at most
                                       256). Results are bit-identical whatever the count. To
                                       run sessions on several threads at once, give each a
                                       share of the cores (e.g. 1) rather than oversubscribing. */
} elmo_session_params;

/* Fills *params with the defaults for a struct of struct_size bytes (pass sizeof *params).
 * Returns ELMO_ERR_INVALID_ARGUMENT for NULL or a struct_size this library cannot fill. Any thread. */
elmo_status elmo_session_params_init(elmo_session_params *params, size_t struct_size);

/* Returns the default session params (see elmo_session_params_init). */
static inline elmo_session_params elmo_session_default_params(void) {
    elmo_session_params params;
    elmo_session_params_init(&params, sizeof params);
    return params;
}

/* Creates a session on `model` (which it keeps alive). `params` may be NULL. Cheap: memory is
 * allocated by the first embedding call and grows to the largest batch. Stores the new handle
 * in *session (NULL on failure). Errors: ELMO_ERR_INVALID_ARGUMENT (NULL or dead model, zero
 * limits). Any thread; the new session then belongs to one thread at a time. */
elmo_status elmo_session_create(const elmo_model *model, const elmo_session_params *params,
                                elmo_session **session);

/* Frees a session and its memory. NULL is a no-op returning ELMO_OK; a handle that is not a
 * live session returns ELMO_ERR_INVALID_ARGUMENT. Must not race with a call on the same session. */
elmo_status elmo_session_free(elmo_session *session);

/* Forgets the carried LSTM states of a stateful session (no effect on a stateless one).
 * Errors: ELMO_ERR_INVALID_ARGUMENT, ELMO_ERR_SESSION_BUSY. The session's thread. */
elmo_status elmo_session_reset(elmo_session *session);

/* Returns the session's working memory to the system; the next call allocates it again.
 * Errors: ELMO_ERR_INVALID_ARGUMENT, ELMO_ERR_SESSION_BUSY. The session's thread. */
elmo_status elmo_session_release_memory(elmo_session *session);

/* ---- Outputs --------------------------------------------------------------------------- */

/* Which representation to compute, named as TF Hub's google/elmo module names its outputs.
 * Shapes are per sentence of T tokens (sentence boundaries not included unless
 * elmo_output_params.sentence_boundaries asks for their rows: then T + 2); a call writes
 * the sentences one after another, in batch order, as row-major float32. */
typedef enum elmo_output_kind {
    ELMO_OUTPUT_ALL_LAYERS = 0, /* every layer: (output_layers, T, output_dim); layer 0 is the token
                                   layer repeated twice ([word_emb, word_emb]), layer k the k-th
                                   biLSTM layer as [forward, backward] */
    ELMO_OUTPUT_WORD_EMB = 1,   /* `word_emb`: the context-free token layer, (T, token_dim) */
    ELMO_OUTPUT_LSTM = 2,       /* `lstm_outputs<k>`: biLSTM layer k = lstm_layer, (T, output_dim) */
    ELMO_OUTPUT_ELMO = 3,       /* `elmo`: the scalar mix of all layers, (T, output_dim) */
    ELMO_OUTPUT_DEFAULT = 4     /* `default`: the mean of the `elmo` mix over the sentence's
                                   tokens, (output_dim) */
} elmo_output_kind;

typedef struct elmo_output_params {
    size_t struct_size;       /* set by elmo_output_params_init / elmo_output_default_params */
    elmo_output_kind kind;    /* default ELMO_OUTPUT_ELMO */
    size_t lstm_layer;        /* for ELMO_OUTPUT_LSTM: 1-based layer (default 1); ignored otherwise */
    /* The scalar mix of ELMO_OUTPUT_ELMO and ELMO_OUTPUT_DEFAULT (ignored by other kinds):
     * gamma * sum_k softmax(mix_weights)_k * layer_k. With mix_weights NULL (the default) the
     * model's own mix is used (equal weights, gamma 1 for official files), and mix_gamma and
     * mix_layer_norm must keep their defaults. Only read during the call. */
    const float *mix_weights; /* output_layer_count unnormalised weights, or NULL */
    size_t mix_weight_count;  /* number of mix_weights (must equal the model's output_layer_count) */
    float mix_gamma;          /* overall scale (default 1) */
    int mix_layer_norm;       /* nonzero: normalise each layer over the sentence's own tokens
                                 before mixing (default 0) */
    /* Since 0.2. */
    int sentence_boundaries;  /* nonzero: the per-token outputs also cover the sentence boundary
                                 positions, T + 2 rows per sentence: the `<S>` row first, then the
                                 tokens, then `</S>` (AllenNLP's keep_sentence_boundaries; bilm-tf
                                 computes every layer at those positions too). mix_layer_norm then
                                 pools the boundary rows as well, and the size queries accept
                                 token counts of 0 (two rows). Not valid with
                                 ELMO_OUTPUT_DEFAULT (pooled outputs never include boundaries).
                                 Default 0: tokens only. */
    int reserved;             /* must be 0 (the default) */
} elmo_output_params;

/* Fills *params with the defaults for a struct of struct_size bytes (pass sizeof *params).
 * Returns ELMO_ERR_INVALID_ARGUMENT for NULL or a struct_size this library cannot fill. Any thread. */
elmo_status elmo_output_params_init(elmo_output_params *params, size_t struct_size);

/* Returns the default output params (see elmo_output_params_init): ELMO_OUTPUT_ELMO, model mix. */
static inline elmo_output_params elmo_output_default_params(void) {
    elmo_output_params params;
    elmo_output_params_init(&params, sizeof params);
    return params;
}

/* ---- Size queries (no computation) ------------------------------------------------------ */

/* Stores in *n_floats the exact number of floats `output` takes for pre-tokenized sentences
 * with these token counts (n_sentences entries). `output` may be NULL (defaults). Errors:
 * ELMO_ERR_INVALID_ARGUMENT (NULL pointers, bad output params), ELMO_ERR_INVALID_INPUT (no
 * sentences, a zero count), ELMO_ERR_LIMIT_EXCEEDED (the size overflows). Any thread. */
elmo_status elmo_tokens_output_size(const elmo_model *model, const size_t *token_counts, size_t n_sentences,
                                    const elmo_output_params *output, size_t *n_floats);

/* Splits each of the n_texts NUL-terminated UTF-8 texts on whitespace (as Python's str.split())
 * and stores in *n_floats the exact number of floats `output` takes for them and, if
 * token_counts is not NULL, text i's number of tokens in token_counts[i] (n_texts entries).
 * Errors: ELMO_ERR_INVALID_ARGUMENT (NULL pointers, bad output params), ELMO_ERR_INVALID_INPUT
 * (no texts, a text without tokens, invalid UTF-8), ELMO_ERR_LIMIT_EXCEEDED. Any thread. */
elmo_status elmo_texts_output_size(const elmo_model *model, const char *const *texts, size_t n_texts,
                                   const elmo_output_params *output, size_t *n_floats, size_t *token_counts);

/* The most axes one sentence's output has (ELMO_OUTPUT_ALL_LAYERS: layers, rows, width). Since 0.3. */
#define ELMO_OUTPUT_MAX_AXES 3

/* Stores the shape of one sentence's output for a sentence of n_tokens tokens, as the library
 * writes it (row-major): the number of axes in *n_axes (1 to ELMO_OUTPUT_MAX_AXES) and their
 * extents, outermost first, in shape[0 ... *n_axes - 1]. The shapes are those of
 * elmo_output_kind: (output_layer_count, rows, output_dim), (rows, token_dim),
 * (rows, output_dim) or (output_dim), where rows is n_tokens, or n_tokens + 2 with
 * output->sentence_boundaries. n_tokens may be 0 (the shape of an empty sentence: no rows, or
 * output_dim floats for ELMO_OUTPUT_DEFAULT). A call's output is its sentences' shapes one
 * after another: the size queries report the sum of their products. So a binding can cut
 * the flat output into per-sentence arrays without restating the shapes. `output` may be
 * NULL (defaults). Errors: ELMO_ERR_INVALID_ARGUMENT (NULL model, shape or n_axes; bad output
 * params), ELMO_ERR_BUFFER_TOO_SMALL (shape_capacity below the number of axes, which is
 * still stored in *n_axes), ELMO_ERR_LIMIT_EXCEEDED (n_tokens too large). Any thread. Since 0.3. */
elmo_status elmo_output_shape(const elmo_model *model, const elmo_output_params *output, size_t n_tokens,
                              size_t *shape, size_t shape_capacity, size_t *n_axes);

/* ---- Embedding ----------------------------------------------------------------------- */

/* Embeds n_sentences pre-tokenized sentences. `tokens` holds every sentence's tokens back to
 * back (NUL-terminated UTF-8 strings; sum of token_counts entries) and token_counts[i] is
 * sentence i's number of tokens. Writes the output (see elmo_output_kind) to out, which holds
 * out_capacity floats and must hold at least what elmo_tokens_output_size reports.
 * `output` may be NULL (defaults). Tokens are used as given (bilm-tf truncates each to
 * max_characters_per_token - 2 bytes); "<S>" and "</S>" are the sentence boundary tokens.
 * Errors: ELMO_ERR_INVALID_ARGUMENT (NULL pointers or tokens, bad output params),
 * ELMO_ERR_INVALID_INPUT (empty batch, sentence or token; invalid UTF-8),
 * ELMO_ERR_LIMIT_EXCEEDED (the session's limits), ELMO_ERR_BUFFER_TOO_SMALL,
 * ELMO_ERR_OUT_OF_MEMORY, ELMO_ERR_SESSION_BUSY. Counts are checked against the session's
 * limits before any token is read. On failure `out` is unspecified and a stateful session's
 * states are unchanged. The session's thread. */
elmo_status elmo_embed_tokens(elmo_session *session, const char *const *tokens, const size_t *token_counts,
                              size_t n_sentences, const elmo_output_params *output, float *out,
                              size_t out_capacity);

/* Embeds n_texts raw NUL-terminated UTF-8 texts, each split on whitespace as Python's
 * str.split() splits it. Writes the output to out as elmo_embed_tokens does (size it with
 * elmo_texts_output_size) and, if token_counts is not NULL, text i's number of tokens to
 * token_counts[i] (n_texts entries). Counts are written only on success. The number of texts
 * is checked against the session's max_sentences before any text is read. Errors as
 * elmo_embed_tokens. The session's thread. */
elmo_status elmo_embed_texts(elmo_session *session, const char *const *texts, size_t n_texts,
                             const elmo_output_params *output, float *out, size_t out_capacity,
                             size_t *token_counts);

/* ---- Character ids (since 0.2) -------------------------------------------------------- */

/* Embeds n_sentences sentences given as character ids instead of text: the ids bilm-tf's
 * Batcher and AllenNLP's batch_to_ids produce, so that programs that already hold them (a
 * torch tensor of AllenNLP's `Elmo.forward(character_ids)`) reach exactly the vectors of those
 * ids, with nothing decoded. Text cannot stand in for them exactly: a token cut at
 * max_characters_per_token - 2 bytes may end inside a multi-byte UTF-8 character, and a
 * token spelled "<S>" has the ids of a word there, not of the sentence boundary.
 *
 * `character_ids` holds every sentence's tokens back to back, one row of n_characters ids
 * per token (n_characters must equal elmo_model_characters_per_token), token_counts[i]
 * being sentence i's number of tokens. Ids are bilm-tf's shifted by +1 (0 is padding):
 *   a word:      259 (begin of word), 1 + each UTF-8 byte (0 to n_characters - 2 bytes),
 *                260 (end of word), then 261 (padding) to the end of the row;
 *   a boundary:  259, 257 (<S>) or 258 (</S>), 260, then 261 to the end of the row.
 * Every row is checked: an id outside 0...261, a row that is not one of these two shapes or
 * an all-zero (padding) row is refused with ELMO_ERR_INVALID_INPUT naming the sentence, the
 * token and the position; nothing is computed then. Padding positions of a padded batch are
 * left out by the caller (count only real tokens in token_counts). The sentence boundaries
 * are added as in elmo_embed_tokens; sentence_boundaries in `output` returns their rows, and
 * then a sentence may have 0 tokens: its output is the two boundary rows of the biLM run over
 * `<S> </S>` alone (what AllenNLP's biLM computes for an all-padding row of a batch).
 * Size `out` with elmo_tokens_output_size (the output depends only on the token counts).
 * Writes the output as elmo_embed_tokens does. Errors: ELMO_ERR_INVALID_ARGUMENT (NULL
 * pointers, n_characters not the model's, bad output params), ELMO_ERR_INVALID_INPUT (empty
 * batch or sentence, a malformed row), ELMO_ERR_LIMIT_EXCEEDED, ELMO_ERR_BUFFER_TOO_SMALL,
 * ELMO_ERR_OUT_OF_MEMORY, ELMO_ERR_SESSION_BUSY. Counts are checked against the session's
 * limits before any id is read. On failure `out` is unspecified and a stateful session's
 * states are unchanged. The session's thread. */
elmo_status elmo_embed_character_ids(elmo_session *session, const int *character_ids, size_t n_characters,
                                     const size_t *token_counts, size_t n_sentences,
                                     const elmo_output_params *output, float *out, size_t out_capacity);

#ifdef __cplusplus
}
#endif

#endif /* ELMO_H */
