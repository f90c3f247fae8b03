/* Shared helpers of the C tests: checks that count failures instead of stopping, and where
 * the bilm-tf fixture model is. */
#ifndef ELMO_TEST_UTIL_H
#define ELMO_TEST_UTIL_H

#include <elmo.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_checks = 0;
static int test_failures = 0;

#define CHECK(cond) check_true((cond) != 0, #cond, __FILE__, __LINE__)

/* Checks a call's status. For an expected failure also checks that elmo_last_error() names
 * the function that failed (every message starts with "<function>: "). */
#define CHECK_STATUS(call, expected) check_status((call), (expected), #call, __FILE__, __LINE__)

static inline void check_true(int ok, const char *what, const char *file, int line) {
    test_checks++;
    if (!ok) {
        test_failures++;
        fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
    }
}

static inline void check_status(elmo_status got, elmo_status expected, const char *call, const char *file, int line) {
    test_checks++;
    if (got != expected) {
        test_failures++;
        fprintf(stderr, "%s:%d: %s\n    returned %s, expected %s (last error: %s)\n", file, line, call,
                elmo_status_string(got), elmo_status_string(expected), elmo_last_error());
        return;
    }
    if (expected != ELMO_OK) {
        size_t name = strcspn(call, "( ");
        const char *message = elmo_last_error();
        if (strncmp(message, call, name) != 0 || strncmp(message + name, ": ", 2) != 0) {
            test_failures++;
            fprintf(stderr, "%s:%d: %s\n    failed as expected but elmo_last_error() does not name it: \"%s\"\n",
                    file, line, call, message);
        }
    }
}

/* Ends a test program: a summary line, exit status 1 on any failure. */
static inline int test_finish(const char *program) {
    printf("%s: %d checks, %d failures\n", program, test_checks, test_failures);
    return test_failures == 0 ? 0 : 1;
}

/* The bilm-tf fixture directory: $ELMO_FIXTURES, else ELMO_DEFAULT_FIXTURES (set by the
 * Makefile to ../shared/fixtures/bilm-tf beside the repository); NULL when it has no model. */
static inline const char *fixture_dir(void) {
    const char *dir = getenv("ELMO_FIXTURES");
#ifdef ELMO_DEFAULT_FIXTURES
    if (dir == NULL || *dir == '\0') dir = ELMO_DEFAULT_FIXTURES;
#endif
    if (dir == NULL) return NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/lm_weights.hdf5", dir);
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    fclose(f);
    return dir;
}

static inline void fixture_path(char *out, size_t size, const char *file) {
    snprintf(out, size, "%s/%s", fixture_dir(), file);
}

/* max |a - b| over n floats. */
static inline double max_abs_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > m || d != d) m = d;
    }
    return m;
}

/* Mallocs or exits: the tests do not test the C library's allocator. */
static inline void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

#endif
