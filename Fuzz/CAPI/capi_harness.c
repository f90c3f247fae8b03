/* The C API fuzz harness; see include/capi_harness.h.
 *
 * Input: byte 0 selects what is done with the rest (the body):
 *   bit 0      0: the body is raw texts separated by NUL bytes (elmo_embed_texts);
 *              1: the body is pre-tokenized: pieces between NUL bytes are tokens and a piece
 *                 that is the single byte 0x01 ends a sentence (elmo_embed_tokens);
 *   bits 1-3   output kind 0...4 (ELMO_OUTPUT_*); 5...7 ask for an LSTM layer that does not exist;
 *   bits 4-5   0: a stateless session; 1: two stateful sessions fed the same sentences (as texts
 *              and as the harness's own split); 2: a session with tiny limits (3 sentences,
 *              5 tokens per sentence, 8 per call); 3: a custom scalar mix read from the body's
 *              first bytes (layer count + 1 floats: weights and gamma; bit 6 = layer norm);
 *   bit 7      also check that a buffer one float short is refused.
 *
 * Expected outcomes come from the harness's own reading of the bytes (strict UTF-8
 * validation, Python's str.split() whitespace): a call succeeds exactly when nothing is
 * wrong, and otherwise fails with the status of one of the things that are wrong. Sizes,
 * token counts, and the bit-identity of texts and their tokens embedded separately are
 * checked too. */
#include "capi_harness.h"

#include <elmo.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_PIECES = 256 };
enum { LIMIT_SENTENCES = 3, LIMIT_PER_SENTENCE = 5, LIMIT_PER_CALL = 8 };

static elmo_model *model;
static elmo_session *plain, *stateful_a, *stateful_b, *limited;
static size_t layer_count, lstm_layers, output_dim, token_dim;

static void broken(const char *what) {
    fprintf(stderr, "capi fuzz invariant broken: %s (elmo_last_error: \"%s\")\n", what, elmo_last_error());
    abort();
}

/* ---- the harness's own reading of text ----------------------------------------------------- */

/* Strict UTF-8 (RFC 3629): 1 if valid. */
static int utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned cp;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
        else return 0;
        if (i + len > n) return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += len;
    }
    return 1;
}

/* Decodes the code point at s[i] of valid UTF-8; stores its length. */
static unsigned decode(const unsigned char *s, size_t i, size_t *len) {
    unsigned c = s[i];
    if (c < 0x80) { *len = 1; return c; }
    size_t l = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    unsigned cp = c & (l == 2 ? 0x1F : l == 3 ? 0x0F : 0x07);
    for (size_t k = 1; k < l; k++) cp = cp << 6 | (s[i + k] & 0x3F);
    *len = l;
    return cp;
}

/* Python's str.isspace(). */
static int python_space(unsigned cp) {
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680
        || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F
        || cp == 0x3000;
}

/* Splits valid UTF-8 as str.split(): stores up to `max` tokens as NUL-terminated copies in
 * out (the caller frees them) and returns the number of tokens (which may exceed max). */
static size_t split_text(const unsigned char *s, size_t n, char **out, size_t max) {
    size_t count = 0, i = 0, start = 0;
    int in_token = 0;
    while (i <= n) {
        size_t len = 1;
        int space = i == n || python_space(decode(s, i, &len));
        if (space && in_token) {
            if (count < max) {
                out[count] = malloc(i - start + 1);
                if (out[count] == NULL) broken("out of memory in the harness");
                memcpy(out[count], s + start, i - start);
                out[count][i - start] = '\0';
            }
            count++;
            in_token = 0;
        } else if (!space && !in_token) {
            in_token = 1;
            start = i;
        }
        if (i == n) break;
        i += len;
    }
    return count;
}

/* ---- expectations ------------------------------------------------------------------------- */

enum { BAD_ARGUMENT = 1, BAD_INPUT = 2, BAD_LIMIT = 4 };

