/* elmo_similarity: the cosine similarity of two sentences' `default` vectors (the mean of the
 * `elmo` mix over each sentence's tokens).
 *
 *   usage: elmo_similarity MODEL "first sentence" "second sentence"
 *
 * Prints the cosine with six decimals. Sentences are split on whitespace. */
#include <elmo.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: elmo_similarity MODEL \"first sentence\" \"second sentence\"\n");
        return 2;
    }
    elmo_model *model = NULL;
    elmo_session *session = NULL;
    float *v = NULL;
    int rc = 1;
    const char *texts[2] = { argv[2], argv[3] };
    elmo_output_params out = elmo_output_default_params();
    out.kind = ELMO_OUTPUT_DEFAULT;   /* one vector of output_dim floats per sentence */
    size_t n_floats, dim;

    if (elmo_model_load(argv[1], NULL, &model) != ELMO_OK
        || elmo_session_create(model, NULL, &session) != ELMO_OK
        || elmo_texts_output_size(model, texts, 2, &out, &n_floats, NULL) != ELMO_OK) {
        fprintf(stderr, "elmo_similarity: %s\n", elmo_last_error());
        goto done;
    }
    dim = n_floats / 2;
    if ((v = malloc(n_floats * sizeof *v)) == NULL) {
        fprintf(stderr, "elmo_similarity: out of memory\n");
        goto done;
    }
    if (elmo_embed_texts(session, texts, 2, &out, v, n_floats, NULL) != ELMO_OK) {
        fprintf(stderr, "elmo_similarity: %s\n", elmo_last_error());
        goto done;
    }
    double dot = 0, na = 0, nb = 0;
    for (size_t d = 0; d < dim; d++) {
        dot += (double)v[d] * v[dim + d];
        na += (double)v[d] * v[d];
        nb += (double)v[dim + d] * v[dim + d];
    }
    printf("%.6f\n", na > 0 && nb > 0 ? dot / (sqrt(na) * sqrt(nb)) : 0.0);
    rc = 0;
done:
    free(v);
    elmo_session_free(session);
    elmo_model_free(model);
    return rc;
}
