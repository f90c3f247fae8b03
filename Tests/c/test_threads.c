/* The threading contract of elmo.h:
 * - one model shared by 8 threads, each with its own session, embedding different batches
 *   (sizes, lengths, output kinds) in a loop for a bounded time (ELMO_TEST_THREAD_SECONDS,
 *   default 3): every output is bit-identical to the same batch embedded serially;
 * - one session entered by two threads at once refuses the second with ELMO_ERR_SESSION_BUSY,
 *   and every call that does run is correct;
 * - elmo_last_error() is per thread;
 * - a model handle freed while other threads' sessions use it keeps working for them. */
#define _POSIX_C_SOURCE 200809L
#include "test_util.h"

#include <pthread.h>
#include <time.h>

enum { THREADS = 8, BATCHES = 8, OUTPUT_DIM = 32 };

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

/* Batch b: sentences of the pool starting at b, as many as b % 4 + 1, embedded as output kind
 * b % 5 (ELMO_OUTPUT_*), so threads working on different batches at once differ in batch
 * size, sentence lengths, memory and output. */
static const char *const pool[] = {
    "The bank of the river .", "A loan from the bank .", "Elk calling -- a skill", "x",
    "They sat on the bank and watched the water run by for a long , long time .",
    "caf\xc3\xa9 na\xc3\xafve \xe2\x80\x94 r\xc3\xa9sum\xc3\xa9", "I", "bank bank bank bank",
    "Colorless green ideas sleep furiously", "The old man the boats .",
};
enum { POOL = sizeof pool / sizeof pool[0] };
static struct batch { const char *texts[4]; size_t n; elmo_output_params out; float *expected; size_t floats; } batches[BATCHES];

static elmo_status embed_batch(elmo_session *session, const struct batch *b, float *out) {
    return elmo_embed_texts(session, b->texts, b->n, &b->out, out, b->floats, NULL);
}

/* Each batch's serial result, from one session on this thread. */
static void prepare_batches(void) {
    elmo_session *session = NULL;
    CHECK_STATUS(elmo_session_create(model, NULL, &session), ELMO_OK);
    for (int b = 0; b < BATCHES; b++) {
        struct batch *x = &batches[b];
        x->n = (size_t)(b % 4 + 1);
        for (size_t i = 0; i < x->n; i++) x->texts[i] = pool[(b + 3 * i) % POOL];
        x->out = elmo_output_default_params();
        x->out.kind = (elmo_output_kind)(b % 5);
        x->out.lstm_layer = (size_t)(b % 2 + 1);
        CHECK_STATUS(elmo_texts_output_size(model, x->texts, x->n, &x->out, &x->floats, NULL), ELMO_OK);
        x->expected = xmalloc(x->floats * sizeof(float));
        CHECK_STATUS(embed_batch(session, x, x->expected), ELMO_OK);
    }
    CHECK_STATUS(elmo_session_free(session), ELMO_OK);
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

struct worker { int index; double deadline; long calls; int mismatches; int failures; };

/* Thread t embeds batches t, t+1, ... (so at any moment the threads work on different batches)
 * until the deadline, at least one full cycle. */
static void *own_session(void *arg) {
    struct worker *w = arg;
    elmo_session *session = NULL;
    if (elmo_session_create(model, NULL, &session) != ELMO_OK) { w->failures++; return NULL; }
    float *v = xmalloc(4096 * 64 * sizeof *v);
    for (long round = 0; round < BATCHES || now_seconds() < w->deadline; round++) {
        const struct batch *b = &batches[(w->index + round) % BATCHES];
        if (b->floats > 4096 * 64) { w->failures++; break; }
        if (embed_batch(session, b, v) != ELMO_OK) w->failures++;
        else if (memcmp(v, b->expected, b->floats * sizeof *v) != 0) w->mismatches++;
        w->calls++;
    }
    free(v);
    elmo_session_free(session);
    return NULL;
}

static void test_shared_model(void) {
    prepare_batches();
    const char *env = getenv("ELMO_TEST_THREAD_SECONDS");
    double seconds = env != NULL && atof(env) > 0 ? atof(env) : 3.0;
    pthread_t threads[THREADS];
    struct worker workers[THREADS];
    memset(workers, 0, sizeof workers);
    double deadline = now_seconds() + seconds;
    for (int t = 0; t < THREADS; t++) {
        workers[t].index = t;
        workers[t].deadline = deadline;
        CHECK(pthread_create(&threads[t], NULL, own_session, &workers[t]) == 0);
    }
    long calls = 0;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        CHECK(workers[t].failures == 0);
        CHECK(workers[t].mismatches == 0);
        CHECK(workers[t].calls >= BATCHES);
        calls += workers[t].calls;
    }
    printf("test_threads: %d threads, one model, own sessions: %ld calls in %.1f s, all bit-identical to serial\n",
           THREADS, calls, seconds);
    for (int b = 0; b < BATCHES; b++) free(batches[b].expected);
}

