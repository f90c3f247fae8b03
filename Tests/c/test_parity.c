/* Fixture parity through the C API: the top LSTM layer (`lstm_outputs2`) of the bilm-tf fixture
 * sentences must match what bilm-tf itself produced (lm_embeddings_k.hdf5, read here with
 * libhdf5) within 1e-5:
 * - stateful: batches i = 0..9 of (sentences[0][i], sentences[1][i], sentences[2][i]) in order
 *   through one stateful session (all 30 sentences), given as raw text;
 * - stateless: batch 0 through a stateless session, given pre-tokenized.
 * Skips (exit 0, with a message) when the fixture directory is absent. */
#define _POSIX_C_SOURCE 200809L
#include "test_util.h"
#include "test_json.h"

#include <hdf5.h>

enum { LISTS = 3, SENTENCES = 10, P = 16 };
static const double TOLERANCE = 1e-5;

/* ---- sentences.json: a list of 3 lists of 10 strings ------------------------------------------- */

/* Fills sentences[k][i]; 0 on success. */
static int load_sentences(const char *path, char *sentences[LISTS][SENTENCES]) {
    char *json = read_all(path);
    if (json == NULL) return -1;
    const char *p = json;
    int ok = 1;
    skip_space(&p);
    ok = *p++ == '[';
    for (int k = 0; ok && k < LISTS; k++) {
        skip_space(&p);
        ok = *p++ == '[';
        for (int i = 0; ok && i < SENTENCES; i++) {
            skip_space(&p);
            ok = (sentences[k][i] = parse_string(&p)) != NULL;
            skip_space(&p);
            if (ok) ok = *p++ == (i + 1 < SENTENCES ? ',' : ']');
        }
        skip_space(&p);
        if (ok) ok = *p++ == (k + 1 < LISTS ? ',' : ']');
    }
    free(json);
    return ok ? 0 : -1;
}

/* ---- expected arrays -------------------------------------------------------------------------- */

/* Reads dataset "i" of lm_embeddings_k.hdf5: shape (2, T, P). Returns a malloc'd array, T in *tokens. */
static float *expected_top_layer(int k, int i, size_t *tokens) {
    char path[4096], name[40];
    snprintf(name, sizeof name, "lm_embeddings_%d.hdf5", k);
    fixture_path(path, sizeof path, name);
    snprintf(name, sizeof name, "%d", i);
    float *values = NULL;
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) return NULL;
    hid_t set = H5Dopen2(file, name, H5P_DEFAULT);
    if (set >= 0) {
        hid_t space = H5Dget_space(set);
        hsize_t dims[3];
        if (H5Sget_simple_extent_ndims(space) == 3 && H5Sget_simple_extent_dims(space, dims, NULL) == 3
            && dims[0] == 2 && dims[2] == P) {
            *tokens = (size_t)dims[1];
            values = xmalloc(2 * dims[1] * P * sizeof *values);
            if (H5Dread(set, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) < 0) {
                free(values);
                values = NULL;
            }
        }
        H5Sclose(space);
        H5Dclose(set);
    }
    H5Fclose(file);
    return values;
}

/* max |diff| between bilm-tf's (2, T, P) [forward; backward] and our (T, 2P) lstm_outputs2. */
static double compare_sentence(int k, int i, const float *ours, size_t tokens) {
    size_t T = 0;
    float *expected = expected_top_layer(k, i, &T);
    if (expected == NULL || T != tokens) {
        fprintf(stderr, "sentence [%d][%d]: expected array missing or %zu tokens instead of %zu\n", k, i, T, tokens);
        free(expected);
        return INFINITY;
    }
    double worst = 0;
    for (size_t dir = 0; dir < 2; dir++)
        for (size_t t = 0; t < T; t++)
            for (size_t p = 0; p < P; p++) {
                double d = fabs((double)expected[(dir * T + t) * P + p] - (double)ours[t * 2 * P + dir * P + p]);
                if (d > worst || d != d) worst = d;
            }
    free(expected);
    return worst;
}

/* ---- the two runs ---------------------------------------------------------------------------- */

static void stateful_all_batches(elmo_model *model, char *sentences[LISTS][SENTENCES]) {
    elmo_session *session = NULL;
    elmo_session_params params = elmo_session_default_params();
    params.stateful = 1;
    CHECK_STATUS(elmo_session_create(model, &params, &session), ELMO_OK);
    elmo_output_params out = elmo_output_default_params();
    out.kind = ELMO_OUTPUT_LSTM;
    out.lstm_layer = 2;
    double worst = 0;
    for (int i = 0; i < SENTENCES; i++) {
        const char *texts[LISTS] = { sentences[0][i], sentences[1][i], sentences[2][i] };
        size_t n = 0, counts[LISTS];
        CHECK_STATUS(elmo_texts_output_size(model, texts, LISTS, &out, &n, counts), ELMO_OK);
        float *v = xmalloc(n * sizeof *v);
        CHECK_STATUS(elmo_embed_texts(session, texts, LISTS, &out, v, n, counts), ELMO_OK);
        const float *s = v;
        for (int k = 0; k < LISTS; k++) {
            double d = compare_sentence(k, i, s, counts[k]);
            if (d > worst || d != d) worst = d;
            s += counts[k] * 2 * P;
        }
        free(v);
    }
    printf("test_parity: stateful, 30 sentences: max |diff| %.3g\n", worst);
    CHECK(worst <= TOLERANCE);
    CHECK_STATUS(elmo_session_free(session), ELMO_OK);
}

