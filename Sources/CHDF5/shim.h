// libhdf5 (Debian: libhdf5-dev, pkg-config name "hdf5" = hdf5-serial).
// Swift cannot import HDF5's macro constants (they expand to function calls or
// globals behind H5open()), so each one we use is wrapped in a static inline function.
#ifndef ELMO_CHDF5_SHIM_H
#define ELMO_CHDF5_SHIM_H
#include <hdf5.h>

static inline unsigned elmo_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned elmo_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline hid_t elmo_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t elmo_h5s_all(void) { return H5S_ALL; }
static inline hid_t elmo_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t elmo_h5t_ieee_f32le(void) { return H5T_IEEE_F32LE; }
static inline hid_t elmo_h5t_c_s1(void) { return H5T_C_S1; }
static inline haddr_t elmo_haddr_undef(void) { return HADDR_UNDEF; }
static inline hid_t elmo_h5p_file_access(void) { return H5P_FILE_ACCESS; }
static inline hid_t elmo_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t elmo_h5e_default(void) { return H5E_DEFAULT; }
static inline hsize_t elmo_h5s_unlimited(void) { return H5S_UNLIMITED; }
static inline hid_t elmo_h5p_link_create(void) { return H5P_LINK_CREATE; }
static inline int elmo_h5_is_float_class(hid_t type) { return H5Tget_class(type) == H5T_FLOAT; }
/// Silences HDF5's automatic error-stack printing to stderr: errors are reported as values.
static inline void elmo_h5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
#endif
