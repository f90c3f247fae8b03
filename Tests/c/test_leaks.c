/* Leaks seen as memory growth: loading and freeing the model 1,000 times and creating and
 * freeing 100,000 sessions leaves the resident set (VmRSS, /proc/self/status) flat, within 5%
 * of what it was after a warm-up. Each loaded model also makes a session and embeds, so the
 * prepared weights and working memory are really allocated; every 100th session embeds.
 * (Valgrind and LeakSanitizer see individual leaked blocks: `make valgrind-c`, `make sanitize`;
 * this test sees growth they cannot, such as memory kept alive by a table that only grows.) */
#define _POSIX_C_SOURCE 200809L
#include "test_util.h"

static long rss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) { kb = strtol(line + 6, NULL, 10); break; }
    }
    fclose(f);
    return kb;
}

static const char *const texts[] = { "The bank of the river .", "A loan from the bank ." };
static float out[4096];

static int embed(elmo_session *s) {
    return elmo_embed_texts(s, texts, 2, NULL, out, sizeof out / sizeof *out, NULL) == ELMO_OK;
}

static int load_embed_free(void) {
    elmo_model *m = NULL;
    elmo_session *s = NULL;
    int ok = elmo_model_load(fixture_dir(), NULL, &m) == ELMO_OK && elmo_session_create(m, NULL, &s) == ELMO_OK && embed(s);
    ok &= elmo_session_free(s) == ELMO_OK;
    ok &= elmo_model_free(m) == ELMO_OK;
    return ok;
}

static int session_cycle(elmo_model *m, int i) {
    elmo_session *s = NULL;
    int ok = elmo_session_create(m, NULL, &s) == ELMO_OK;
    if (ok && i % 100 == 0) ok = embed(s);
    return ok & (elmo_session_free(s) == ELMO_OK);
}

/* Reports and checks growth from `before` to `after` (kB). */
static void check_flat(const char *what, long before, long after) {
    double growth = (double)(after - before) / (double)before;
    printf("test_leaks: %s: VmRSS %ld kB after warm-up, %ld kB after (%+.2f%%)\n", what, before, after, 100 * growth);
    CHECK(before > 0 && after > 0);
    CHECK(growth <= 0.05);
}

int main(void) {
    if (fixture_dir() == NULL) {
        printf("test_leaks: SKIP: bilm-tf fixtures not found (set ELMO_FIXTURES)\n");
        return 0;
    }
    int failures = 0;
    /* Warm-up: resident memory drifts up by a few hundred kB over the first thousand loads and
     * then settles, while the heap itself does not grow (valgrind: the same 38 blocks, 3,060
     * bytes, remain at exit after 120 or 360 loads): the allocator's arenas, not a leak. */
    for (int i = 0; i < 200; i++) failures += !load_embed_free();
    long before = rss_kb();
    for (int i = 0; i < 1000; i++) failures += !load_embed_free();
    check_flat("1,000 model loads (each with a session and an embedding)", before, rss_kb());

    elmo_model *m = NULL;
    CHECK_STATUS(elmo_model_load(fixture_dir(), NULL, &m), ELMO_OK);
    for (int i = 0; i < 2000; i++) failures += !session_cycle(m, i);
    before = rss_kb();
    for (int i = 0; i < 100000; i++) failures += !session_cycle(m, i);
    check_flat("100,000 sessions (every 100th embeds)", before, rss_kb());
    CHECK_STATUS(elmo_model_free(m), ELMO_OK);
    CHECK(failures == 0);
    return test_finish("test_leaks");
}
