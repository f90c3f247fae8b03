/* The C API fuzz harness (Fuzz/CAPI/capi_harness.c, the code of `make fuzz` target capi) run
 * against the installed library on the bilm-tf fixture model: every committed crash input of
 * Fuzz/regressions/capi, then each of the 256 modes (byte 0 selects texts or tokens, output
 * kind, session kind, custom mix, short buffer) on a body mixing valid and invalid input.
 * The harness aborts on any broken invariant, so a bug the fuzzer once found, or one in any
 * mode, fails this program (and `make sanitize` runs it under ASan and TSan). */
#define _POSIX_C_SOURCE 200809L
#include "test_util.h"
#include "capi_harness.h"

#include <dirent.h>

#ifndef ELMO_FUZZ_REGRESSIONS
#define ELMO_FUZZ_REGRESSIONS "Fuzz/regressions/capi"
#endif

static int replayed = 0;

static void replay_file(const char *path) {
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (f == NULL) return;
    uint8_t *data = xmalloc(1 << 20);
    size_t n = fread(data, 1, 1 << 20, f);
    fclose(f);
    elmo_fuzz_capi_one(data, n);
    free(data);
    replayed++;
}

int main(void) {
    if (fixture_dir() == NULL) {
        printf("test_fuzz_replay: SKIP: bilm-tf fixtures not found (set ELMO_FIXTURES)\n");
        return 0;
    }
    CHECK(elmo_fuzz_capi_init(fixture_dir()) == 0);
    DIR *dir = opendir(ELMO_FUZZ_REGRESSIONS);
    if (dir != NULL) {
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            if (e->d_name[0] == '.') continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", ELMO_FUZZ_REGRESSIONS, e->d_name);
            replay_file(path);
        }
        closedir(dir);
    }
    /* Texts (NUL-separated) or tokens (0x01 ends a sentence): ASCII and Unicode whitespace,
     * multi-byte characters, an empty piece and, in the second half, invalid UTF-8. */
    static const char body[] = "The bank\xc2\xa0 of\0the river \xe2\x80\x83.\0\x01\0caf\xc3\xa9\0\0\x01\0x";
    static const char bad[] = "ok\0bad \xc3\x28 byte\0\x01\0fine";
    uint8_t input[64];
    for (int selector = 0; selector < 256; selector++) {
        for (int k = 0; k < 2; k++) {
            const char *b = k == 0 ? body : bad;
            size_t n = k == 0 ? sizeof body - 1 : sizeof bad - 1;
            input[0] = (uint8_t)selector;
            memcpy(input + 1, b, n);
            elmo_fuzz_capi_one(input, n + 1);
            replayed++;
        }
    }
    elmo_fuzz_capi_finish();
    CHECK(replayed >= 512);
    printf("test_fuzz_replay: %d inputs through the C API fuzz harness\n", replayed);
    return test_finish("test_fuzz_replay");
}