static void stateless_batch0(elmo_model *model, char *sentences[LISTS][SENTENCES]) {
    /* Pre-tokenized: the fixture's tokens are separated by single spaces. */
    const char *tokens[1024];
    size_t counts[LISTS] = { 0, 0, 0 }, n_tokens = 0;
    char *copies[LISTS];
    for (int k = 0; k < LISTS; k++) {
        copies[k] = xmalloc(strlen(sentences[k][0]) + 1);
        strcpy(copies[k], sentences[k][0]);
        for (char *t = strtok(copies[k], " "); t != NULL && n_tokens < 1024; t = strtok(NULL, " ")) {
            tokens[n_tokens++] = t;
            counts[k]++;
        }
    }
    elmo_session *session = NULL;
    CHECK_STATUS(elmo_session_create(model, NULL, &session), ELMO_OK);
    elmo_output_params out = elmo_output_default_params();
    out.kind = ELMO_OUTPUT_LSTM;
    out.lstm_layer = 2;
    size_t n = 0;
    CHECK_STATUS(elmo_tokens_output_size(model, counts, LISTS, &out, &n), ELMO_OK);
    CHECK(n == n_tokens * 2 * P);
    float *v = xmalloc(n * sizeof *v);
    CHECK_STATUS(elmo_embed_tokens(session, tokens, counts, LISTS, &out, v, n), ELMO_OK);
    double worst = 0;
    const float *s = v;
    for (int k = 0; k < LISTS; k++) {
        double d = compare_sentence(k, 0, s, counts[k]);
        if (d > worst || d != d) worst = d;
        s += counts[k] * 2 * P;
    }
    printf("test_parity: stateless, batch 0: max |diff| %.3g\n", worst);
    CHECK(worst <= TOLERANCE);
    free(v);
    for (int k = 0; k < LISTS; k++) free(copies[k]);
    CHECK_STATUS(elmo_session_free(session), ELMO_OK);
}

/* Request planning: word_emb (no LSTM run) and lstm_outputs1 (first layer only) are
 * bit-identical to the same layers taken from the all-layers output. */
static void requested_layers(elmo_model *model, char *sentences[LISTS][SENTENCES]) {
    const char *texts[LISTS];
    for (int k = 0; k < LISTS; k++) texts[k] = sentences[k][0];
    size_t layers = 0;
    CHECK_STATUS(elmo_model_output_layer_count(model, &layers), ELMO_OK);
    size_t tokens[LISTS], n_all = 0;
    elmo_output_params all = elmo_output_default_params();
    all.kind = ELMO_OUTPUT_ALL_LAYERS;
    CHECK_STATUS(elmo_texts_output_size(model, texts, LISTS, &all, &n_all, tokens), ELMO_OK);
    float *reference = xmalloc(n_all * sizeof *reference);
    elmo_session *session = NULL;
    CHECK_STATUS(elmo_session_create(model, NULL, &session), ELMO_OK);
    CHECK_STATUS(elmo_embed_texts(session, texts, LISTS, &all, reference, n_all, tokens), ELMO_OK);
    CHECK_STATUS(elmo_session_free(session), ELMO_OK);
    for (int which = 0; which < 2; which++) {
        elmo_output_params out = elmo_output_default_params();
        out.kind = which == 0 ? ELMO_OUTPUT_WORD_EMB : ELMO_OUTPUT_LSTM;
        out.lstm_layer = 1;
        size_t n = 0, width = which == 0 ? P : 2 * P;
        CHECK_STATUS(elmo_texts_output_size(model, texts, LISTS, &out, &n, tokens), ELMO_OK);
        float *v = xmalloc(n * sizeof *v);
        /* A fresh session, so that no earlier result can be left in its scratch memory. */
        CHECK_STATUS(elmo_session_create(model, NULL, &session), ELMO_OK);
        CHECK_STATUS(elmo_embed_texts(session, texts, LISTS, &out, v, n, tokens), ELMO_OK);
        CHECK_STATUS(elmo_session_free(session), ELMO_OK);
        const float *ref = reference, *got = v;
        int mismatches = 0;
        for (int k = 0; k < LISTS; k++) {
            const float *layer = ref + (which == 0 ? 0 : 1) * tokens[k] * 2 * P;
            for (size_t t = 0; t < tokens[k]; t++)
                if (memcmp(got + t * width, layer + t * 2 * P, width * sizeof(float)) != 0) mismatches++;
            ref += layers * tokens[k] * 2 * P;
            got += tokens[k] * width;
        }
        printf("test_parity: %s alone vs all layers: %d tokens differ\n", which == 0 ? "word_emb" : "lstm_outputs1",
               mismatches);
        CHECK(mismatches == 0);
        CHECK((size_t)(got - v) == n);
        free(v);
    }
    free(reference);
}

int main(void) {
    const char *dir = fixture_dir();
    if (dir == NULL) {
        printf("test_parity: SKIP: bilm-tf fixtures not found (set ELMO_FIXTURES or put them at "
               "../shared/fixtures/bilm-tf beside the repository)\n");
        return 0;
    }
    char path[4096];
    char *sentences[LISTS][SENTENCES] = { { NULL } };
    fixture_path(path, sizeof path, "sentences.json");
    if (load_sentences(path, sentences) != 0) {
        fprintf(stderr, "test_parity: cannot parse %s\n", path);
        return 1;
    }
    elmo_model *model = NULL;
    CHECK_STATUS(elmo_model_load(dir, NULL, &model), ELMO_OK);
    if (model != NULL) {
        stateful_all_batches(model, sentences);
        stateless_batch0(model, sentences);
        requested_layers(model, sentences);
    }
    CHECK_STATUS(elmo_model_free(model), ELMO_OK);
    for (int k = 0; k < LISTS; k++)
        for (int i = 0; i < SENTENCES; i++) free(sentences[k][i]);
    H5close();
    return test_finish("test_parity");
}
