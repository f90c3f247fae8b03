// Small operating-system queries Swift cannot reach through Glibc's module.
#define _GNU_SOURCE
#include <sched.h>
#include <unistd.h>
#include "elmo_kernels.h"

int elmo_available_processors(void) {
#ifdef __linux__
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
