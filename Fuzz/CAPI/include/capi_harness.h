/* The C API fuzz harness (target `capi`): arbitrary bytes become sentences for
 * elmo_embed_texts / elmo_embed_tokens / elmo_embed_character_ids and the size queries;
 * every status is checked
 * against what an independent C reading of the same bytes expects. Used by the fuzz
 * executable (Fuzz/Targets/capi) and by Tests/c/test_fuzz_replay.c, which replays the
 * committed inputs of Fuzz/regressions/capi through the installed library. */
#ifndef ELMO_FUZZ_CAPI_HARNESS_H
#define ELMO_FUZZ_CAPI_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Loads the model at `path` and makes the harness's sessions; 0 on success. */
int elmo_fuzz_capi_init(const char *path);

/* Runs one input; aborts (with a message on stderr) when an invariant is broken. */
void elmo_fuzz_capi_one(const uint8_t *data, size_t size);

/* Frees the model and sessions. */
void elmo_fuzz_capi_finish(void);

#ifdef __cplusplus
}
#endif

#endif