/* A call's status against the set of things wrong with it. */
static void expect(elmo_status got, int wrong, const char *function, const char *what) {
    char message[256];
    if (wrong == 0) {
        if (got != ELMO_OK) {
            snprintf(message, sizeof message, "%s: %s returned %s for a valid call", function, what, elmo_status_string(got));
            broken(message);
        }
        return;
    }
    int allowed = (got == ELMO_ERR_INVALID_ARGUMENT && (wrong & BAD_ARGUMENT))
        || (got == ELMO_ERR_INVALID_INPUT && (wrong & BAD_INPUT))
        || (got == ELMO_ERR_LIMIT_EXCEEDED && (wrong & BAD_LIMIT));
    if (!allowed) {
        snprintf(message, sizeof message, "%s: %s returned %s, expected a failure of kind %d", function, what,
                 elmo_status_string(got), wrong);
        broken(message);
    }
    size_t name = strlen(function);
    const char *last = elmo_last_error();
    if (strncmp(last, function, name) != 0 || strncmp(last + name, ": ", 2) != 0) broken("the error message does not name the function");
}

/* Floats of `kind` for sentences of these token counts. */
static size_t expected_floats(elmo_output_kind kind, const size_t *counts, size_t n) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case ELMO_OUTPUT_ALL_LAYERS: total += counts[i] * layer_count * output_dim; break;
        case ELMO_OUTPUT_WORD_EMB: total += counts[i] * token_dim; break;
        case ELMO_OUTPUT_LSTM: case ELMO_OUTPUT_ELMO: total += counts[i] * output_dim; break;
        case ELMO_OUTPUT_DEFAULT: total += output_dim; break;
        }
    }
    return total;
}

static int limits_exceeded(const size_t *counts, size_t n) {
    size_t total = 0;
    if (n > LIMIT_SENTENCES) return 1;
    for (size_t i = 0; i < n; i++) {
        if (counts[i] > LIMIT_PER_SENTENCE) return 1;
        total += counts[i];
    }
    return total > LIMIT_PER_CALL;
}

static float *xmalloc_floats(size_t n) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (p == NULL) broken("out of memory in the harness");
    return p;
}

/* ---- one input ---------------------------------------------------------------------------- */

struct call {
    elmo_output_params output;
    int argument_wrong;  /* the output params are invalid */
    int check_finite;    /* outputs must be finite (the model's own mix) */
    int short_buffer;    /* also try a buffer one float short */
    int session_kind;    /* 0 plain, 1 stateful pair, 2 limited, 3 custom mix */
};

/* Embeds texts (or tokens) with `session` into a buffer of exactly `n_floats`; checks the
 * status; returns the buffer on success (the caller frees it). */
static float *embed_checked(elmo_session *session, int tokens_mode, const char *const *items, const size_t *counts,
                            size_t n, size_t n_floats, const struct call *c, int wrong) {
    float *out = xmalloc_floats(n_floats);
    elmo_status s;
    size_t got_counts[MAX_PIECES];
    if (tokens_mode) {
        s = elmo_embed_tokens(session, items, counts, n, &c->output, out, n_floats);
        expect(s, wrong, "elmo_embed_tokens", "embedding");
    } else {
        s = elmo_embed_texts(session, items, n, &c->output, out, n_floats, got_counts);
        expect(s, wrong, "elmo_embed_texts", "embedding");
        if (s == ELMO_OK && memcmp(got_counts, counts, n * sizeof *counts) != 0) broken("token counts differ");
    }
    if (s != ELMO_OK) { free(out); return NULL; }
    if (c->check_finite) {
        for (size_t i = 0; i < n_floats; i++) if (!isfinite(out[i])) broken("a non-finite output from the model's own mix");
    }
    if (c->short_buffer && n_floats > 0) {
        elmo_status t = tokens_mode ? elmo_embed_tokens(session, items, counts, n, &c->output, out, n_floats - 1)
                                    : elmo_embed_texts(session, items, n, &c->output, out, n_floats - 1, NULL);
        if (t != ELMO_ERR_BUFFER_TOO_SMALL) broken("a buffer one float short was not refused");
        if (session == stateful_a || session == stateful_b) broken("harness: short-buffer check on a stateful session");
    }
    return out;
}

