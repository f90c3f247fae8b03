/* The C API fuzz harness; see include/capi_harness.h.
 *
 * Input: bytes 0 and 1 select what is done with the rest (the body). Byte 0:
 *   bit 0      0: the body is raw texts separated by NUL bytes (elmo_embed_texts);
 *              1: the body is pre-tokenized: pieces between NUL bytes are tokens and a piece
 *                 that is the single byte 0x01 ends a sentence (elmo_embed_tokens);
 *              in character-id mode (byte 1, bit 1) it selects how the rows are read (below);
 *   bits 1-3   output kind 0...4 (ELMO_OUTPUT_*); 5...7 ask for an LSTM layer that does not exist;
 *   bits 4-5   0: a stateless session; 1: two stateful sessions fed the same sentences (as texts
 *              and as the harness's own split); 2: a session with tiny limits (3 sentences,
 *              5 tokens per sentence, 8 per call); 3: a custom scalar mix read from the body's
 *              first bytes (layer count + 1 floats: weights and gamma; bit 6 = layer norm);
 *   bit 7      also check that a buffer one float short is refused.
 * Byte 1 (0 when the input has one byte):
 *   bit 0      sentence_boundaries: the per-token outputs include the <S> and </S> rows;
 *   bit 1      character-id mode (elmo_embed_character_ids). Byte 0 bit 0 = 0: raw rows: the
 *              body's first byte is the number of sentences n, the next n bytes their token
 *              counts, the rest the ids as little-endian int16, n_characters per token (ids
 *              the body does not hold are 0). Bit 0 = 1: rows the harness encodes itself, as
 *              bilm-tf's Batcher does, from pieces read as in tokens mode (a piece 0x02 is
 *              <S>, 0x03 is </S>; a word is cut to n_characters - 2 bytes);
 *   bit 2      character-id mode: pass n_characters one more than the model's.
 *
 * Expected outcomes come from the harness's own reading of the bytes (strict UTF-8
 * validation, Python's str.split() whitespace, the character-id row shapes of elmo.h): a
 * call succeeds exactly when nothing is wrong, and otherwise fails with the status of one of
 * the things that are wrong. Sizes, token counts, and the bit-identity of texts and their
 * tokens embedded separately, and of character ids and the tokens they spell, are checked
 * too. */
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

