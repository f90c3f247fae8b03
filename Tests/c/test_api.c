/* Every exported function of libelmo, through the installed header and library, including
 * every error path: each bad call must return the right status and message, crash nothing,
 * and leave the model and session usable (checked by re-embedding a reference batch and
 * comparing bit for bit). Numbers are checked against independent computations in C. */
#define _POSIX_C_SOURCE 200809L
#include "test_util.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

/* The fixture model's dimensions (its options.json: projection 16, 2 LSTM layers). */
enum { TOKEN_DIM = 16, OUTPUT_DIM = 32, LAYERS = 3, LSTM_LAYERS = 2 };

static elmo_model *model;
static elmo_session *session;

/* ---- helpers -------------------------------------------------------------------------- */

/* Embeds texts with an output; returns a malloc'd array of *n floats (NULL on failure). */
static float *embed_texts(elmo_session *s, const char *const *texts, size_t n_texts, const elmo_output_params *out,
                          size_t *n, size_t *counts) {
    size_t n_floats;
    if (elmo_texts_output_size(model, texts, n_texts, out, &n_floats, counts) != ELMO_OK) return NULL;
    float *v = xmalloc(n_floats * sizeof *v);
    if (elmo_embed_texts(s, texts, n_texts, out, v, n_floats, counts) != ELMO_OK) {
        free(v);
        return NULL;
    }
    *n = n_floats;
    return v;
}

static elmo_output_params output_of(elmo_output_kind kind, size_t lstm_layer) {
    elmo_output_params out = elmo_output_default_params();
    out.kind = kind;
    out.lstm_layer = lstm_layer;
    return out;
}

/* The reference batch every error test re-embeds afterwards to prove the session still works. */
static const char *const reference_texts[] = { "The bank of the river .", "A loan from the bank .", "Yes" };
static float *reference;
static size_t reference_n;

static void check_still_usable(const char *after, int line) {
    elmo_output_params all = output_of(ELMO_OUTPUT_ALL_LAYERS, 1);
    size_t n = 0;
    float *v = embed_texts(session, reference_texts, 3, &all, &n, NULL);
    int ok = v != NULL && n == reference_n && memcmp(v, reference, n * sizeof *v) == 0;
    test_checks++;
    if (!ok) {
        test_failures++;
        fprintf(stderr, "test_api.c:%d: the session no longer reproduces the reference batch after %s (%s)\n",
                line, after, elmo_last_error());
    }
    free(v);
}
#define CHECK_STILL_USABLE(after) check_still_usable(after, __LINE__)