void elmo_fuzz_capi_one(const uint8_t *data, size_t size) {
    if (model == NULL || size == 0) return;
    uint8_t flags = data[0];
    const unsigned char *body = data + 1;
    size_t body_size = size - 1;
    struct call c;
    c.output = elmo_output_default_params();
    int kind = (flags >> 1) & 7;
    c.argument_wrong = 0;
    if (kind < 5) {
        c.output.kind = (elmo_output_kind)kind;
        c.output.lstm_layer = 1 + (body_size % lstm_layers);
    } else {
        c.output.kind = ELMO_OUTPUT_LSTM;
        c.output.lstm_layer = kind == 5 ? 0 : lstm_layers + (size_t)(kind - 5);
        c.argument_wrong = 1;
    }
    c.session_kind = (flags >> 4) & 3;
    c.short_buffer = (flags >> 7) & 1 && c.session_kind != 1;
    c.check_finite = 1;
    float mix[16];
    if (c.session_kind == 3) {
        size_t need = (layer_count + 1) * sizeof(float);
        if (layer_count + 1 > 16 || body_size < need) return;
        memcpy(mix, body, need);
        body += need;
        body_size -= need;
        c.output.mix_weights = mix;
        c.output.mix_weight_count = layer_count;
        c.output.mix_gamma = mix[layer_count];
        c.output.mix_layer_norm = (flags >> 6) & 1;
        c.check_finite = 0;
        /* Only the elmo and default outputs read the mix (other kinds ignore it): its
         * weights and gamma must be finite. */
        if (c.output.kind == ELMO_OUTPUT_ELMO || c.output.kind == ELMO_OUTPUT_DEFAULT) {
            for (size_t k = 0; k <= layer_count; k++) if (!isfinite(mix[k])) c.argument_wrong = 1;
        }
    }
    int wrong_argument = c.argument_wrong ? BAD_ARGUMENT : 0;
    int tokens_mode = flags & 1;

    /* Pieces of the body between NUL bytes, as NUL-terminated copies. */
    char *pieces[MAX_PIECES];
    size_t piece_len[MAX_PIECES];
    size_t n_pieces = 0;
    if (body_size > 0) {
        size_t start = 0;
        for (size_t i = 0; i <= body_size && n_pieces < MAX_PIECES; i++) {
            if (i == body_size || body[i] == 0) {
                pieces[n_pieces] = malloc(i - start + 1);
                if (pieces[n_pieces] == NULL) broken("out of memory in the harness");
                memcpy(pieces[n_pieces], body + start, i - start);
                pieces[n_pieces][i - start] = '\0';
                piece_len[n_pieces] = i - start;
                n_pieces++;
                start = i + 1;
            }
        }
    }

    const char *items[MAX_PIECES];
    size_t counts[MAX_PIECES];
    size_t n = 0;          /* sentences */
    size_t n_items = 0;    /* texts or tokens */
    int input_wrong = 0;
    char *split[MAX_PIECES];
    size_t n_split = 0;    /* the harness's own tokens of all texts (texts mode) */
    if (tokens_mode) {
        size_t open = 0;
        for (size_t p = 0; p < n_pieces; p++) {
            if (piece_len[p] == 1 && pieces[p][0] == 1) {
                counts[n++] = open;
                open = 0;
                continue;
            }
            if (piece_len[p] == 0 || !utf8_valid((const unsigned char *)pieces[p], piece_len[p])) input_wrong = 1;
            items[n_items++] = pieces[p];
            open++;
        }
        if (n_pieces > 0) counts[n++] = open;
        for (size_t i = 0; i < n; i++) if (counts[i] == 0) input_wrong = 1;
        if (n == 0) input_wrong = 1;
    } else {
        for (size_t p = 0; p < n_pieces; p++) {
            items[n_items++] = pieces[p];
            if (!utf8_valid((const unsigned char *)pieces[p], piece_len[p])) { input_wrong = 1; counts[n++] = 0; continue; }
            size_t t = split_text((const unsigned char *)pieces[p], piece_len[p], split + n_split, MAX_PIECES - n_split);
            if (n_split + t > MAX_PIECES) { /* more tokens than the harness keeps: skip the input */
                for (size_t k = 0; k < MAX_PIECES; k++) free(split[k]);
                for (size_t k = 0; k < n_pieces; k++) free(pieces[k]);
                return;
            }
            n_split += t;
            counts[n++] = t;
            if (t == 0) input_wrong = 1;
        }
        if (n == 0) input_wrong = 1;
    }
    int wrong = wrong_argument | (input_wrong ? BAD_INPUT : 0);

    /* The size query: exact float count and token counts, or the right failure. */
    size_t n_floats = 0;
    elmo_status s;
    if (tokens_mode) {
        int count_wrong = n == 0;
        for (size_t i = 0; i < n; i++) if (counts[i] == 0) count_wrong = 1;
        s = elmo_tokens_output_size(model, counts, n, &c.output, &n_floats);
        /* Only counts reach the size query: tokens are not read. */
        expect(s, wrong_argument | (count_wrong ? BAD_INPUT : 0), "elmo_tokens_output_size", "size query");
    } else {
        size_t got_counts[MAX_PIECES];
        s = elmo_texts_output_size(model, items, n_items, &c.output, &n_floats, got_counts);
        expect(s, wrong, "elmo_texts_output_size", "size query");
        if (s == ELMO_OK && memcmp(got_counts, counts, n * sizeof *counts) != 0) broken("size query token counts differ");
    }
    if (s == ELMO_OK && n_floats != expected_floats(c.output.kind, counts, n)) broken("size query float count");
    if (s != ELMO_OK) n_floats = input_wrong || c.argument_wrong ? 16 : n_floats;

    elmo_session *session = c.session_kind == 1 ? stateful_a : c.session_kind == 2 ? limited : plain;
    if (c.session_kind == 2 && limits_exceeded(counts, n)) wrong |= BAD_LIMIT;
    if (c.session_kind == 1) {
        if (elmo_session_reset(stateful_a) != ELMO_OK || elmo_session_reset(stateful_b) != ELMO_OK) broken("reset failed");
    }
    float *out = embed_checked(session, tokens_mode, items, counts, n, n_floats, &c, wrong);

    /* Texts: the same sentences as the harness's own tokens give bit-identical output (in a
     * stateful pair, twice in a row: the carried states agree too). Tokens: a repeat of the
     * call in a stateless session gives bit-identical output. */
    if (out != NULL && c.session_kind != 2) {
        int rounds = c.session_kind == 1 ? 2 : 1;
        for (int r = 0; r < rounds; r++) {
            if (r > 0) {
                free(out);
                out = embed_checked(stateful_a, tokens_mode, items, counts, n, n_floats, &c, 0);
                if (out == NULL) broken("second stateful call failed");
            }
            elmo_session *other = c.session_kind == 1 ? stateful_b : plain;
            float *again;
            if (tokens_mode) {
                again = embed_checked(other, 1, items, counts, n, n_floats, &c, 0);
            } else {
                again = embed_checked(other, 1, (const char *const *)split, counts, n, n_floats, &c, 0);
            }
            if (again == NULL || memcmp(out, again, n_floats * sizeof *out) != 0) broken("the same sentences embedded differently");
            free(again);
        }
    }
    free(out);
    for (size_t k = 0; k < n_split; k++) free(split[k]);
    for (size_t k = 0; k < n_pieces; k++) free(pieces[k]);
}

