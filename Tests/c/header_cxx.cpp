// elmo.h must compile as C++17 (-Wall -Wextra -Werror, also -pedantic), with C linkage for
// every function. Compiled, not linked: `make check-header`.
#include <elmo.h>

#include <type_traits>

static_assert(std::is_same<decltype(&elmo_embed_texts),
                           elmo_status (*)(elmo_session *, const char *const *, size_t, const elmo_output_params *,
                                           float *, size_t, size_t *)>::value,
              "elmo_embed_texts has the documented signature");
static_assert(std::is_trivially_copyable<elmo_output_params>::value, "params are plain C structs");

int header_cxx_uses_everything();

int header_cxx_uses_everything() {
    elmo_output_params op = elmo_output_default_params();
    elmo_session_params sp = elmo_session_default_params();
    elmo_model_params mp = elmo_model_default_params();
    elmo_model *model = nullptr;
    elmo_session *session = nullptr;
    if (elmo_model_load("model", &mp, &model) != ELMO_OK) return 1;
    if (elmo_session_create(model, &sp, &session) != ELMO_OK) return 2;
    const char *texts[] = {"a b"};
    float out[64];
    size_t counts[1];
    elmo_status s = elmo_embed_texts(session, texts, 1, &op, out, 64, counts);
    return static_cast<int>(s);
}