static int write_file(const char *path, const void *bytes, size_t n) {
    FILE *f = fopen(path, "wb");
    if (f == NULL) return -1;
    size_t w = fwrite(bytes, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

/* Copies at most max_bytes of src to dst. */
static int copy_file(const char *src, const char *dst, long max_bytes) {
    FILE *in = fopen(src, "rb");
    if (in == NULL) return -1;
    char *buf = xmalloc(1 << 20);
    size_t n = fread(buf, 1, 1 << 20, in);
    fclose(in);
    if (max_bytes >= 0 && (size_t)max_bytes < n) n = (size_t)max_bytes;
    int rc = write_file(dst, buf, n);
    free(buf);
    return rc;
}

/* ---- version, status strings, params ---------------------------------------------------- */

static void test_version_and_status(void) {
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", ELMO_VERSION_MAJOR, ELMO_VERSION_MINOR, ELMO_VERSION_PATCH);
    CHECK(strcmp(elmo_version(), ELMO_VERSION_STRING) == 0);
    CHECK(strcmp(elmo_version(), expected) == 0);

    static const char *const names[] = {
        "ELMO_OK", "ELMO_ERR_INVALID_ARGUMENT", "ELMO_ERR_INVALID_INPUT", "ELMO_ERR_IO", "ELMO_ERR_INVALID_MODEL",
        "ELMO_ERR_SHAPE_MISMATCH", "ELMO_ERR_LIMIT_EXCEEDED", "ELMO_ERR_OUT_OF_MEMORY", "ELMO_ERR_BUFFER_TOO_SMALL",
        "ELMO_ERR_SESSION_BUSY", "ELMO_ERR_INTERNAL",
    };
    for (int s = 0; s <= ELMO_ERR_INTERNAL; s++) CHECK(strcmp(elmo_status_string((elmo_status)s), names[s]) == 0);
    CHECK(strcmp(elmo_status_string((elmo_status)12345), "unknown status") == 0);
    CHECK(strcmp(elmo_status_string((elmo_status)-1), "unknown status") == 0);
}

/* Params structs can only grow safely if no field can ever land in tail padding. */
#define CHECK_NO_TAIL_PADDING(type, last) \
    CHECK(sizeof(type) % 8 == 0 && sizeof(type) == offsetof(type, last) + sizeof(((type *)0)->last))

static void test_params(void) {
    CHECK_NO_TAIL_PADDING(elmo_model_params, reserved);
    CHECK_NO_TAIL_PADDING(elmo_session_params, n_threads);
    CHECK_NO_TAIL_PADDING(elmo_output_params, reserved);

    elmo_model_params mp = elmo_model_default_params();
    CHECK(mp.struct_size == sizeof mp && mp.options_path == NULL && mp.token_cache_bytes == 32u << 20
          && mp.precision == ELMO_PRECISION_FP32 && mp.reserved == 0);
    elmo_session_params sp = elmo_session_default_params();
    CHECK(sp.struct_size == sizeof sp && sp.stateful == 0 && sp.max_sentences == 16384
          && sp.max_tokens_per_sentence == 65536 && sp.max_tokens_per_call == 65536 && sp.n_threads == 0);
    elmo_output_params op = elmo_output_default_params();
    CHECK(op.struct_size == sizeof op && op.kind == ELMO_OUTPUT_ELMO && op.lstm_layer == 1 && op.mix_weights == NULL
          && op.mix_weight_count == 0 && op.mix_gamma == 1.0f && op.mix_layer_norm == 0);

    CHECK_STATUS(elmo_model_params_init(NULL, sizeof mp), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_session_params_init(NULL, sizeof sp), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_output_params_init(NULL, sizeof op), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_model_params_init(&mp, 4), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_session_params_init(&sp, 0), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_output_params_init(&op, offsetof(elmo_output_params, mix_layer_norm)), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_model_params_init(&mp, sizeof mp), ELMO_OK);
    CHECK_STATUS(elmo_session_params_init(&sp, sizeof sp), ELMO_OK);
    CHECK_STATUS(elmo_output_params_init(&op, sizeof op), ELMO_OK);

    /* A struct from a "newer header" (larger): init refuses it but records its size, so that
     * using it is refused too rather than reading fields this library does not know. */
    union { elmo_model_params p; char bytes[sizeof(elmo_model_params) + 16]; } newer;
    CHECK_STATUS(elmo_model_params_init(&newer.p, sizeof newer), ELMO_ERR_INVALID_ARGUMENT);
    CHECK(newer.p.struct_size == sizeof newer);
    CHECK(strstr(elmo_last_error(), "newer elmo.h") != NULL);
    elmo_model *m = (elmo_model *)&newer;
    CHECK_STATUS(elmo_model_load("/nonexistent", &newer.p, &m), ELMO_ERR_INVALID_ARGUMENT);
    CHECK(m == NULL);

    /* A struct_size that no header ever had. */
    mp = elmo_model_default_params();
    mp.struct_size = sizeof mp - 8;
    CHECK_STATUS(elmo_model_load("/nonexistent", &mp, &m), ELMO_ERR_INVALID_ARGUMENT);
}

/* ---- loading ------------------------------------------------------------------------------ */

static void test_load_errors_without_fixtures(void) {
    elmo_model *m = (elmo_model *)&m;
    CHECK_STATUS(elmo_model_load(NULL, NULL, &m), ELMO_ERR_INVALID_ARGUMENT);
    CHECK(m == NULL);
    CHECK_STATUS(elmo_model_load("/nonexistent/model", NULL, NULL), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_model_load("/nonexistent/model", NULL, &m), ELMO_ERR_IO);
    CHECK(m == NULL && strstr(elmo_last_error(), "/nonexistent/model") != NULL);
    CHECK_STATUS(elmo_model_load("", NULL, &m), ELMO_ERR_IO);
    CHECK_STATUS(elmo_model_load("/dev/zero", NULL, &m), ELMO_ERR_IO);
    CHECK_STATUS(elmo_model_load("/tmp/\xff\xfe", NULL, &m), ELMO_ERR_INVALID_ARGUMENT);
    elmo_model_params p = elmo_model_default_params();
    p.options_path = "\xc0\xaf";
    CHECK_STATUS(elmo_model_load("/tmp", &p, &m), ELMO_ERR_INVALID_ARGUMENT);
}

/* Builds a model directory in a fresh temporary directory from pieces; returns its path. */
static void make_model_dir(char *dir, const char *options_text, long weight_bytes, const char *weights_text) {
    char src[4096], dst[4096 + 32];
    strcpy(dir, "/tmp/elmo-test-XXXXXX");
    if (mkdtemp(dir) == NULL) { perror("mkdtemp"); exit(2); }
    snprintf(dst, sizeof dst, "%s/options.json", dir);
    if (options_text != NULL) write_file(dst, options_text, strlen(options_text));
    else { fixture_path(src, sizeof src, "options.json"); copy_file(src, dst, -1); }
    snprintf(dst, sizeof dst, "%s/weights.hdf5", dir);
    if (weights_text != NULL) write_file(dst, weights_text, strlen(weights_text));
    else if (weight_bytes != 0) { fixture_path(src, sizeof src, "lm_weights.hdf5"); copy_file(src, dst, weight_bytes); }
}

static void remove_model_dir(const char *dir) {
    char path[4096 + 32];
    snprintf(path, sizeof path, "%s/options.json", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/weights.hdf5", dir);
    unlink(path);
    rmdir(dir);
}

static void test_load_errors(void) {
    char dir[64], path[4096];
    elmo_model *m = NULL;

    make_model_dir(dir, NULL, 0, NULL);              /* options but no weights */
    CHECK_STATUS(elmo_model_load(dir, NULL, &m), ELMO_ERR_IO);
    remove_model_dir(dir);

    make_model_dir(dir, NULL, 0, "not an HDF5 file\n");
    CHECK_STATUS(elmo_model_load(dir, NULL, &m), ELMO_ERR_INVALID_MODEL);
    remove_model_dir(dir);

    make_model_dir(dir, NULL, 200000, NULL);         /* truncated weights */
    CHECK_STATUS(elmo_model_load(dir, NULL, &m), ELMO_ERR_INVALID_MODEL);
    remove_model_dir(dir);

    /* The weights cut every 16 KB (the fixture's datasets span the file): never a model. */
    fixture_path(path, sizeof path, "lm_weights.hdf5");
    FILE *f = fopen(path, "rb");
    long full = 0;
    if (f != NULL) { fseek(f, 0, SEEK_END); full = ftell(f); fclose(f); }
    int cuts = 0, refused = 0;
    for (long cut = 1; cut < full; cut += 16384, cuts++) {
        make_model_dir(dir, NULL, cut, NULL);
        m = NULL;
        refused += elmo_model_load(dir, NULL, &m) == ELMO_ERR_INVALID_MODEL && m == NULL
                   && strstr(elmo_last_error(), "weights.hdf5") != NULL;
        elmo_model_free(m);
        remove_model_dir(dir);
    }
    CHECK(cuts > 20 && refused == cuts);

    /* Paths that are not model files: an empty directory, a directory or /dev/zero as the
     * options file. */
    make_model_dir(dir, NULL, 0, NULL);
    char options_file[4096 + 32];
    snprintf(options_file, sizeof options_file, "%s/options.json", dir);
    unlink(options_file);
    CHECK_STATUS(elmo_model_load(dir, NULL, &m), ELMO_ERR_IO);                 /* empty directory */
    CHECK(m == NULL && strstr(elmo_last_error(), dir) != NULL);
    elmo_model_params dp = elmo_model_default_params();
    fixture_path(path, sizeof path, "lm_weights.hdf5");
    dp.options_path = dir;
    CHECK_STATUS(elmo_model_load(path, &dp, &m), ELMO_ERR_IO);
    CHECK(strstr(elmo_last_error(), "is a directory") != NULL);
    dp.options_path = "/dev/zero";
    CHECK_STATUS(elmo_model_load(path, &dp, &m), ELMO_ERR_IO);
    CHECK(strstr(elmo_last_error(), "not a regular file") != NULL);
    remove_model_dir(dir);

    make_model_dir(dir, NULL, 0, "");                /* empty weights file */
    CHECK_STATUS(elmo_model_load(dir, NULL, &m), ELMO_ERR_INVALID_MODEL);
    remove_model_dir(dir);

    make_model_dir(dir, "{\"lstm\": ", -1, NULL);    /* truncated options */
    CHECK_STATUS(elmo_model_load(dir, NULL, &m), ELMO_ERR_INVALID_MODEL);
    remove_model_dir(dir);

    /* Valid JSON, valid weights, but options that disagree with the weights. */
    make_model_dir(dir,
                   "{\"lstm\": {\"cell_clip\": 3, \"use_skip_connections\": true, \"n_layers\": 2, \"proj_clip\": 3,"
                   " \"projection_dim\": 17, \"dim\": 64}, \"char_cnn\": {\"embedding\": {\"dim\": 4},"
                   " \"filters\": [[1, 4], [2, 8], [3, 16], [4, 32], [5, 64]], \"n_highway\": 2,"
                   " \"n_characters\": 262, \"max_characters_per_token\": 50, \"activation\": \"relu\"}}",
                   -1, NULL);
    CHECK_STATUS(elmo_model_load(dir, NULL, &m), ELMO_ERR_SHAPE_MISMATCH);
    remove_model_dir(dir);

    /* The weights file with an options file named in the params, or found beside it. */
    elmo_model_params p = elmo_model_default_params();
    char options[4096];
    fixture_path(options, sizeof options, "options.json");
    fixture_path(path, sizeof path, "lm_weights.hdf5");
    p.options_path = options;
    CHECK_STATUS(elmo_model_load(path, &p, &m), ELMO_OK);
    CHECK_STATUS(elmo_model_free(m), ELMO_OK);
    CHECK_STATUS(elmo_model_load(path, NULL, &m), ELMO_OK);
    CHECK_STATUS(elmo_model_free(m), ELMO_OK);
    p.options_path = "/nonexistent/options.json";
    CHECK_STATUS(elmo_model_load(path, &p, &m), ELMO_ERR_IO);
    CHECK(m == NULL);
}

/* ---- model and session handles ------------------------------------------------------------ */

static void test_model_queries(void) {
    size_t v = 0;
    CHECK_STATUS(elmo_model_token_dim(model, &v), ELMO_OK);
    CHECK(v == TOKEN_DIM);
    CHECK_STATUS(elmo_model_output_dim(model, &v), ELMO_OK);
    CHECK(v == OUTPUT_DIM);
    CHECK_STATUS(elmo_model_output_layer_count(model, &v), ELMO_OK);
    CHECK(v == LAYERS);
    CHECK_STATUS(elmo_model_lstm_layer_count(model, &v), ELMO_OK);
    CHECK(v == LSTM_LAYERS);

    int not_a_handle = 0;
    const elmo_model *bogus = (const elmo_model *)&not_a_handle;
    const elmo_model *wrong_kind = (const elmo_model *)session;
    CHECK_STATUS(elmo_model_token_dim(NULL, &v), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_model_token_dim(model, NULL), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_model_output_dim(NULL, &v), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_model_output_dim(model, NULL), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_model_output_layer_count(bogus, &v), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_model_output_layer_count(model, NULL), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_model_lstm_layer_count(wrong_kind, &v), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_model_lstm_layer_count(model, NULL), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_model_free((elmo_model *)session), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_model_free((elmo_model *)&not_a_handle), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_model_free(NULL), ELMO_OK);
    CHECK_STILL_USABLE("model query errors");
}

/* ---- native files, the token cache, threads ---------------------------------------------- */

/* Embeds the reference batch (all layers) with a fresh session of `m` and `params`. */
static float *embed_reference_with(elmo_model *m, const elmo_session_params *params, size_t *n) {
    elmo_session *s = NULL;
    if (elmo_session_create(m, params, &s) != ELMO_OK) return NULL;
    elmo_output_params all = output_of(ELMO_OUTPUT_ALL_LAYERS, 1);
    elmo_model *saved_model = model;
    model = m;  /* embed_texts sizes the output with the global model */
    float *v = embed_texts(s, reference_texts, 3, &all, n, NULL);
    model = saved_model;
    elmo_session_free(s);
    return v;
}

static void test_native_cache_and_threads(void) {
    char dir[] = "/tmp/elmo-test-native-XXXXXX", path[4096];
    if (mkdtemp(dir) == NULL) { perror("mkdtemp"); exit(2); }
    snprintf(path, sizeof path, "%s/model.elmo", dir);

    /* Save, reload through the one load entry point, and get the same bits. */
    CHECK_STATUS(elmo_model_save_native(model, path), ELMO_OK);
    elmo_model *native = NULL;
    CHECK_STATUS(elmo_model_load(path, NULL, &native), ELMO_OK);
    size_t n = 0;
    float *v = native ? embed_reference_with(native, NULL, &n) : NULL;
    CHECK(v != NULL && n == reference_n && memcmp(v, reference, n * sizeof *v) == 0);
    free(v);
    CHECK_STATUS(elmo_model_free(native), ELMO_OK);
    CHECK_STATUS(elmo_model_save_native(NULL, path), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_model_save_native(model, NULL), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_model_save_native((const elmo_model *)session, path), ELMO_ERR_INVALID_ARGUMENT);
    snprintf(path, sizeof path, "%s/missing-dir/model.elmo", dir);
    CHECK_STATUS(elmo_model_save_native(model, path), ELMO_ERR_IO);
    snprintf(path, sizeof path, "%s/model.elmo", dir);
    remove(path);
    rmdir(dir);

    /* The cache counts hits once a token repeats; a model without a cache holds nothing. */
    elmo_model_params mp = elmo_model_default_params();
    elmo_model *cached = NULL, *uncached = NULL;
    CHECK_STATUS(elmo_model_load(fixture_dir(), &mp, &cached), ELMO_OK);
    mp.token_cache_bytes = 0;
    CHECK_STATUS(elmo_model_load(fixture_dir(), &mp, &uncached), ELMO_OK);
    if (cached == NULL || uncached == NULL) return;
    size_t hits = 1, misses = 1, entries = 1;
    CHECK_STATUS(elmo_model_cache_stats(cached, &hits, &misses, &entries), ELMO_OK);
    CHECK(hits == 0 && misses == 0 && entries == 0);
    float *first = embed_reference_with(cached, NULL, &n);
    CHECK_STATUS(elmo_model_cache_stats(cached, &hits, &misses, &entries), ELMO_OK);
    CHECK(misses > 0 && entries == misses);
    size_t misses_before = misses;
    float *second = embed_reference_with(cached, NULL, &n);
    CHECK_STATUS(elmo_model_cache_stats(cached, &hits, &misses, NULL), ELMO_OK);
    CHECK(hits >= misses_before && misses == misses_before);
    float *plain = embed_reference_with(uncached, NULL, &n);
    CHECK_STATUS(elmo_model_cache_stats(uncached, NULL, NULL, &entries), ELMO_OK);
    CHECK(entries == 0);
    CHECK(first && second && plain && memcmp(first, reference, n * sizeof *first) == 0
          && memcmp(second, reference, n * sizeof *second) == 0 && memcmp(plain, reference, n * sizeof *plain) == 0);
    free(first);
    free(second);
    free(plain);
    CHECK_STATUS(elmo_model_cache_stats(NULL, &hits, NULL, NULL), ELMO_ERR_INVALID_ARGUMENT);

    /* Any thread count gives the same bits; counts beyond 256 are refused. */
    elmo_session_params sp = elmo_session_default_params();
    for (size_t threads = 1; threads <= 3; threads++) {
        sp.n_threads = threads;
        float *t = embed_reference_with(cached, &sp, &n);
        CHECK(t != NULL && memcmp(t, reference, n * sizeof *t) == 0);
        free(t);
    }
    elmo_session *s = NULL;
    sp.n_threads = 257;
    CHECK_STATUS(elmo_session_create(cached, &sp, &s), ELMO_ERR_INVALID_ARGUMENT);
    sp.n_threads = (size_t)-1;
    CHECK_STATUS(elmo_session_create(cached, &sp, &s), ELMO_ERR_INVALID_ARGUMENT);
    CHECK(s == NULL);
    mp = elmo_model_default_params();
    mp.token_cache_bytes = (size_t)-1;
    elmo_model *m = NULL;
    CHECK_STATUS(elmo_model_load(fixture_dir(), &mp, &m), ELMO_ERR_INVALID_ARGUMENT);
    CHECK(m == NULL);
    CHECK_STATUS(elmo_model_free(cached), ELMO_OK);
    CHECK_STATUS(elmo_model_free(uncached), ELMO_OK);
    CHECK_STILL_USABLE("native, cache and thread tests");
}

/* ---- precision ----------------------------------------------------------------------------- */

static double cosine(const float *a, const float *b, size_t n) {
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < n; i++) {
        dot += (double)a[i] * b[i];
        na += (double)a[i] * a[i];
        nb += (double)b[i] * b[i];
    }
    return na == 0 && nb == 0 ? 1 : dot / sqrt(na * nb);
}

static void test_precision(void) {
    elmo_precision p = ELMO_PRECISION_BF16;
    CHECK_STATUS(elmo_model_precision(model, &p), ELMO_OK);
    CHECK(p == ELMO_PRECISION_FP32);
    CHECK_STATUS(elmo_model_precision(model, NULL), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_model_precision(NULL, &p), ELMO_ERR_INVALID_ARGUMENT);

    elmo_model_params mp = elmo_model_default_params();
    mp.precision = ELMO_PRECISION_BF16;
    elmo_model *bf16 = NULL;
    CHECK_STATUS(elmo_model_load(fixture_dir(), &mp, &bf16), ELMO_OK);
    if (bf16 == NULL) return;
    CHECK_STATUS(elmo_model_precision(bf16, &p), ELMO_OK);
    CHECK(p == ELMO_PRECISION_BF16);

    /* Close to fp32 (every token vector of every layer), not equal to it. */
    size_t n = 0;
    float *v = embed_reference_with(bf16, NULL, &n);
    CHECK(v != NULL && n == reference_n);
    if (v != NULL && n == reference_n) {
        double worst = 1;
        for (size_t i = 0; i + OUTPUT_DIM <= n; i += OUTPUT_DIM) {
            double c = cosine(v + i, reference + i, OUTPUT_DIM);
            worst = c < worst ? c : worst;
        }
        CHECK(worst > 0.999);
        CHECK(memcmp(v, reference, n * sizeof *v) != 0);
    }

    /* A bf16 native file: its precision read from the file, loaded as is, the same bits. */
    char dir[] = "/tmp/elmo-test-bf16-XXXXXX", path[4096];
    if (mkdtemp(dir) == NULL) { perror("mkdtemp"); exit(2); }
    snprintf(path, sizeof path, "%s/model-bf16.elmo", dir);
    CHECK_STATUS(elmo_model_save_native(bf16, path), ELMO_OK);
    p = ELMO_PRECISION_FP32;
    CHECK_STATUS(elmo_model_stored_precision(path, NULL, &p), ELMO_OK);
    CHECK(p == ELMO_PRECISION_BF16);
    CHECK_STATUS(elmo_model_stored_precision(fixture_dir(), NULL, &p), ELMO_OK);
    CHECK(p == ELMO_PRECISION_FP32);
    CHECK_STATUS(elmo_model_stored_precision(NULL, NULL, &p), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_model_stored_precision(path, NULL, NULL), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_model_stored_precision("/nonexistent/model", NULL, &p), ELMO_ERR_IO);
    elmo_model *reloaded = NULL;
    CHECK_STATUS(elmo_model_load(path, &mp, &reloaded), ELMO_OK);
    if (reloaded != NULL && v != NULL) {
        size_t m = 0;
        float *w = embed_reference_with(reloaded, NULL, &m);
        CHECK(w != NULL && m == n && memcmp(w, v, n * sizeof *w) == 0);
        free(w);
    }
    CHECK_STATUS(elmo_model_free(reloaded), ELMO_OK);
    free(v);
    remove(path);
    rmdir(dir);
    CHECK_STATUS(elmo_model_free(bf16), ELMO_OK);

    /* INT8 (0.2): close to fp32, not equal; its native file keeps its precision and bits. */
    mp.precision = ELMO_PRECISION_INT8;
    elmo_model *int8 = NULL;
    CHECK_STATUS(elmo_model_load(fixture_dir(), &mp, &int8), ELMO_OK);
    if (int8 != NULL) {
        CHECK_STATUS(elmo_model_precision(int8, &p), ELMO_OK);
        CHECK(p == ELMO_PRECISION_INT8);
        float *q = embed_reference_with(int8, NULL, &n);
        CHECK(q != NULL && n == reference_n);
        if (q != NULL && n == reference_n) {
            double worst = 1;
            for (size_t i = 0; i + OUTPUT_DIM <= n; i += OUTPUT_DIM) {
                double c = cosine(q + i, reference + i, OUTPUT_DIM);
                worst = c < worst ? c : worst;
            }
            printf("test_api: int8 vs fp32, smallest token cosine %.6f\n", worst);
            CHECK(worst > 0.999);
            CHECK(memcmp(q, reference, n * sizeof *q) != 0);
        }
        char dir8[] = "/tmp/elmo-test-int8-XXXXXX";
        if (mkdtemp(dir8) == NULL) { perror("mkdtemp"); exit(2); }
        snprintf(path, sizeof path, "%s/model-int8.elmo", dir8);
        CHECK_STATUS(elmo_model_save_native(int8, path), ELMO_OK);
        CHECK_STATUS(elmo_model_stored_precision(path, NULL, &p), ELMO_OK);
        CHECK(p == ELMO_PRECISION_INT8);
        elmo_model *again = NULL;
        CHECK_STATUS(elmo_model_load(path, &mp, &again), ELMO_OK);
        if (again != NULL && q != NULL) {
            size_t m8 = 0;
            float *w = embed_reference_with(again, NULL, &m8);
            CHECK(w != NULL && m8 == n && memcmp(w, q, n * sizeof *w) == 0);
            free(w);
        }
        CHECK_STATUS(elmo_model_free(again), ELMO_OK);
        free(q);
        remove(path);
        rmdir(dir8);
    }
    CHECK_STATUS(elmo_model_free(int8), ELMO_OK);

    /* Values outside the enum, and a nonzero reserved field, are refused. */
    elmo_model *m = (elmo_model *)&m;
    mp.precision = (elmo_precision)7;
    CHECK_STATUS(elmo_model_load(fixture_dir(), &mp, &m), ELMO_ERR_INVALID_ARGUMENT);
    CHECK(m == NULL && strstr(elmo_last_error(), "precision") != NULL);
    mp = elmo_model_default_params();
    mp.reserved = 1;
    CHECK_STATUS(elmo_model_load(fixture_dir(), &mp, &m), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STILL_USABLE("precision");
}

static void test_session_lifecycle(void) {
    elmo_session *s = (elmo_session *)&s;
    elmo_session_params p = elmo_session_default_params();
    CHECK_STATUS(elmo_session_create(NULL, &p, &s), ELMO_ERR_INVALID_ARGUMENT);
    CHECK(s == NULL);
    CHECK_STATUS(elmo_session_create(model, &p, NULL), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_session_create((const elmo_model *)session, &p, &s), ELMO_ERR_INVALID_ARGUMENT);
    p.max_sentences = 0;
    CHECK_STATUS(elmo_session_create(model, &p, &s), ELMO_ERR_INVALID_ARGUMENT);
    p = elmo_session_default_params();
    p.max_tokens_per_sentence = 0;
    CHECK_STATUS(elmo_session_create(model, &p, &s), ELMO_ERR_INVALID_ARGUMENT);
    p = elmo_session_default_params();
    p.max_tokens_per_call = SIZE_MAX;                 /* beyond what any call can address */
    CHECK_STATUS(elmo_session_create(model, &p, &s), ELMO_ERR_INVALID_ARGUMENT);
    p = elmo_session_default_params();
    p.struct_size = 3;
    CHECK_STATUS(elmo_session_create(model, &p, &s), ELMO_ERR_INVALID_ARGUMENT);

    CHECK_STATUS(elmo_session_create(model, NULL, &s), ELMO_OK);
    CHECK_STATUS(elmo_session_reset(s), ELMO_OK);
    CHECK_STATUS(elmo_session_release_memory(s), ELMO_OK);
    CHECK_STATUS(elmo_session_free(s), ELMO_OK);
    CHECK_STATUS(elmo_session_free(s), ELMO_ERR_INVALID_ARGUMENT);   /* double free is reported */
    CHECK_STATUS(elmo_session_reset(s), ELMO_ERR_INVALID_ARGUMENT);  /* so is use after free */
    CHECK_STATUS(elmo_session_release_memory(s), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_session_free(NULL), ELMO_OK);
    CHECK_STATUS(elmo_session_free((elmo_session *)model), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_session_reset(NULL), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_session_reset((elmo_session *)model), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_session_release_memory(NULL), ELMO_ERR_INVALID_ARGUMENT);

    /* Handles are never reused: a freed handle stays dead while new sessions are made, and no
     * two sessions ever get the same handle (the allocator hands a freed object's memory to
     * the next one, so address-based handles would come back to life naming another session). */
    elmo_session *stale = s, *seen_handles[100];
    int reused = 0;
    for (int i = 0; i < 100; i++) {
        CHECK_STATUS(elmo_session_create(model, NULL, &seen_handles[i]), ELMO_OK);
        for (int j = 0; j < i; j++) reused += seen_handles[i] == seen_handles[j];
        reused += seen_handles[i] == stale;
        CHECK_STATUS(elmo_session_reset(stale), ELMO_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(elmo_session_free(seen_handles[i]), ELMO_OK);
    }
    CHECK(reused == 0);

    /* Memory released between calls comes back transparently. */
    CHECK_STATUS(elmo_session_release_memory(session), ELMO_OK);
    CHECK_STILL_USABLE("elmo_session_release_memory");

    /* A session keeps its model alive after the model handle is freed. */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", fixture_dir());
    elmo_model *m = NULL;
    CHECK_STATUS(elmo_model_load(dir, NULL, &m), ELMO_OK);
    CHECK_STATUS(elmo_session_create(m, NULL, &s), ELMO_OK);
    CHECK_STATUS(elmo_model_free(m), ELMO_OK);
    CHECK_STATUS(elmo_model_free(m), ELMO_ERR_INVALID_ARGUMENT);
    elmo_session *refused = NULL;
    CHECK_STATUS(elmo_session_create(m, NULL, &refused), ELMO_ERR_INVALID_ARGUMENT);
    CHECK(refused == NULL);
    elmo_output_params all = output_of(ELMO_OUTPUT_ALL_LAYERS, 1);
    float *v = xmalloc(reference_n * sizeof *v);
    CHECK_STATUS(elmo_embed_texts(s, reference_texts, 3, &all, v, reference_n, NULL), ELMO_OK);
    CHECK(memcmp(v, reference, reference_n * sizeof *v) == 0);
    free(v);
    CHECK_STATUS(elmo_session_free(s), ELMO_OK);
}

/* ---- sizes ---------------------------------------------------------------------------------- */

static void test_size_queries(void) {
    const size_t counts[] = { 3, 5 };
    size_t n = 0;
    struct { elmo_output_kind kind; size_t expected; } cases[] = {
        { ELMO_OUTPUT_ALL_LAYERS, LAYERS * 8 * OUTPUT_DIM }, { ELMO_OUTPUT_WORD_EMB, 8 * TOKEN_DIM },
        { ELMO_OUTPUT_LSTM, 8 * OUTPUT_DIM }, { ELMO_OUTPUT_ELMO, 8 * OUTPUT_DIM }, { ELMO_OUTPUT_DEFAULT, 2 * OUTPUT_DIM },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        elmo_output_params out = output_of(cases[i].kind, 2);
        CHECK_STATUS(elmo_tokens_output_size(model, counts, 2, &out, &n), ELMO_OK);
        CHECK(n == cases[i].expected);
    }
    CHECK_STATUS(elmo_tokens_output_size(model, counts, 2, NULL, &n), ELMO_OK);
    CHECK(n == 8 * OUTPUT_DIM);

    const char *texts[] = { "a b c", "  d\te\xc2\xa0" "f  " };   /* U+00A0 is whitespace too */
    size_t got[2] = { 0, 0 };
    CHECK_STATUS(elmo_texts_output_size(model, texts, 2, NULL, &n, got), ELMO_OK);
    CHECK(n == 6 * OUTPUT_DIM && got[0] == 3 && got[1] == 3);
    CHECK_STATUS(elmo_texts_output_size(model, texts, 2, NULL, &n, NULL), ELMO_OK);

    const size_t zero[] = { 3, 0 }, huge[] = { SIZE_MAX }, overflow[] = { SIZE_MAX / 64 }, halves[] = { SIZE_MAX / 200, SIZE_MAX / 200 };
    elmo_output_params all = output_of(ELMO_OUTPUT_ALL_LAYERS, 1);
    CHECK_STATUS(elmo_tokens_output_size(NULL, counts, 2, NULL, &n), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_tokens_output_size(model, NULL, 2, NULL, &n), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_tokens_output_size(model, counts, 2, NULL, NULL), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_tokens_output_size(model, counts, 0, NULL, &n), ELMO_ERR_INVALID_INPUT);
    CHECK_STATUS(elmo_tokens_output_size(model, counts, SIZE_MAX, NULL, &n), ELMO_ERR_LIMIT_EXCEEDED);
    CHECK_STATUS(elmo_tokens_output_size(model, zero, 2, NULL, &n), ELMO_ERR_INVALID_INPUT);
    CHECK_STATUS(elmo_tokens_output_size(model, huge, 1, NULL, &n), ELMO_ERR_LIMIT_EXCEEDED);
    CHECK_STATUS(elmo_tokens_output_size(model, overflow, 1, &all, &n), ELMO_ERR_LIMIT_EXCEEDED);
    CHECK_STATUS(elmo_tokens_output_size(model, halves, 2, &all, &n), ELMO_ERR_LIMIT_EXCEEDED);

    const char *empty[] = { "a", "" }, *blank[] = { " \t\n\xe3\x80\x80" }, *null_text[] = { "a", NULL };
    const char *bad_utf8[] = { "ok", "caf\xc3" }, *surrogate[] = { "\xed\xa0\x80" }, *overlong[] = { "\xc0\xaf" };
    CHECK_STATUS(elmo_texts_output_size(NULL, texts, 2, NULL, &n, NULL), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_texts_output_size(model, NULL, 2, NULL, &n, NULL), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_texts_output_size(model, texts, 2, NULL, NULL, NULL), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_texts_output_size(model, texts, 0, NULL, &n, NULL), ELMO_ERR_INVALID_INPUT);
    CHECK_STATUS(elmo_texts_output_size(model, texts, SIZE_MAX, NULL, &n, NULL), ELMO_ERR_LIMIT_EXCEEDED);
    CHECK_STATUS(elmo_texts_output_size(model, empty, 2, NULL, &n, NULL), ELMO_ERR_INVALID_INPUT);
    CHECK_STATUS(elmo_texts_output_size(model, blank, 1, NULL, &n, NULL), ELMO_ERR_INVALID_INPUT);
    CHECK_STATUS(elmo_texts_output_size(model, null_text, 2, NULL, &n, NULL), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_texts_output_size(model, bad_utf8, 2, NULL, &n, NULL), ELMO_ERR_INVALID_INPUT);
    CHECK(strstr(elmo_last_error(), "text 1") != NULL);
    CHECK_STATUS(elmo_texts_output_size(model, surrogate, 1, NULL, &n, NULL), ELMO_ERR_INVALID_INPUT);
    CHECK_STATUS(elmo_texts_output_size(model, overlong, 1, NULL, &n, NULL), ELMO_ERR_INVALID_INPUT);
}

/* elmo_output_shape (0.3): one sentence's shape, exact extents per kind; its product is what the
 * size query reports for that sentence alone. */
static void test_output_shape(void) {
    struct { elmo_output_kind kind; size_t axes, extents[3]; } cases[] = {
        { ELMO_OUTPUT_ALL_LAYERS, 3, { LAYERS, 5, OUTPUT_DIM } }, { ELMO_OUTPUT_WORD_EMB, 2, { 5, TOKEN_DIM } },
        { ELMO_OUTPUT_LSTM, 2, { 5, OUTPUT_DIM } }, { ELMO_OUTPUT_ELMO, 2, { 5, OUTPUT_DIM } },
        { ELMO_OUTPUT_DEFAULT, 1, { OUTPUT_DIM } },
    };
    const size_t five[] = { 5 };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        elmo_output_params out = output_of(cases[i].kind, 2);
        size_t shape[ELMO_OUTPUT_MAX_AXES] = { 0 }, axes = 0, n = 0, product = 1;
        CHECK_STATUS(elmo_output_shape(model, &out, 5, shape, ELMO_OUTPUT_MAX_AXES, &axes), ELMO_OK);
        CHECK(axes == cases[i].axes);
        for (size_t a = 0; a < cases[i].axes; a++) {
            CHECK(shape[a] == cases[i].extents[a]);
            product *= shape[a];
        }
        CHECK_STATUS(elmo_tokens_output_size(model, five, 1, &out, &n), ELMO_OK);
        CHECK(n == product);
    }
    size_t shape[ELMO_OUTPUT_MAX_AXES] = { 0 }, axes = 0;
    CHECK_STATUS(elmo_output_shape(model, NULL, 4, shape, ELMO_OUTPUT_MAX_AXES, &axes), ELMO_OK);  /* defaults: elmo */
    CHECK(axes == 2 && shape[0] == 4 && shape[1] == OUTPUT_DIM);
    /* An empty sentence has no rows (default: its output_dim floats); boundary rows add 2. */
    elmo_output_params all = output_of(ELMO_OUTPUT_ALL_LAYERS, 1), pooled = output_of(ELMO_OUTPUT_DEFAULT, 1);
    CHECK_STATUS(elmo_output_shape(model, &all, 0, shape, 3, &axes), ELMO_OK);
    CHECK(axes == 3 && shape[0] == LAYERS && shape[1] == 0 && shape[2] == OUTPUT_DIM);
    CHECK_STATUS(elmo_output_shape(model, &pooled, 0, shape, 3, &axes), ELMO_OK);
    CHECK(axes == 1 && shape[0] == OUTPUT_DIM);
    all.sentence_boundaries = 1;
    CHECK_STATUS(elmo_output_shape(model, &all, 0, shape, 3, &axes), ELMO_OK);
    CHECK(axes == 3 && shape[0] == LAYERS && shape[1] == 2 && shape[2] == OUTPUT_DIM);
    CHECK_STATUS(elmo_output_shape(model, &all, 7, shape, 3, &axes), ELMO_OK);
    CHECK(shape[1] == 9);
    pooled.sentence_boundaries = 1;
    CHECK_STATUS(elmo_output_shape(model, &pooled, 3, shape, 3, &axes), ELMO_ERR_INVALID_ARGUMENT);
    CHECK(strstr(elmo_last_error(), "not to the pooled `default`") != NULL);
    /* Too small a shape buffer: the axis count is still stored. */
    axes = 0;
    CHECK_STATUS(elmo_output_shape(model, &all, 3, shape, 2, &axes), ELMO_ERR_BUFFER_TOO_SMALL);
    CHECK(axes == 3);
    CHECK_STATUS(elmo_output_shape(model, &all, SIZE_MAX, shape, 3, &axes), ELMO_ERR_LIMIT_EXCEEDED);
    CHECK_STATUS(elmo_output_shape(model, &all, SIZE_MAX / 2 - 1, shape, 3, &axes), ELMO_ERR_LIMIT_EXCEEDED);
    elmo_output_params missing = output_of(ELMO_OUTPUT_LSTM, LSTM_LAYERS + 1);
    CHECK_STATUS(elmo_output_shape(model, &missing, 3, shape, 3, &axes), ELMO_ERR_INVALID_ARGUMENT);
    CHECK(strstr(elmo_last_error(), "lstm_layer 3 does not exist") != NULL);
    CHECK_STATUS(elmo_output_shape(NULL, &all, 3, shape, 3, &axes), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_output_shape(model, &all, 3, NULL, 3, &axes), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_output_shape(model, &all, 3, shape, 3, NULL), ELMO_ERR_INVALID_ARGUMENT);
}

/* ---- output params ---------------------------------------------------------------------------- */

static void test_output_param_errors(void) {
    const size_t counts[] = { 2 };
    const char *tokens[] = { "a", "b" };
    float v[LAYERS * 2 * OUTPUT_DIM];
    size_t n;
    const float three[] = { 1, 2, 3 }, two[] = { 1, 2 }, nan3[] = { 1, NAN, 3 };
    elmo_output_params out;

#define EXPECT_BAD_OUTPUT(setup)                                                                          \
    do {                                                                                                  \
        out = elmo_output_default_params();                                                               \
        setup;                                                                                            \
        CHECK_STATUS(elmo_tokens_output_size(model, counts, 1, &out, &n), ELMO_ERR_INVALID_ARGUMENT);     \
        CHECK_STATUS(elmo_embed_tokens(session, tokens, counts, 1, &out, v, sizeof v / sizeof v[0]),      \
                     ELMO_ERR_INVALID_ARGUMENT);                                                          \
    } while (0)

    EXPECT_BAD_OUTPUT(out.kind = (elmo_output_kind)99);
    EXPECT_BAD_OUTPUT((out.kind = ELMO_OUTPUT_LSTM, out.lstm_layer = 0));
    EXPECT_BAD_OUTPUT((out.kind = ELMO_OUTPUT_LSTM, out.lstm_layer = 3));
    EXPECT_BAD_OUTPUT((out.kind = ELMO_OUTPUT_LSTM, out.lstm_layer = SIZE_MAX));
    EXPECT_BAD_OUTPUT((out.mix_weights = two, out.mix_weight_count = 2));
    EXPECT_BAD_OUTPUT((out.mix_weights = three, out.mix_weight_count = SIZE_MAX));
    EXPECT_BAD_OUTPUT((out.mix_weights = NULL, out.mix_weight_count = 3));
    EXPECT_BAD_OUTPUT((out.mix_weights = nan3, out.mix_weight_count = 3));
    EXPECT_BAD_OUTPUT((out.kind = ELMO_OUTPUT_DEFAULT, out.mix_weights = three, out.mix_weight_count = 3, out.mix_gamma = INFINITY));
    EXPECT_BAD_OUTPUT(out.mix_gamma = 2);          /* a mix setting without mix weights */
    EXPECT_BAD_OUTPUT(out.mix_layer_norm = 1);
    EXPECT_BAD_OUTPUT(out.struct_size = 0);
    EXPECT_BAD_OUTPUT(out.struct_size = sizeof out + 8);
#undef EXPECT_BAD_OUTPUT

    /* Kinds other than elmo/default ignore the mix fields. */
    out = output_of(ELMO_OUTPUT_WORD_EMB, 1);
    out.mix_gamma = 5;
    CHECK_STATUS(elmo_tokens_output_size(model, counts, 1, &out, &n), ELMO_OK);
    CHECK_STILL_USABLE("output param errors");
}

/* ---- outputs against an independent computation from all layers -------------------------------- */

static void softmax(const float *w, size_t n, double *s) {
    double max = w[0], sum = 0;
    for (size_t k = 1; k < n; k++) if (w[k] > max) max = w[k];
    for (size_t k = 0; k < n; k++) sum += (s[k] = exp(w[k] - max));
    for (size_t k = 0; k < n; k++) s[k] /= sum;
}

/* The mix of one sentence (T tokens) computed from its all-layers block, in double. */
static void mix_sentence(const float *all, size_t T, const double *s, double gamma, int layer_norm, double *out) {
    size_t n = T * OUTPUT_DIM;
    for (size_t i = 0; i < n; i++) out[i] = 0;
    for (size_t k = 0; k < LAYERS; k++) {
        const float *layer = all + k * n;
        double mean = 0, var = 0, scale = gamma * s[k];
        if (layer_norm) {
            for (size_t i = 0; i < n; i++) mean += layer[i];
            mean /= (double)n;
            for (size_t i = 0; i < n; i++) var += (layer[i] - mean) * (layer[i] - mean);
            var /= (double)n;
            scale /= sqrt(var + 1e-12);
        }
        for (size_t i = 0; i < n; i++) out[i] += scale * (layer[i] - mean);
    }
}

static void test_outputs(void) {
    const char *texts[] = { "The bank of the river .", "A loan", "Elk calling -- a skill that hunters perfected" };
    const size_t expected_counts[] = { 6, 2, 8 };
    size_t counts[3], n_all, n;
    elmo_output_params out = output_of(ELMO_OUTPUT_ALL_LAYERS, 1);
    float *all = embed_texts(session, texts, 3, &out, &n_all, counts);
    CHECK(all != NULL);
    if (all == NULL) return;
    CHECK(counts[0] == 6 && counts[1] == 2 && counts[2] == 8);
    CHECK(n_all == LAYERS * 16 * OUTPUT_DIM);

    /* Layer 0 is the token layer twice: [word_emb, word_emb]. */
    for (size_t t = 0; t < 6; t++) CHECK(memcmp(all + t * OUTPUT_DIM, all + t * OUTPUT_DIM + TOKEN_DIM, TOKEN_DIM * sizeof(float)) == 0);

    const float custom[] = { 1, 2, 3 };
    struct { elmo_output_kind kind; size_t layer; const float *w; float gamma; int ln; } cases[] = {
        { ELMO_OUTPUT_WORD_EMB, 1, NULL, 1, 0 }, { ELMO_OUTPUT_LSTM, 1, NULL, 1, 0 }, { ELMO_OUTPUT_LSTM, 2, NULL, 1, 0 },
        { ELMO_OUTPUT_ELMO, 1, NULL, 1, 0 }, { ELMO_OUTPUT_DEFAULT, 1, NULL, 1, 0 },
        { ELMO_OUTPUT_ELMO, 1, custom, 0.5f, 0 }, { ELMO_OUTPUT_DEFAULT, 1, custom, 0.5f, 0 },
        { ELMO_OUTPUT_ELMO, 1, custom, 2, 1 }, { ELMO_OUTPUT_DEFAULT, 1, custom, 2, 1 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        out = output_of(cases[c].kind, cases[c].layer);
        if (cases[c].w != NULL) {
            out.mix_weights = cases[c].w;
            out.mix_weight_count = 3;
            out.mix_gamma = cases[c].gamma;
            out.mix_layer_norm = cases[c].ln;
        }
        float *got = embed_texts(session, texts, 3, &out, &n, counts);
        CHECK(got != NULL);
        if (got == NULL) continue;
        double s[LAYERS], worst = 0;
        const float equal[LAYERS] = { 0, 0, 0 };
        softmax(cases[c].w ? cases[c].w : equal, LAYERS, s);
        const float *src = all, *dst = got;
        for (size_t i = 0; i < 3; i++) {
            size_t T = expected_counts[i];
            double mixed[8 * OUTPUT_DIM];
            mix_sentence(src, T, s, cases[c].gamma, cases[c].ln, mixed);
            switch (cases[c].kind) {
            case ELMO_OUTPUT_WORD_EMB:
                for (size_t t = 0; t < T; t++)
                    for (size_t d = 0; d < TOKEN_DIM; d++)
                        worst = fmax(worst, fabs(dst[t * TOKEN_DIM + d] - src[t * OUTPUT_DIM + d]));
                dst += T * TOKEN_DIM;
                break;
            case ELMO_OUTPUT_LSTM:
                worst = fmax(worst, max_abs_diff(dst, src + cases[c].layer * T * OUTPUT_DIM, T * OUTPUT_DIM));
                dst += T * OUTPUT_DIM;
                break;
            case ELMO_OUTPUT_ELMO:
                for (size_t k = 0; k < T * OUTPUT_DIM; k++) worst = fmax(worst, fabs(dst[k] - mixed[k]));
                dst += T * OUTPUT_DIM;
                break;
            default:
                for (size_t d = 0; d < OUTPUT_DIM; d++) {
                    double mean = 0;
                    for (size_t t = 0; t < T; t++) mean += mixed[t * OUTPUT_DIM + d];
                    worst = fmax(worst, fabs(dst[d] - mean / (double)T));
                }
                dst += OUTPUT_DIM;
                break;
            }
            src += LAYERS * T * OUTPUT_DIM;
        }
        CHECK((size_t)(dst - got) == n);
        if (!(worst <= 1e-5)) fprintf(stderr, "output case %zu: max |diff| %g\n", c, worst);
        CHECK(worst <= 1e-5);
        free(got);
    }

    /* Pre-tokenized input gives exactly what the same text gives. */
    const char *tokens[] = { "The", "bank", "of", "the", "river", ".", "A", "loan",
                             "Elk", "calling", "--", "a", "skill", "that", "hunters", "perfected" };
    float *v = xmalloc(n_all * sizeof *v);
    out = output_of(ELMO_OUTPUT_ALL_LAYERS, 1);
    CHECK_STATUS(elmo_tokens_output_size(model, expected_counts, 3, &out, &n), ELMO_OK);
    CHECK(n == n_all);
    CHECK_STATUS(elmo_embed_tokens(session, tokens, expected_counts, 3, &out, v, n_all), ELMO_OK);
    CHECK(memcmp(v, all, n_all * sizeof *v) == 0);
    /* A larger buffer than needed is fine; only the needed floats are written. */
    float *big = xmalloc((n_all + 7) * sizeof *big);
    for (size_t i = 0; i < n_all + 7; i++) big[i] = -7.0f;
    CHECK_STATUS(elmo_embed_tokens(session, tokens, expected_counts, 3, &out, big, n_all + 7), ELMO_OK);
    CHECK(memcmp(big, all, n_all * sizeof *v) == 0 && big[n_all] == -7.0f && big[n_all + 6] == -7.0f);
    free(big);
    free(v);
    free(all);
}

/* ---- bad input to the embedding calls ------------------------------------------------------------ */

static void test_embed_errors(void) {
    const char *tokens[] = { "a", "b", "c" };
    const size_t counts[] = { 2, 1 };
    float v[LAYERS * 3 * OUTPUT_DIM];
    const size_t cap = sizeof v / sizeof v[0];
    size_t tc[2];

    CHECK_STATUS(elmo_embed_tokens(NULL, tokens, counts, 2, NULL, v, cap), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_embed_tokens((elmo_session *)model, tokens, counts, 2, NULL, v, cap), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_embed_tokens(session, NULL, counts, 2, NULL, v, cap), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_embed_tokens(session, tokens, NULL, 2, NULL, v, cap), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_embed_tokens(session, tokens, counts, 0, NULL, v, cap), ELMO_ERR_INVALID_INPUT);
    CHECK_STATUS(elmo_embed_tokens(session, NULL, NULL, 0, NULL, v, cap), ELMO_ERR_INVALID_INPUT);
    CHECK_STATUS(elmo_embed_tokens(session, tokens, counts, SIZE_MAX, NULL, v, cap), ELMO_ERR_LIMIT_EXCEEDED);
    CHECK_STATUS(elmo_embed_tokens(session, tokens, counts, 2, NULL, NULL, cap), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_embed_tokens(session, tokens, counts, 2, NULL, NULL, 0), ELMO_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(elmo_embed_tokens(session, tokens, counts, 2, NULL, v, 0), ELMO_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(elmo_embed_tokens(session, tokens, counts, 2, NULL, v, 3 * OUTPUT_DIM - 1), ELMO_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(elmo_embed_tokens(session, tokens, counts, 2, NULL, v, SIZE_MAX), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_embed_tokens(session, tokens, counts, 2, NULL, v, 3 * OUTPUT_DIM), ELMO_OK);

    const size_t empty_sentence[] = { 2, 0, 1 }, too_many[] = { 2, 2 }, huge[] = { SIZE_MAX, 1 };
    CHECK_STATUS(elmo_embed_tokens(session, tokens, empty_sentence, 3, NULL, v, cap), ELMO_ERR_INVALID_INPUT);
    CHECK(strstr(elmo_last_error(), "sentence 1") != NULL);
    CHECK_STATUS(elmo_embed_tokens(session, tokens, huge, 2, NULL, v, cap), ELMO_ERR_LIMIT_EXCEEDED);
    (void)too_many; /* counts that exceed the tokens array cannot be detected in C; not tested */

    const char *null_token[] = { "a", NULL, "c" }, *empty_token[] = { "a", "", "c" };
    const char *invalid[] = { "a", "\xff", "c" }, *truncated[] = { "a", "\xe2\x82", "c" };
    const char *surrogate[] = { "a", "\xed\xb0\x80", "c" }, *above[] = { "a", "\xf4\x90\x80\x80", "c" };
    CHECK_STATUS(elmo_embed_tokens(session, null_token, counts, 2, NULL, v, cap), ELMO_ERR_INVALID_ARGUMENT);
    CHECK(strstr(elmo_last_error(), "sentence 0: token 1") != NULL);
    CHECK_STATUS(elmo_embed_tokens(session, empty_token, counts, 2, NULL, v, cap), ELMO_ERR_INVALID_INPUT);
    CHECK_STATUS(elmo_embed_tokens(session, invalid, counts, 2, NULL, v, cap), ELMO_ERR_INVALID_INPUT);
    CHECK_STATUS(elmo_embed_tokens(session, truncated, counts, 2, NULL, v, cap), ELMO_ERR_INVALID_INPUT);
    CHECK_STATUS(elmo_embed_tokens(session, surrogate, counts, 2, NULL, v, cap), ELMO_ERR_INVALID_INPUT);
    CHECK_STATUS(elmo_embed_tokens(session, above, counts, 2, NULL, v, cap), ELMO_ERR_INVALID_INPUT);
    CHECK_STILL_USABLE("bad tokens");

    const char *texts[] = { "a b", "c" }, *blank[] = { "a", "   " }, *bad[] = { "a", "b\x80" }, *null_text[] = { NULL, "a" };
    CHECK_STATUS(elmo_embed_texts(NULL, texts, 2, NULL, v, cap, tc), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_embed_texts((elmo_session *)model, texts, 2, NULL, v, cap, tc), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_embed_texts(session, NULL, 2, NULL, v, cap, tc), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_embed_texts(session, texts, 0, NULL, v, cap, tc), ELMO_ERR_INVALID_INPUT);
    CHECK_STATUS(elmo_embed_texts(session, texts, SIZE_MAX, NULL, v, cap, tc), ELMO_ERR_LIMIT_EXCEEDED);
    CHECK_STATUS(elmo_embed_texts(session, blank, 2, NULL, v, cap, tc), ELMO_ERR_INVALID_INPUT);
    CHECK_STATUS(elmo_embed_texts(session, bad, 2, NULL, v, cap, tc), ELMO_ERR_INVALID_INPUT);
    CHECK_STATUS(elmo_embed_texts(session, null_text, 2, NULL, v, cap, tc), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_embed_texts(session, texts, 2, NULL, NULL, cap, tc), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_embed_texts(session, texts, 2, NULL, v, 3 * OUTPUT_DIM - 1, tc), ELMO_ERR_BUFFER_TOO_SMALL);
    tc[0] = tc[1] = 0;
    CHECK_STATUS(elmo_embed_texts(session, texts, 2, NULL, v, cap, tc), ELMO_OK);
    CHECK(tc[0] == 2 && tc[1] == 1);
    CHECK_STATUS(elmo_embed_texts(session, texts, 2, NULL, v, cap, NULL), ELMO_OK);
    CHECK_STILL_USABLE("bad texts");
}

/* A 10,000-byte token works, and is what bilm-tf makes of it: its first 48 bytes
 * (max_characters_per_token - 2) decide its vector. */
static void test_long_token(void) {
    char *long_token = xmalloc(10001), prefix[49];
    for (size_t i = 0; i < 10000; i++) long_token[i] = (char)('a' + i % 26);
    long_token[10000] = '\0';
    memcpy(prefix, long_token, 48);
    prefix[48] = '\0';
    const char *a[] = { "x", long_token }, *b[] = { "x", prefix };
    const size_t counts[] = { 2 };
    elmo_output_params out = output_of(ELMO_OUTPUT_ALL_LAYERS, 1);
    float va[LAYERS * 2 * OUTPUT_DIM], vb[LAYERS * 2 * OUTPUT_DIM];
    CHECK_STATUS(elmo_embed_tokens(session, a, counts, 1, &out, va, LAYERS * 2 * OUTPUT_DIM), ELMO_OK);
    CHECK_STATUS(elmo_embed_tokens(session, b, counts, 1, &out, vb, LAYERS * 2 * OUTPUT_DIM), ELMO_OK);
    CHECK(memcmp(va, vb, sizeof va) == 0);

    /* 10,000 bytes of 2-byte characters: truncation splits a character, as bilm-tf does. */
    for (size_t i = 0; i < 10000; i += 2) { long_token[i] = '\xc3'; long_token[i + 1] = '\xa9'; }
    const char *text[] = { long_token };
    size_t n, tc;
    CHECK_STATUS(elmo_texts_output_size(model, text, 1, &out, &n, &tc), ELMO_OK);
    CHECK(tc == 1 && n == LAYERS * OUTPUT_DIM);
    CHECK_STATUS(elmo_embed_texts(session, text, 1, &out, va, n, &tc), ELMO_OK);
    free(long_token);
}

/* A 10,000-token sentence works within the default limits (elmo.h: 65,536 tokens per sentence
 * and per call, 16,384 sentences per call); beyond the limits is refused before any work, with
 * a message naming the limit, and smaller session limits are honoured. */
static void test_long_sentences(void) {
    static const char *const words[] = { "the", "bank", "of", "a", "river", ",", "loans", "." };
    const size_t N = 10000;
    const char **tokens = xmalloc(70000 * sizeof *tokens);
    for (size_t i = 0; i < 70000; i++) tokens[i] = words[i % 8];
    size_t counts[] = { N }, n = 0;
    elmo_output_params out = output_of(ELMO_OUTPUT_LSTM, 2);
    CHECK_STATUS(elmo_tokens_output_size(model, counts, 1, &out, &n), ELMO_OK);
    CHECK(n == N * OUTPUT_DIM);
    float *v = xmalloc(n * sizeof *v);
    CHECK_STATUS(elmo_embed_tokens(session, tokens, counts, 1, &out, v, n), ELMO_OK);
    int finite = 1;
    for (size_t i = 0; i < n; i++) finite &= isfinite(v[i]) != 0;
    CHECK(finite);
    free(v);

    counts[0] = 65537;                                /* the default per-sentence limit is 65,536 */
    CHECK_STATUS(elmo_embed_tokens(session, tokens, counts, 1, &out, NULL, 0), ELMO_ERR_LIMIT_EXCEEDED);
    size_t two[] = { 40000, 30000 };                  /* the default per-call limit is 65,536 */
    CHECK_STATUS(elmo_embed_tokens(session, tokens, two, 2, &out, NULL, 0), ELMO_ERR_LIMIT_EXCEEDED);

    elmo_session *small = NULL;
    elmo_session_params p = elmo_session_default_params();
    p.max_sentences = 2;
    p.max_tokens_per_sentence = 4;
    p.max_tokens_per_call = 6;
    elmo_session *limited = NULL;
    elmo_session_params lp = elmo_session_default_params();
    lp.max_tokens_per_sentence = N - 1;               /* the same sentence, one token over */
    CHECK_STATUS(elmo_session_create(model, &lp, &limited), ELMO_OK);
    counts[0] = N;
    v = xmalloc(N * OUTPUT_DIM * sizeof *v);
    CHECK_STATUS(elmo_embed_tokens(limited, tokens, counts, 1, &out, v, N * OUTPUT_DIM), ELMO_ERR_LIMIT_EXCEEDED);
    CHECK(strstr(elmo_last_error(), "10000 tokens, more than the limit of 9999") != NULL);
    free(v);
    CHECK_STATUS(elmo_session_free(limited), ELMO_OK);

    CHECK_STATUS(elmo_session_create(model, &p, &small), ELMO_OK);
    float w[8 * OUTPUT_DIM];
    size_t three[] = { 1, 1, 1 }, five[] = { 5 }, seven[] = { 4, 3 }, ok[] = { 4, 2 };
    const char *texts[] = { "a", "b", "c" };
    CHECK_STATUS(elmo_embed_tokens(small, tokens, three, 3, &out, w, 8 * OUTPUT_DIM), ELMO_ERR_LIMIT_EXCEEDED);
    CHECK_STATUS(elmo_embed_texts(small, texts, 3, &out, w, 8 * OUTPUT_DIM, NULL), ELMO_ERR_LIMIT_EXCEEDED);
    CHECK_STATUS(elmo_embed_tokens(small, tokens, five, 1, &out, w, 8 * OUTPUT_DIM), ELMO_ERR_LIMIT_EXCEEDED);
    CHECK_STATUS(elmo_embed_tokens(small, tokens, seven, 2, &out, w, 8 * OUTPUT_DIM), ELMO_ERR_LIMIT_EXCEEDED);
    CHECK_STATUS(elmo_embed_tokens(small, tokens, ok, 2, &out, w, 8 * OUTPUT_DIM), ELMO_OK);
    CHECK_STATUS(elmo_session_free(small), ELMO_OK);
    free(tokens);
    CHECK_STILL_USABLE("limits");
}

/* Stateful sessions carry states between calls, reset forgets them, and a failed call leaves
 * them untouched. */
static void test_stateful(void) {
    elmo_session *st = NULL, *fresh = NULL;
    elmo_session_params p = elmo_session_default_params();
    p.stateful = 1;
    CHECK_STATUS(elmo_session_create(model, &p, &st), ELMO_OK);
    CHECK_STATUS(elmo_session_create(model, &p, &fresh), ELMO_OK);
    const char *a[] = { "The bank of the river ." }, *b[] = { "A loan from the bank ." }, *bad[] = { "\xff" };
    elmo_output_params out = output_of(ELMO_OUTPUT_LSTM, 2);
    float first[6 * OUTPUT_DIM], second[6 * OUTPUT_DIM], expected[6 * OUTPUT_DIM], stateless[6 * OUTPUT_DIM];
    const size_t n = 6 * OUTPUT_DIM;
    CHECK_STATUS(elmo_embed_texts(st, a, 1, &out, first, n, NULL), ELMO_OK);
    CHECK_STATUS(elmo_embed_texts(st, bad, 1, &out, second, n, NULL), ELMO_ERR_INVALID_INPUT);
    CHECK_STATUS(elmo_embed_texts(st, b, 1, &out, second, n - 1, NULL), ELMO_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(elmo_embed_texts(st, b, 1, &out, second, n, NULL), ELMO_OK);
    CHECK_STATUS(elmo_embed_texts(fresh, a, 1, &out, expected, n, NULL), ELMO_OK);
    CHECK_STATUS(elmo_embed_texts(fresh, b, 1, &out, expected, n, NULL), ELMO_OK);
    CHECK(memcmp(second, expected, sizeof second) == 0);   /* the failed calls changed nothing */
    CHECK_STATUS(elmo_embed_texts(session, b, 1, &out, stateless, n, NULL), ELMO_OK);
    CHECK(memcmp(second, stateless, sizeof second) != 0);  /* state carried from `a` */
    CHECK_STATUS(elmo_session_reset(st), ELMO_OK);
    CHECK_STATUS(elmo_embed_texts(st, b, 1, &out, second, n, NULL), ELMO_OK);
    CHECK(memcmp(second, stateless, sizeof second) == 0);  /* reset: back to zero states */
    CHECK_STATUS(elmo_session_free(st), ELMO_OK);
    CHECK_STATUS(elmo_session_free(fresh), ELMO_OK);
}

/* The message of the last failure stays until the next failure, whatever succeeds between. */
static void test_last_error(void) {
    size_t v;
    CHECK_STATUS(elmo_model_token_dim(NULL, &v), ELMO_ERR_INVALID_ARGUMENT);
    char saved[256];
    snprintf(saved, sizeof saved, "%s", elmo_last_error());
    CHECK(strcmp(saved, "elmo_model_token_dim: model is NULL") == 0);
    CHECK_STATUS(elmo_model_token_dim(model, &v), ELMO_OK);
    CHECK(strcmp(elmo_last_error(), saved) == 0);
}

/* ---- Since 0.2: character ids, sentence boundary rows, the model's own mix ------------------ */

/* Shifted character ids of a word (bilm-tf + 1), written into row[0..50). */
static void word_ids(int *row, const char *word) {
    size_t n = strlen(word);
    if (n > 48) n = 48;
    for (int i = 0; i < 50; i++) row[i] = 261;
    row[0] = 259;
    for (size_t i = 0; i < n; i++) row[i + 1] = (unsigned char)word[i] + 1;
    row[n + 1] = 260;
}

/* elmo_embed_character_ids gives the bits of elmo_embed_tokens for the same tokens, refuses
 * every malformed row with its place, and leaves the session usable. */
static void test_character_ids(void) {
    size_t per_token = 0;
    CHECK_STATUS(elmo_model_characters_per_token(model, &per_token), ELMO_OK);
    CHECK(per_token == 50);
    CHECK_STATUS(elmo_model_characters_per_token(NULL, &per_token), ELMO_ERR_INVALID_ARGUMENT);

    const char *tokens[] = { "The", "bank", "of", "the", "river", ".", "A", "loan" };
    const size_t counts[] = { 6, 2 };
    int ids[8 * 50];
    for (int t = 0; t < 8; t++) word_ids(ids + 50 * t, tokens[t]);
    elmo_output_params all = output_of(ELMO_OUTPUT_ALL_LAYERS, 1);
    size_t n = 0;
    CHECK_STATUS(elmo_tokens_output_size(model, counts, 2, &all, &n), ELMO_OK);
    CHECK(n == LAYERS * 8 * OUTPUT_DIM);
    float *from_ids = xmalloc(n * sizeof *from_ids), *from_text = xmalloc(n * sizeof *from_text);
    CHECK_STATUS(elmo_embed_character_ids(session, ids, 50, counts, 2, &all, from_ids, n), ELMO_OK);
    CHECK_STATUS(elmo_embed_tokens(session, tokens, counts, 2, &all, from_text, n), ELMO_OK);
    CHECK(memcmp(from_ids, from_text, n * sizeof *from_ids) == 0);

    /* Malformed rows: sentence 1, token 1 ("loan") broken in each way the rows can be. */
    struct { int position, value; const char *message; } bad[] = {
        { 3, 262, "elmo_embed_character_ids: sentence 1, token 1: character id 262 at position 3 is outside 0...261" },
        { 3, -5, "elmo_embed_character_ids: sentence 1, token 1: character id -5 at position 3 is outside 0...261" },
        { 0, 98, "elmo_embed_character_ids: sentence 1, token 1: character id 98 at position 0 where begin-of-word (259) belongs" },
        { 9, 98, "elmo_embed_character_ids: sentence 1, token 1: character id 98 at position 9 where padding after end-of-word (261) belongs" },
        { 2, 257, "elmo_embed_character_ids: sentence 1, token 1: character id 257 at position 2 where a byte id (1...256) or end-of-word (260) belongs" },
    };
    int *row = ids + 50 * 7;
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        int saved = row[bad[k].position];
        row[bad[k].position] = bad[k].value;
        CHECK_STATUS(elmo_embed_character_ids(session, ids, 50, counts, 2, &all, from_ids, n), ELMO_ERR_INVALID_INPUT);
        CHECK(strcmp(elmo_last_error(), bad[k].message) == 0);
        row[bad[k].position] = saved;
    }
    memset(row, 0, 50 * sizeof *row);
    CHECK_STATUS(elmo_embed_character_ids(session, ids, 50, counts, 2, &all, from_ids, n), ELMO_ERR_INVALID_INPUT);
    CHECK(strstr(elmo_last_error(), "sentence 1, token 1 is padding (all ids 0)") != NULL);
    word_ids(row, "loan");
    /* The boundary rows themselves are valid input (a word spelled "<S>" is another row). */
    int boundary[50];
    for (int i = 0; i < 50; i++) boundary[i] = 261;
    boundary[0] = 259; boundary[1] = 257; boundary[2] = 260;
    const size_t one[] = { 1 };
    float v[LAYERS * OUTPUT_DIM];
    CHECK_STATUS(elmo_embed_character_ids(session, boundary, 50, one, 1, &all, v, LAYERS * OUTPUT_DIM), ELMO_OK);

    /* Arguments: the row width must be the model's, pointers present, counts within limits. */
    CHECK_STATUS(elmo_embed_character_ids(session, ids, 49, counts, 2, &all, from_ids, n), ELMO_ERR_INVALID_ARGUMENT);
    CHECK(strstr(elmo_last_error(), "n_characters is 49 but the model reads 50") != NULL);
    CHECK_STATUS(elmo_embed_character_ids(session, NULL, 50, counts, 2, &all, from_ids, n), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_embed_character_ids(session, ids, 50, NULL, 2, &all, from_ids, n), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_embed_character_ids(session, ids, 50, counts, 0, &all, from_ids, n), ELMO_ERR_INVALID_INPUT);
    CHECK_STATUS(elmo_embed_character_ids(NULL, ids, 50, counts, 2, &all, from_ids, n), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_embed_character_ids(session, ids, 50, counts, 2, &all, from_ids, n - 1), ELMO_ERR_BUFFER_TOO_SMALL);
    const size_t huge[] = { (size_t)-1 };
    CHECK_STATUS(elmo_embed_character_ids(session, ids, 50, huge, 1, &all, from_ids, n), ELMO_ERR_LIMIT_EXCEEDED);
    CHECK_STILL_USABLE("character id errors");
    free(from_ids);
    free(from_text);
}

/* sentence_boundaries: T + 2 rows per sentence, the inner rows the tokens' own, the outer ones
 * the boundary tokens' (layer 0 = the token layer of "<S>" / "</S>"). */
static void test_sentence_boundaries(void) {
    const char *tokens[] = { "A", "loan", "." }, *marks[] = { "<S>", "</S>" };
    const size_t counts[] = { 3 }, mark_counts[] = { 2 };
    elmo_output_params all = output_of(ELMO_OUTPUT_ALL_LAYERS, 1), rows = all;
    rows.sentence_boundaries = 1;
    size_t n = 0;
    CHECK_STATUS(elmo_tokens_output_size(model, counts, 1, &rows, &n), ELMO_OK);
    CHECK(n == LAYERS * 5 * OUTPUT_DIM);
    float with[LAYERS * 5 * OUTPUT_DIM], without[LAYERS * 3 * OUTPUT_DIM], word[2 * TOKEN_DIM];
    CHECK_STATUS(elmo_embed_tokens(session, tokens, counts, 1, &rows, with, n), ELMO_OK);
    CHECK_STATUS(elmo_embed_tokens(session, tokens, counts, 1, &all, without, LAYERS * 3 * OUTPUT_DIM), ELMO_OK);
    for (int layer = 0; layer < LAYERS; layer++)
        CHECK(memcmp(with + (layer * 5 + 1) * OUTPUT_DIM, without + layer * 3 * OUTPUT_DIM,
                     3 * OUTPUT_DIM * sizeof(float)) == 0);
    elmo_output_params emb = output_of(ELMO_OUTPUT_WORD_EMB, 1);
    CHECK_STATUS(elmo_embed_tokens(session, marks, mark_counts, 1, &emb, word, 2 * TOKEN_DIM), ELMO_OK);
    CHECK(memcmp(with, word, TOKEN_DIM * sizeof(float)) == 0);
    CHECK(memcmp(with + 4 * OUTPUT_DIM, word + TOKEN_DIM, TOKEN_DIM * sizeof(float)) == 0);
    /* Per-token kinds grow by two rows; `default` has none; reserved must stay 0. */
    elmo_output_params lstm = output_of(ELMO_OUTPUT_LSTM, 2), pooled = output_of(ELMO_OUTPUT_DEFAULT, 1);
    lstm.sentence_boundaries = 1;
    pooled.sentence_boundaries = 1;
    CHECK_STATUS(elmo_tokens_output_size(model, counts, 1, &lstm, &n), ELMO_OK);
    CHECK(n == 5 * OUTPUT_DIM);
    CHECK_STATUS(elmo_tokens_output_size(model, counts, 1, &pooled, &n), ELMO_ERR_INVALID_ARGUMENT);
    CHECK(strstr(elmo_last_error(), "not to the pooled `default`") != NULL);
    rows.reserved = 1;
    CHECK_STATUS(elmo_tokens_output_size(model, counts, 1, &rows, &n), ELMO_ERR_INVALID_ARGUMENT);
    /* A 0.1 caller's struct (without the new fields) is read with their defaults. */
    elmo_output_params old = output_of(ELMO_OUTPUT_ALL_LAYERS, 1);
    old.struct_size = offsetof(elmo_output_params, sentence_boundaries);
    old.sentence_boundaries = 1;  /* beyond its struct_size: must be ignored */
    CHECK_STATUS(elmo_tokens_output_size(model, counts, 1, &old, &n), ELMO_OK);
    CHECK(n == LAYERS * 3 * OUTPUT_DIM);
    CHECK_STATUS(elmo_output_params_init(&old, offsetof(elmo_output_params, sentence_boundaries)), ELMO_OK);

    /* With the boundary rows, a sentence of 0 tokens is <S> </S> alone: two rows, whose token
     * layer is that of the boundary tokens; without them it stays an error. */
    rows.reserved = 0;
    const size_t empty_counts[] = { 0, 3 };
    int ids[3 * 50];
    for (int t = 0; t < 3; t++) word_ids(ids + 50 * t, tokens[t]);
    CHECK_STATUS(elmo_tokens_output_size(model, empty_counts, 2, &rows, &n), ELMO_OK);
    CHECK(n == LAYERS * (2 + 5) * OUTPUT_DIM);
    float both[LAYERS * 7 * OUTPUT_DIM];
    CHECK_STATUS(elmo_embed_character_ids(session, ids, 50, empty_counts, 2, &rows, both, n), ELMO_OK);
    CHECK(memcmp(both, word, TOKEN_DIM * sizeof(float)) == 0);
    CHECK(memcmp(both + OUTPUT_DIM, word + TOKEN_DIM, TOKEN_DIM * sizeof(float)) == 0);
    CHECK(memcmp(both + LAYERS * 2 * OUTPUT_DIM, with, sizeof with) == 0);  /* the second sentence unchanged */
    const size_t none[] = { 0 };
    CHECK_STATUS(elmo_embed_character_ids(session, NULL, 50, none, 1, &rows, both, LAYERS * 2 * OUTPUT_DIM), ELMO_OK);
    CHECK_STATUS(elmo_embed_character_ids(session, ids, 50, empty_counts, 2, &all, both, n), ELMO_ERR_INVALID_INPUT);
    CHECK(strstr(elmo_last_error(), "sentence 0 is empty") != NULL);
    CHECK_STATUS(elmo_tokens_output_size(model, empty_counts, 2, &all, &n), ELMO_ERR_INVALID_INPUT);
    CHECK_STILL_USABLE("sentence boundary rows");
}

static void test_default_mix(void) {
    float weights[LAYERS] = { 9, 9, 9 }, gamma = 0;
    int layer_norm = 7;
    CHECK_STATUS(elmo_model_default_mix(model, weights, LAYERS, &gamma, &layer_norm), ELMO_OK);
    CHECK(weights[0] == 0 && weights[1] == 0 && weights[2] == 0 && gamma == 1 && layer_norm == 0);
    CHECK_STATUS(elmo_model_default_mix(model, weights, LAYERS - 1, &gamma, &layer_norm), ELMO_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(elmo_model_default_mix(model, NULL, LAYERS, &gamma, &layer_norm), ELMO_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(elmo_model_default_mix(NULL, weights, LAYERS, &gamma, &layer_norm), ELMO_ERR_INVALID_ARGUMENT);
}

int main(void) {
    CHECK(strcmp(elmo_last_error(), "") == 0);        /* nothing has failed yet */
    test_version_and_status();
    test_params();
    test_load_errors_without_fixtures();

    const char *dir = fixture_dir();
    if (dir == NULL) {
        printf("test_api: SKIP the tests that need a model: bilm-tf fixtures not found "
               "(set ELMO_FIXTURES or put them at ../shared/fixtures/bilm-tf beside the repository)\n");
        return test_finish("test_api");
    }
    CHECK_STATUS(elmo_model_load(dir, NULL, &model), ELMO_OK);
    CHECK_STATUS(elmo_session_create(model, NULL, &session), ELMO_OK);
    if (model == NULL || session == NULL) return test_finish("test_api");
    elmo_output_params all = output_of(ELMO_OUTPUT_ALL_LAYERS, 1);
    reference = embed_texts(session, reference_texts, 3, &all, &reference_n, NULL);
    CHECK(reference != NULL && reference_n == LAYERS * 13 * OUTPUT_DIM);
    if (reference == NULL) return test_finish("test_api");

    test_load_errors();
    test_model_queries();
    test_native_cache_and_threads();
    test_precision();
    test_session_lifecycle();
    test_size_queries();
    test_output_shape();
    test_output_param_errors();
    test_outputs();
    test_embed_errors();
    test_long_token();
    test_long_sentences();
    test_stateful();
    test_character_ids();
    test_sentence_boundaries();
    test_default_mix();
    test_last_error();

    CHECK_STATUS(elmo_session_free(session), ELMO_OK);
    CHECK_STATUS(elmo_model_free(model), ELMO_OK);
    free(reference);
    return test_finish("test_api");
}