/* ---- one session, two threads ------------------------------------------------------------------ */

/* One thread keeps the session inside a long call (a 1,500-token sentence, embedded back to back)
 * while another makes short calls on the same session: the overlap does not depend on how the
 * scheduler (or valgrind, which runs one thread at a time) interleaves two short calls. */
enum { LONG_TOKENS = 1500 };
static struct {
    pthread_mutex_t lock;
    int ok, busy, wrong, other, stop;
} seen = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0, 0 };
static char *long_text;
static float *long_expected;
static size_t long_floats;

/* Sorts one call's result into `seen`; true when the contention has been shown. */
static int record(elmo_status s, int wrong, const char *entry) {
    int other = s != ELMO_OK && (s != ELMO_ERR_SESSION_BUSY || strstr(elmo_last_error(), entry) == NULL);
    pthread_mutex_lock(&seen.lock);
    seen.ok += s == ELMO_OK;
    seen.busy += s == ELMO_ERR_SESSION_BUSY;
    seen.wrong += wrong;
    seen.other += other;
    int done = seen.stop || (seen.ok >= 2 && seen.busy >= 1);
    pthread_mutex_unlock(&seen.lock);
    return done;
}

static void *hold_session(void *session) {
    elmo_output_params o = elmo_output_default_params();
    o.kind = ELMO_OUTPUT_ALL_LAYERS;
    float *v = xmalloc(long_floats * sizeof *v);
    const char *one[1] = { long_text };
    for (;;) {
        elmo_status s = elmo_embed_texts(session, one, 1, &o, v, long_floats, NULL);
        int wrong = s == ELMO_OK && memcmp(v, long_expected, long_floats * sizeof *v) != 0;
        if (record(s, wrong, "elmo_embed_texts: session is already in use")) break;
    }
    free(v);
    return NULL;
}

static void test_busy_session(void) {
    /* The long sentence and its serial result. */
    long_text = xmalloc(LONG_TOKENS * 5 + 1);
    for (int i = 0; i < LONG_TOKENS; i++) memcpy(long_text + 5 * i, "bank ", 5);
    long_text[LONG_TOKENS * 5 - 1] = '\0';
    elmo_output_params o = elmo_output_default_params();
    o.kind = ELMO_OUTPUT_ALL_LAYERS;
    const char *one[1] = { long_text };
    CHECK_STATUS(elmo_texts_output_size(model, one, 1, &o, &long_floats, NULL), ELMO_OK);
    long_expected = xmalloc(long_floats * sizeof *long_expected);
    elmo_session *session = NULL;
    CHECK_STATUS(elmo_session_create(model, NULL, &session), ELMO_OK);
    CHECK_STATUS(elmo_embed_texts(session, one, 1, &o, long_expected, long_floats, NULL), ELMO_OK);

    pthread_t holder;
    CHECK(pthread_create(&holder, NULL, hold_session, session) == 0);
    double deadline = now_seconds() + 120.0;   /* a bound, not an expectation: seconds under valgrind */
    for (;;) {
        float *v;
        elmo_status s = embed(session, &v);
        int wrong = s == ELMO_OK && memcmp(v, reference, reference_n * sizeof *v) != 0;
        free(v);
        if (record(s, wrong, "elmo_embed_texts: session is already in use")) break;
        if (now_seconds() > deadline) break;
        /* Give the holder the CPU so that it is inside its long call when this thread returns. */
        if (s == ELMO_OK) nanosleep(&(struct timespec){ .tv_sec = 0, .tv_nsec = 1000000 }, NULL);
    }
    pthread_mutex_lock(&seen.lock);
    seen.stop = 1;
    pthread_mutex_unlock(&seen.lock);
    pthread_join(holder, NULL);
    printf("test_threads: one session, two threads: %d calls ran, %d refused as busy\n", seen.ok, seen.busy);
    CHECK(seen.busy > 0);
    CHECK(seen.ok > 0);
    CHECK(seen.wrong == 0);
    CHECK(seen.other == 0);
    free(long_text);
    free(long_expected);
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
