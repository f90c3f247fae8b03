/* The threading contract of elmo.h:
 * - one model, shared by threads that each have their own session, gives every thread exactly
 *   the single-threaded result;
 * - one session entered by two threads at once refuses the second with ELMO_ERR_SESSION_BUSY,
 *   and every call that does run is correct;
 * - elmo_last_error() is per thread;
 * - a model handle freed while other threads' sessions use it keeps working for them. */
#define _POSIX_C_SOURCE 200809L
#include "test_util.h"

#include <pthread.h>

enum { THREADS = 4, ROUNDS = 5, OUTPUT_DIM = 32 };

static elmo_model *model;
static const char *const texts[] = { "The bank of the river .", "A loan from the bank .", "Elk calling -- a skill" };
static float *reference;
static size_t reference_n;

/* Embeds `texts` with `session` into a fresh buffer; returns its status. */
static elmo_status embed(elmo_session *session, float **out) {
    elmo_output_params o = elmo_output_default_params();
    o.kind = ELMO_OUTPUT_ALL_LAYERS;
    *out = xmalloc(reference_n * sizeof **out);
    return elmo_embed_texts(session, texts, 3, &o, *out, reference_n, NULL);
}

/* ---- shared model, one session per thread ---------------------------------------------------- */

struct worker { int mismatches; int failures; };

static void *own_session(void *arg) {
    struct worker *w = arg;
    elmo_session *session = NULL;
    if (elmo_session_create(model, NULL, &session) != ELMO_OK) { w->failures++; return NULL; }
    for (int r = 0; r < ROUNDS; r++) {
        float *v;
        if (embed(session, &v) != ELMO_OK) w->failures++;
        else if (memcmp(v, reference, reference_n * sizeof *v) != 0) w->mismatches++;
        free(v);
    }
    elmo_session_free(session);
    return NULL;
}

static void test_shared_model(void) {
    pthread_t threads[THREADS];
    struct worker workers[THREADS];
    memset(workers, 0, sizeof workers);
    for (int t = 0; t < THREADS; t++) CHECK(pthread_create(&threads[t], NULL, own_session, &workers[t]) == 0);
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        CHECK(workers[t].failures == 0);
        CHECK(workers[t].mismatches == 0);
    }
}

/* ---- one session, two threads ------------------------------------------------------------------ */

/* What the two contending threads saw, under one lock. */
static struct { pthread_mutex_t lock; int ok, busy, wrong, other; } seen = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0 };

static void *contend(void *session) {
    /* Until both a refusal and a successful call have been seen (or a round budget is spent). */
    for (int r = 0; r < 5000; r++) {
        float *v;
        elmo_status s = embed(session, &v);
        int wrong = s == ELMO_OK && memcmp(v, reference, reference_n * sizeof *v) != 0;
        int other = s != ELMO_OK && (s != ELMO_ERR_SESSION_BUSY
                                     || strstr(elmo_last_error(), "elmo_embed_texts: session is already in use") == NULL);
        free(v);
        pthread_mutex_lock(&seen.lock);
        seen.ok += s == ELMO_OK;
        seen.busy += s == ELMO_ERR_SESSION_BUSY;
        seen.wrong += wrong;
        seen.other += other;
        int done = seen.ok >= 2 && seen.busy >= 1;
        pthread_mutex_unlock(&seen.lock);
        if (done) break;
    }
    return NULL;
}

static void test_busy_session(void) {
    elmo_session *session = NULL;
    CHECK_STATUS(elmo_session_create(model, NULL, &session), ELMO_OK);
    pthread_t threads[2];
    for (int t = 0; t < 2; t++) CHECK(pthread_create(&threads[t], NULL, contend, session) == 0);
    for (int t = 0; t < 2; t++) pthread_join(threads[t], NULL);
    printf("test_threads: one session, two threads: %d calls ran, %d refused as busy\n", seen.ok, seen.busy);
    CHECK(seen.busy > 0);
    CHECK(seen.ok > 0);
    CHECK(seen.wrong == 0);
    CHECK(seen.other == 0);
    float *v;
    CHECK_STATUS(embed(session, &v), ELMO_OK);       /* still usable afterwards */
    CHECK(memcmp(v, reference, reference_n * sizeof *v) == 0);
    free(v);
    CHECK_STATUS(elmo_session_free(session), ELMO_OK);
}