/* Floats of `kind` for sentences of these token counts (+ 2 boundary rows each when asked). */
static size_t expected_floats(elmo_output_kind kind, const size_t *counts, size_t n, int boundaries) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t rows = counts[i] + (boundaries ? 2 : 0);
        switch (kind) {
        case ELMO_OUTPUT_ALL_LAYERS: total += rows * layer_count * output_dim; break;
        case ELMO_OUTPUT_WORD_EMB: total += rows * token_dim; break;
        case ELMO_OUTPUT_LSTM: case ELMO_OUTPUT_ELMO: total += rows * output_dim; break;
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

/* ---- the harness's own reading of character ids (elmo.h, elmo_embed_character_ids) -------- */

/* bilm-tf's special character ids shifted by +1, as the header lists them. */
enum { ID_BEGIN_SENTENCE = 257, ID_END_SENTENCE = 258, ID_BEGIN_WORD = 259, ID_END_WORD = 260, ID_PADDING = 261 };
enum { ROW_MALFORMED, ROW_WORD, ROW_BEGIN_SENTENCE, ROW_END_SENTENCE };

/* The shape of one row of `width` ids; for a word, its byte count in *word_len (the bytes are
 * row[1...word_len] - 1). */
static int row_shape(const int *row, size_t width, size_t *word_len) {
    for (size_t p = 0; p < width; p++) if (row[p] < 0 || row[p] > ID_PADDING) return ROW_MALFORMED;
    if (row[0] != ID_BEGIN_WORD) return ROW_MALFORMED;
    size_t end;
    int shape;
    if (row[1] == ID_BEGIN_SENTENCE || row[1] == ID_END_SENTENCE) {
        shape = row[1] == ID_BEGIN_SENTENCE ? ROW_BEGIN_SENTENCE : ROW_END_SENTENCE;
        end = 2;
    } else {
        shape = ROW_WORD;
        end = 1;
        while (end < width && row[end] >= 1 && row[end] <= 256) end++;
        *word_len = end - 1;
    }
    if (end >= width || row[end] != ID_END_WORD) return ROW_MALFORMED;
    for (size_t p = end + 1; p < width; p++) if (row[p] != ID_PADDING) return ROW_MALFORMED;
    return shape;
}

/* bilm-tf's Batcher: a word's first width - 2 bytes between begin- and end-of-word, padded. */
static void encode_word(int *row, size_t width, const unsigned char *bytes, size_t len) {
    if (len > width - 2) len = width - 2;
    row[0] = ID_BEGIN_WORD;
    for (size_t k = 0; k < len; k++) row[1 + k] = bytes[k] + 1;
    row[1 + len] = ID_END_WORD;
    for (size_t p = 2 + len; p < width; p++) row[p] = ID_PADDING;
}

static void encode_boundary(int *row, size_t width, int mark) {
    row[0] = ID_BEGIN_WORD;
    row[1] = mark;
    row[2] = ID_END_WORD;
    for (size_t p = 3; p < width; p++) row[p] = ID_PADDING;
}

/* Whether a token of these bytes is embedded as the word of these bytes by elmo_embed_tokens:
 * not empty, valid UTF-8 without NUL, and not spelled as a boundary token. */
static int spells_word(const unsigned char *s, size_t n) {
    if (n == 0 || memchr(s, 0, n) != NULL || !utf8_valid(s, n)) return 0;
    return !(n == 3 && memcmp(s, "<S>", 3) == 0) && !(n == 4 && memcmp(s, "</S>", 4) == 0);
}

/* ---- one input ---------------------------------------------------------------------------- */

enum input_mode { TEXTS, TOKENS, CHARACTER_IDS };

/* What one embedding call reads: texts or tokens in `items`, or `ids` (rows of `width`). */
struct input {
    enum input_mode mode;
    const char *const *items;
    const int *ids;
    size_t width;
};

struct call {
    elmo_output_params output;
    int argument_wrong;  /* the output params are invalid */
    int check_finite;    /* outputs must be finite (the model's own mix) */
    int short_buffer;    /* also try a buffer one float short */
    int session_kind;    /* 0 plain, 1 stateful pair, 2 limited, 3 custom mix */
};

static elmo_status embed_into(elmo_session *session, const struct input *in, const size_t *counts, size_t n,
                              const struct call *c, float *out, size_t n_floats, size_t *got_counts) {
    switch (in->mode) {
    case TOKENS: return elmo_embed_tokens(session, in->items, counts, n, &c->output, out, n_floats);
    case TEXTS: return elmo_embed_texts(session, in->items, n, &c->output, out, n_floats, got_counts);
    default: return elmo_embed_character_ids(session, in->ids, in->width, counts, n, &c->output, out, n_floats);
    }
}

static const char *function_name(enum input_mode mode) {
    return mode == TOKENS ? "elmo_embed_tokens" : mode == TEXTS ? "elmo_embed_texts" : "elmo_embed_character_ids";
}

/* Embeds `in` with `session` into a buffer of exactly `n_floats`; checks the status; returns
 * the buffer on success (the caller frees it). */
static float *embed_checked(elmo_session *session, const struct input *in, const size_t *counts, size_t n,
                            size_t n_floats, const struct call *c, int wrong) {
    float *out = xmalloc_floats(n_floats);
    size_t got_counts[MAX_PIECES];
    elmo_status s = embed_into(session, in, counts, n, c, out, n_floats, got_counts);
    expect(s, wrong, function_name(in->mode), "embedding");
    if (s == ELMO_OK && in->mode == TEXTS && memcmp(got_counts, counts, n * sizeof *counts) != 0) broken("token counts differ");
    if (s != ELMO_OK) { free(out); return NULL; }
    if (c->check_finite) {
        for (size_t i = 0; i < n_floats; i++) if (!isfinite(out[i])) broken("a non-finite output from the model's own mix");
    }
    if (c->short_buffer && n_floats > 0) {
        if (embed_into(session, in, counts, n, c, out, n_floats - 1, NULL) != ELMO_ERR_BUFFER_TOO_SMALL) {
            broken("a buffer one float short was not refused");
        }
        if (session == stateful_a || session == stateful_b) broken("harness: short-buffer check on a stateful session");
    }
    return out;
}

/* Character-id mode: the rows of the input and the harness's judgement of them. */
struct id_batch {
    int *ids;                       /* rows x width */
    size_t rows;
    int malformed;                  /* some row is not one of the header's two shapes */
    int spelled_ok;                 /* every row is the ids of a token in `spelled` */
    const char *spelled[MAX_PIECES];
    char *owned[MAX_PIECES];        /* the spellings this batch allocated */
    size_t n_owned;
};

/* Raw rows: n, n token counts, then little-endian int16 ids (missing ones 0). Returns 0 when
 * the input has more rows than the harness keeps. */
static int read_raw_rows(const unsigned char *body, size_t body_size, size_t width, size_t *counts, size_t *n,
                         struct id_batch *b) {
    *n = 0;
    if (body_size == 0) return 1;
    size_t want = body[0], have = body_size - 1;
    *n = want < have ? want : have;
    size_t rows = 0;
    for (size_t i = 0; i < *n; i++) rows += counts[i] = body[1 + i];
    if (rows > MAX_PIECES) return 0;
    b->rows = rows;
    b->ids = calloc(rows * width + 1, sizeof *b->ids);
    if (b->ids == NULL) broken("out of memory in the harness");
    const unsigned char *p = body + 1 + *n;
    size_t bytes = body_size - 1 - *n;
    for (size_t k = 0; k < rows * width && 2 * k + 1 < bytes; k++) b->ids[k] = (int16_t)(uint16_t)(p[2 * k] | p[2 * k + 1] << 8);
    for (size_t r = 0; r < rows; r++) {
        size_t len = 0;
        const int *row = b->ids + r * width;
        int shape = row_shape(row, width, &len);
        if (shape == ROW_MALFORMED) { b->malformed = 1; b->spelled_ok = 0; continue; }
        if (shape != ROW_WORD) { b->spelled[r] = shape == ROW_BEGIN_SENTENCE ? "<S>" : "</S>"; continue; }
        char *word = malloc(len + 1);
        if (word == NULL) broken("out of memory in the harness");
        for (size_t k = 0; k < len; k++) word[k] = (char)(row[1 + k] - 1);
        word[len] = '\0';
        b->owned[b->n_owned++] = word;
        b->spelled[r] = word;
        if (!spells_word((const unsigned char *)word, len)) b->spelled_ok = 0;
    }
    return 1;
}

/* Rows encoded by the harness from pieces (0x01 ends a sentence, 0x02 is <S>, 0x03 </S>). */
static void encode_pieces(char *const *pieces, const size_t *piece_len, size_t n_pieces, size_t width, size_t *counts,
                          size_t *n, struct id_batch *b) {
    b->ids = calloc(n_pieces * width + 1, sizeof *b->ids);
    if (b->ids == NULL) broken("out of memory in the harness");
    size_t open = 0;
    *n = 0;
    for (size_t p = 0; p < n_pieces; p++) {
        const unsigned char *piece = (const unsigned char *)pieces[p];
        if (piece_len[p] == 1 && piece[0] == 1) { counts[(*n)++] = open; open = 0; continue; }
        int *row = b->ids + b->rows * width;
        if (piece_len[p] == 1 && (piece[0] == 2 || piece[0] == 3)) {
            encode_boundary(row, width, piece[0] == 2 ? ID_BEGIN_SENTENCE : ID_END_SENTENCE);
            b->spelled[b->rows] = piece[0] == 2 ? "<S>" : "</S>";
        } else {
            encode_word(row, width, piece, piece_len[p]);
            b->spelled[b->rows] = pieces[p];  /* the whole token: elmo_embed_tokens cuts it as bilm-tf does */
            if (!spells_word(piece, piece_len[p])) b->spelled_ok = 0;
        }
        b->rows++;
        open++;
    }
    if (n_pieces > 0) counts[(*n)++] = open;
}

void elmo_fuzz_capi_one(const uint8_t *data, size_t size) {
    if (model == NULL || size == 0) return;
    uint8_t flags = data[0];
    uint8_t extra = size > 1 ? data[1] : 0;
    const unsigned char *body = data + (size > 1 ? 2 : 1);
    size_t body_size = size - (size > 1 ? 2 : 1);
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
    int boundaries = extra & 1;
    c.output.sentence_boundaries = boundaries;
    /* The pooled `default` has no boundary rows. */
    if (boundaries && c.output.kind == ELMO_OUTPUT_DEFAULT) c.argument_wrong = 1;
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
    enum input_mode mode = extra & 2 ? CHARACTER_IDS : flags & 1 ? TOKENS : TEXTS;
    size_t width = 0;
    elmo_model_characters_per_token(model, &width);
    struct id_batch ids = { .spelled_ok = 1 };
    size_t counts[MAX_PIECES + 1];  /* 256 pieces that all end a sentence make 257 sentences */
    size_t n = 0;          /* sentences */
    if (mode == CHARACTER_IDS && !(flags & 1)) {
        if (!read_raw_rows(body, body_size, width, counts, &n, &ids)) { free(ids.ids); return; }
        body_size = 0;     /* no pieces */
    }

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
    size_t n_items = 0;    /* texts or tokens */
    int input_wrong = 0;
    char *split[MAX_PIECES];
    size_t n_split = 0;    /* the harness's own tokens of all texts (texts mode) */
    if (mode == CHARACTER_IDS) {
        if (flags & 1) encode_pieces(pieces, piece_len, n_pieces, width, counts, &n, &ids);
        if (ids.malformed || n == 0) input_wrong = 1;
        for (size_t i = 0; i < n; i++) if (counts[i] == 0 && !boundaries) input_wrong = 1;
    } else if (mode == TOKENS) {
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
        /* An empty sentence is refused even with the boundary rows asked for (only the
         * size query and character ids accept it). */
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
    struct input in = { mode, items, ids.ids, width };
    if (mode == CHARACTER_IDS && (extra & 4)) {
        in.width = width + 1;
        wrong |= BAD_ARGUMENT;
    }

    /* The size query: exact float count and token counts, or the right failure. */
    size_t n_floats = 0;
    elmo_status s;
    if (mode != TEXTS) {
        int count_wrong = n == 0;
        for (size_t i = 0; i < n; i++) if (counts[i] == 0 && !boundaries) count_wrong = 1;
        s = elmo_tokens_output_size(model, counts, n, &c.output, &n_floats);
        /* Only counts reach the size query: tokens are not read. */
        expect(s, wrong_argument | (count_wrong ? BAD_INPUT : 0), "elmo_tokens_output_size", "size query");
    } else {
        size_t got_counts[MAX_PIECES];
        s = elmo_texts_output_size(model, items, n_items, &c.output, &n_floats, got_counts);
        expect(s, wrong, "elmo_texts_output_size", "size query");
        if (s == ELMO_OK && memcmp(got_counts, counts, n * sizeof *counts) != 0) broken("size query token counts differ");
    }
    if (s == ELMO_OK && n_floats != expected_floats(c.output.kind, counts, n, boundaries)) broken("size query float count");
    if (s == ELMO_OK) {  /* elmo_output_shape (0.3): the sentences' shapes add up to the size query */
        size_t sum = 0;
        for (size_t i = 0; i < n; i++) {
            size_t shape[ELMO_OUTPUT_MAX_AXES], axes = 0, product = 1;
            if (elmo_output_shape(model, &c.output, counts[i], shape, ELMO_OUTPUT_MAX_AXES, &axes) != ELMO_OK)
                broken("output shape of an output the size query accepted");
            for (size_t a = 0; a < axes; a++) product *= shape[a];
            sum += product;
        }
        if (sum != n_floats) broken("output shapes do not add up to the size query");
    }
    if (s != ELMO_OK) n_floats = input_wrong || c.argument_wrong ? 16 : n_floats;

    elmo_session *session = c.session_kind == 1 ? stateful_a : c.session_kind == 2 ? limited : plain;
    if (c.session_kind == 2 && limits_exceeded(counts, n)) wrong |= BAD_LIMIT;
    if (c.session_kind == 1) {
        if (elmo_session_reset(stateful_a) != ELMO_OK || elmo_session_reset(stateful_b) != ELMO_OK) broken("reset failed");
    }
    float *out = embed_checked(session, &in, counts, n, n_floats, &c, wrong);

    /* Texts: the same sentences as the harness's own tokens give bit-identical output (in a
     * stateful pair, twice in a row: the carried states agree too). Tokens: a repeat of the
     * call in a stateless session gives bit-identical output. Character ids: the tokens they
     * spell give bit-identical output when every row spells one (else a repeat of the call). */
    if (out != NULL && c.session_kind != 2) {
        struct input other_in = in;
        if (mode == TEXTS) other_in = (struct input){ TOKENS, (const char *const *)split, NULL, 0 };
        int spelled = mode == CHARACTER_IDS && ids.spelled_ok;
        for (size_t i = 0; i < n; i++) if (counts[i] == 0) spelled = 0;
        if (spelled) other_in = (struct input){ TOKENS, ids.spelled, NULL, 0 };
        int rounds = c.session_kind == 1 ? 2 : 1;
        for (int r = 0; r < rounds; r++) {
            if (r > 0) {
                free(out);
                out = embed_checked(stateful_a, &in, counts, n, n_floats, &c, 0);
                if (out == NULL) broken("second stateful call failed");
            }
            elmo_session *other = c.session_kind == 1 ? stateful_b : plain;
            float *again = embed_checked(other, &other_in, counts, n, n_floats, &c, 0);
            if (again == NULL || memcmp(out, again, n_floats * sizeof *out) != 0) {
                broken(spelled ? "character ids and the tokens they spell embedded differently"
                               : "the same sentences embedded differently");
            }
            free(again);
        }
    }
    free(out);
    free(ids.ids);
    for (size_t k = 0; k < ids.n_owned; k++) free(ids.owned[k]);
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
