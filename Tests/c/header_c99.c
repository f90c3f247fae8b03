/* elmo.h must compile on its own as strict C99 (-std=c99 -Wall -Wextra -pedantic -Werror),
 * including its static inline functions. Compiled, not linked: `make check-header`. */
#include <elmo.h>

int header_c99_uses_everything(void);

int header_c99_uses_everything(void) {
    elmo_model_params mp = elmo_model_default_params();
    elmo_session_params sp = elmo_session_default_params();
    elmo_output_params op = elmo_output_default_params();
    elmo_model *model = NULL;
    elmo_session *session = NULL;
    elmo_status status = elmo_model_load("model", &mp, &model);
    if (status == ELMO_OK) status = elmo_session_create(model, &sp, &session);
    op.kind = ELMO_OUTPUT_DEFAULT;
    return (int)status + (int)op.kind + (int)(sizeof(ELMO_VERSION_STRING) > 0) + ELMO_VERSION_MAJOR;
}
