/* The C API fuzz harness (Fuzz/CAPI/capi_harness.c, the code of `make fuzz` target capi) run
 * against the installed library on the bilm-tf fixture model: every committed crash input of
 * Fuzz/regressions/capi, then each of the 256 modes of byte 0 (texts or tokens, output kind,
 * session kind, custom mix, short buffer) on bodies mixing valid and invalid input, with and
 * without the sentence boundary rows, and as character ids (byte 1): rows the harness
 * encodes from pieces, raw rows (valid, then malformed) and a wrong row width.
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
    /* Character ids encoded by the harness: <S> (0x02), a word cut at 48 bytes inside \xc3\xa9,
     * </S> (0x03), which spell tokens; then an empty sentence (valid only with the boundary
     * rows) and a word spelled <S> (not the boundary's ids), which do not. */
    static const char spelled[] = "\x02\0caf\xc3\xa9\0a-token-of-more-than-forty-eight-bytes-cut-insi\xc3\xa9" "de\0"
                                  "\x03\0\x01\0x";
    static const char unspelled[] = "\x02\0caf\xc3\xa9\0\x03\0\x01\0\x01\0<S>";
    const char *const pieces[2] = { spelled, unspelled };
    const size_t pieces_size[2] = { sizeof spelled - 1, sizeof unspelled - 1 };
    /* Raw rows (the fixture's 50 ids per token, little-endian int16): sentences of 2 and 1
     * tokens, "bank", "caf\xc3\xa9", </S>; then the same with an id out of range, and a word
     * without end-of-word. */
    int16_t rows[3][50];
    static const char *const words[] = { "bank", "caf\xc3\xa9" };
    for (int r = 0; r < 3; r++) {
        size_t len = r < 2 ? strlen(words[r]) : 1;
        rows[r][0] = 259;
        for (size_t k = 0; k < len; k++) rows[r][1 + k] = r < 2 ? (int16_t)((unsigned char)words[r][k] + 1) : 258;
        rows[r][1 + len] = 260;
        for (size_t k = 2 + len; k < 50; k++) rows[r][k] = 261;
    }
    uint8_t raw[3][3 + sizeof rows];
    for (int v = 0; v < 3; v++) {
        raw[v][0] = 2, raw[v][1] = 2, raw[v][2] = 1;
        for (size_t k = 0; k < 150; k++) {
            int16_t id = rows[k / 50][k % 50];
            if (v == 1 && k == 2) id = 262;
            if (v == 2 && k == 5) id = 261;
            raw[v][3 + 2 * k] = (uint8_t)(id & 0xFF);
            raw[v][4 + 2 * k] = (uint8_t)((uint16_t)id >> 8);
        }
    }
    uint8_t input[2 + sizeof raw[0]];
    for (int selector = 0; selector < 256; selector++) {
        /* byte 1: 0 (as byte 0 says), 1 (boundary rows), 2 and 3 (character ids, without and
         * with boundary rows) and, for the first body, 6 (a wrong row width). */
        static const int extras[] = { 0, 1, 2, 3, 6 };
        for (size_t e = 0; e < sizeof extras / sizeof *extras; e++) {
            for (int k = 0; k < 2; k++) {
                const void *b;
                size_t n;
                if (extras[e] & 2) {
                    if (k == 1 && extras[e] == 6) continue;
                    int v = k == 0 ? 0 : 1 + selector % 2;
                    b = selector & 1 ? (const void *)pieces[k] : (const void *)raw[v];
                    n = selector & 1 ? pieces_size[k] : sizeof raw[v];
                } else {
                    b = k == 0 ? body : bad;
                    n = k == 0 ? sizeof body - 1 : sizeof bad - 1;
                }
                input[0] = (uint8_t)selector;
                input[1] = (uint8_t)extras[e];
                memcpy(input + 2, b, n);
                elmo_fuzz_capi_one(input, n + 2);
                replayed++;
            }
        }
    }
    elmo_fuzz_capi_finish();
    CHECK(replayed >= 256 * 9);
    printf("test_fuzz_replay: %d inputs through the C API fuzz harness\n", replayed);
    return test_finish("test_fuzz_replay");
}
