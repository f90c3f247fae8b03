"""Compares the consumer package's output (consumer/main.swift) with bilm-tf's own outputs in
the fixture: lm_embeddings_{k}.hdf5 dataset "i" is the top LSTM layer of sentences[k][i],
(2, tokens, P) as [forward, backward]. usage: compare.py OUTPUT_FILE FIXTURE_DIR"""

import os
import sys

import h5py
import numpy as np

# As FixtureParityTests.swift and bindings/python/tests/test_parity.py: the worst difference seen
# is about 1e-6 (9.5e-7 on Zen 4, AVX-512 kernels), and other kernels round differently.
TOLERANCE = 1e-5


def main(output_path, fixture_dir):
    seen = {}
    with open(output_path) as f:
        for line in f:
            k, i, shape, *values = line.split()
            shape = tuple(int(n) for n in shape.split(","))
            seen[int(k), int(i)] = np.array([np.float32(v) for v in values], dtype=np.float32).reshape(shape)
    expected_keys = {(k, i) for k in range(3) for i in range(10)}
    if set(seen) != expected_keys:
        sys.exit(f"compare: FAIL: sentences [k][i] missing {sorted(expected_keys - set(seen))}, "
                 f"unexpected {sorted(set(seen) - expected_keys)}")
    worst = 0.0
    for k in range(3):
        with h5py.File(os.path.join(fixture_dir, f"lm_embeddings_{k}.hdf5"), "r") as f:
            for i in range(10):
                both = np.asarray(f[str(i)], dtype=np.float32)
                expected = np.concatenate([both[0], both[1]], axis=-1)  # (tokens, 2P)
                top = seen[k, i][-1]
                if top.shape != expected.shape:
                    sys.exit(f"compare: FAIL: sentence [{k}][{i}]: top layer shape {top.shape}, bilm-tf's {expected.shape}")
                worst = max(worst, float(np.abs(top - expected).max()))
    if not worst <= TOLERANCE:
        sys.exit(f"compare: FAIL: max |difference| from bilm-tf's top layer {worst:.3g} > {TOLERANCE}")
    print(f"compare: 30 fixture sentences, top layer within {worst:.3g} of bilm-tf's (tolerance {TOLERANCE})")


if __name__ == "__main__":
    main(*sys.argv[1:])