/* ---- thread-local messages ----------------------------------------------------------------------- */

struct messages { char before[64]; char after[128]; };

static void *fail_in_thread(void *arg) {
    struct messages *m = arg;
    size_t dim;
    snprintf(m->before, sizeof m->before, "%s", elmo_last_error());
    elmo_model_output_dim(NULL, &dim);
    snprintf(m->after, sizeof m->after, "%s", elmo_last_error());
    return NULL;
}

static void test_thread_local_errors(void) {
    size_t n;
    CHECK_STATUS(elmo_tokens_output_size(model, NULL, 1, NULL, &n), ELMO_ERR_INVALID_ARGUMENT);
    char mine[128];
    snprintf(mine, sizeof mine, "%s", elmo_last_error());
    struct messages m;
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, fail_in_thread, &m) == 0);
    pthread_join(thread, NULL);
    CHECK(strcmp(m.before, "") == 0);                               /* a new thread starts clean */
    CHECK(strcmp(m.after, "elmo_model_output_dim: model is NULL") == 0);
    CHECK(strcmp(elmo_last_error(), mine) == 0);                    /* untouched by the other thread */
}

/* ---- freeing the model handle while sessions work ---------------------------------------------------- */

struct late { elmo_session *session; pthread_mutex_t *gate; int failures; };

static void *embed_after_gate(void *arg) {
    struct late *l = arg;
    pthread_mutex_lock(l->gate);
    pthread_mutex_unlock(l->gate);
    float *v;
    if (embed(l->session, &v) != ELMO_OK || memcmp(v, reference, reference_n * sizeof *v) != 0) l->failures++;
    free(v);
    return NULL;
}

static void test_free_model_under_sessions(void) {
    elmo_model *m = NULL;
    CHECK_STATUS(elmo_model_load(fixture_dir(), NULL, &m), ELMO_OK);
    pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&gate);
    struct late l[2];
    pthread_t threads[2];
    for (int t = 0; t < 2; t++) {
        l[t].gate = &gate;
        l[t].failures = 0;
        CHECK_STATUS(elmo_session_create(m, NULL, &l[t].session), ELMO_OK);
        CHECK(pthread_create(&threads[t], NULL, embed_after_gate, &l[t]) == 0);
    }
    CHECK_STATUS(elmo_model_free(m), ELMO_OK);
    pthread_mutex_unlock(&gate);
    for (int t = 0; t < 2; t++) {
        pthread_join(threads[t], NULL);
        CHECK(l[t].failures == 0);
        CHECK_STATUS(elmo_session_free(l[t].session), ELMO_OK);
    }
}

int main(void) {
    if (fixture_dir() == NULL) {
        printf("test_threads: SKIP: bilm-tf fixtures not found (set ELMO_FIXTURES or put them at "
               "../shared/fixtures/bilm-tf beside the repository)\n");
        return 0;
    }
    CHECK_STATUS(elmo_model_load(fixture_dir(), NULL, &model), ELMO_OK);
    if (model == NULL) return test_finish("test_threads");
    elmo_output_params o = elmo_output_default_params();
    o.kind = ELMO_OUTPUT_ALL_LAYERS;
    CHECK_STATUS(elmo_texts_output_size(model, texts, 3, &o, &reference_n, NULL), ELMO_OK);
    elmo_session *session = NULL;
    CHECK_STATUS(elmo_session_create(model, NULL, &session), ELMO_OK);
    CHECK_STATUS(embed(session, &reference), ELMO_OK);
    CHECK_STATUS(elmo_session_free(session), ELMO_OK);

    test_shared_model();
    test_busy_session();
    test_thread_local_errors();
    test_free_model_under_sessions();

    free(reference);
    CHECK_STATUS(elmo_model_free(model), ELMO_OK);
    return test_finish("test_threads");
}
