/* elmo_embed: embeds sentences read from stdin, one per line, and prints each sentence's
 * shape and vectors for the chosen output.
 *
 *   usage: elmo_embed [-o OUTPUT] [-q] MODEL < sentences.txt
 *     MODEL   a directory with options.json and the weights HDF5, or the weights file itself
 *     OUTPUT  all | word_emb | lstm_outputs<k> | elmo (default) | default
 *     -q      print only the shapes
 *
 * Output: per sentence a line "# <line number> (<shape>)", then one line per vector.
 * Lines are split on whitespace; blank lines are skipped. */
#include <elmo.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BATCH_LINES = 32 };

/* Parses a TF Hub output name into output params; 0 on success. */
static int parse_output(const char *name, elmo_output_params *out) {
    char *end;
    if (strcmp(name, "all") == 0) out->kind = ELMO_OUTPUT_ALL_LAYERS;
    else if (strcmp(name, "word_emb") == 0) out->kind = ELMO_OUTPUT_WORD_EMB;
    else if (strcmp(name, "elmo") == 0) out->kind = ELMO_OUTPUT_ELMO;
    else if (strcmp(name, "default") == 0) out->kind = ELMO_OUTPUT_DEFAULT;
    else if (strncmp(name, "lstm_outputs", 12) == 0 && name[12] >= '1' && name[12] <= '9') {
        errno = 0;
        unsigned long k = strtoul(name + 12, &end, 10);
        if (*end != '\0' || errno != 0) return -1;
        out->kind = ELMO_OUTPUT_LSTM;
        out->lstm_layer = (size_t)k;
    } else {
        return -1;
    }
    return 0;
}

/* Prints one sentence's output: its shape, then (unless quiet) its vectors one per line.
 * Returns the number of floats the sentence's output takes. */
static size_t print_sentence(long line, const float *v, size_t tokens, const elmo_output_params *out,
                           size_t token_dim, size_t output_dim, size_t layers, int quiet) {
    size_t rows, width;
    switch (out->kind) {
    case ELMO_OUTPUT_ALL_LAYERS:
        printf("# %ld (%zu, %zu, %zu)\n", line, layers, tokens, output_dim);
        rows = layers * tokens; width = output_dim; break;
    case ELMO_OUTPUT_WORD_EMB:
        printf("# %ld (%zu, %zu)\n", line, tokens, token_dim);
        rows = tokens; width = token_dim; break;
    case ELMO_OUTPUT_DEFAULT:
        printf("# %ld (%zu,)\n", line, output_dim);
        rows = 1; width = output_dim; break;
    default:
        printf("# %ld (%zu, %zu)\n", line, tokens, output_dim);
        rows = tokens; width = output_dim; break;
    }
    for (size_t r = 0; r < rows && !quiet; r++) {
        for (size_t d = 0; d < width; d++) printf(d ? " %.6g" : "%.6g", (double)v[r * width + d]);
        putchar('\n');
    }
    return rows * width;
}

/* Embeds one batch of lines and prints it; 0 on success. */
static int embed_batch(const elmo_model *model, elmo_session *session, const elmo_output_params *out,
                       char **lines, const long *numbers, size_t n, int quiet) {
    size_t counts[BATCH_LINES], n_floats, token_dim, output_dim, layers;
    const char *texts[BATCH_LINES];
    for (size_t i = 0; i < n; i++) texts[i] = lines[i];
    if (elmo_texts_output_size(model, texts, n, out, &n_floats, counts) != ELMO_OK) return -1;
    float *v = malloc(n_floats * sizeof *v);
    if (v == NULL) { fprintf(stderr, "elmo_embed: out of memory\n"); return -2; }
    if (elmo_embed_texts(session, texts, n, out, v, n_floats, counts) != ELMO_OK
        || elmo_model_token_dim(model, &token_dim) != ELMO_OK
        || elmo_model_output_dim(model, &output_dim) != ELMO_OK
        || elmo_model_output_layer_count(model, &layers) != ELMO_OK) {
        free(v);
        return -1;
    }
    const float *p = v;
    for (size_t i = 0; i < n; i++)
        p += print_sentence(numbers[i], p, counts[i], out, token_dim, output_dim, layers, quiet);
    free(v);
    return 0;
}

/* True when the line holds nothing but ASCII whitespace (the library splits on Unicode
 * whitespace too and would report such a line as an empty sentence). */
static int blank(const char *s) {
    for (; *s; s++)
        if (strchr(" \t\r\n\v\f", *s) == NULL) return 0;
    return 1;
}

int main(int argc, char **argv) {
    elmo_output_params out = elmo_output_default_params();
    int quiet = 0, argi = 1;
    for (; argi < argc && argv[argi][0] == '-'; argi++) {
        if (strcmp(argv[argi], "-q") == 0) quiet = 1;
        else if (strcmp(argv[argi], "-o") == 0 && argi + 1 < argc && parse_output(argv[argi + 1], &out) == 0) argi++;
        else { argc = 0; break; }
    }
    if (argi != argc - 1) {
        fprintf(stderr, "usage: elmo_embed [-o all|word_emb|lstm_outputs<k>|elmo|default] [-q] MODEL < sentences\n");
        return 2;
    }

    elmo_model *model = NULL;
    elmo_session *session = NULL;
    if (elmo_model_load(argv[argi], NULL, &model) != ELMO_OK
        || elmo_session_create(model, NULL, &session) != ELMO_OK) {
        fprintf(stderr, "elmo_embed: %s\n", elmo_last_error());
        elmo_model_free(model);
        return 1;
    }

    char *lines[BATCH_LINES];
    long numbers[BATCH_LINES];
    size_t n = 0, cap = 0;
    char *line = NULL;
    long number = 0;
    int status = 0;
    ssize_t len;
    while (status == 0 && (len = getline(&line, &cap, stdin)) >= 0) {
        number++;
        if (blank(line)) continue;
        lines[n] = line;        /* the batch takes ownership of the line buffer */
        numbers[n++] = number;
        line = NULL;
        cap = 0;
        if (n == BATCH_LINES) {
            status = embed_batch(model, session, &out, lines, numbers, n, quiet);
            while (n > 0) free(lines[--n]);
        }
    }
    if (status == 0 && n > 0) status = embed_batch(model, session, &out, lines, numbers, n, quiet);
    while (n > 0) free(lines[--n]);
    free(line);
    if (status == -1) fprintf(stderr, "elmo_embed: %s\n", elmo_last_error());

    elmo_session_free(session);
    elmo_model_free(model);
    return status == 0 ? 0 : 1;
}