int elmo_fuzz_capi_init(const char *path) {
    if (elmo_model_load(path, NULL, &model) != ELMO_OK) {
        fprintf(stderr, "capi harness: cannot load %s: %s\n", path, elmo_last_error());
        return -1;
    }
    elmo_model_output_layer_count(model, &layer_count);
    elmo_model_lstm_layer_count(model, &lstm_layers);
    elmo_model_output_dim(model, &output_dim);
    elmo_model_token_dim(model, &token_dim);
    elmo_session_params p = elmo_session_default_params();
    if (elmo_session_create(model, &p, &plain) != ELMO_OK) return -1;
    p.stateful = 1;
    if (elmo_session_create(model, &p, &stateful_a) != ELMO_OK) return -1;
    if (elmo_session_create(model, &p, &stateful_b) != ELMO_OK) return -1;
    p = elmo_session_default_params();
    p.max_sentences = LIMIT_SENTENCES;
    p.max_tokens_per_sentence = LIMIT_PER_SENTENCE;
    p.max_tokens_per_call = LIMIT_PER_CALL;
    if (elmo_session_create(model, &p, &limited) != ELMO_OK) return -1;
    return 0;
}

void elmo_fuzz_capi_finish(void) {
    elmo_session_free(plain);
    elmo_session_free(stateful_a);
    elmo_session_free(stateful_b);
    elmo_session_free(limited);
    elmo_model_free(model);
    model = NULL;
}
