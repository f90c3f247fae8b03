// Undefines what vec_math.h defines (so that the next variant can define them again).
#undef VEC
#undef IVEC
#undef UVEC
#undef GW
#undef GROUPS
#undef ELMO_ALWAYS
#undef ELMO_FN
#undef ELMO_CAT
#undef ELMO_CAT2
