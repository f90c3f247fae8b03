#!/usr/bin/env python3
"""Writes the TF Hub fixture for libelmo's tests: a tiny random ELMo saved by TensorFlow itself.

Run once, by hand, in a throwaway virtualenv; TensorFlow is not a project dependency and the
tests never need it (they read the committed output):

    python3 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu==2.15.1 tensorflow-hub==0.15.0 h5py
    /tmp/tfvenv/bin/python tools/make_tfhub_fixture.py Tests/Fixtures/tfhub

(The pins matter: tensorflow_hub 0.16 dropped TF1 module export (`hub.create_module_spec`), and
tensorflow_hub 0.15 imports tf.estimator, which TensorFlow 2.16 removed. The committed fixture was
written with exactly these versions under Python 3.11.)

Output (under the given directory):
  module/            a TF1 Hub module exported by tensorflow_hub (`Module.export`): tfhub_module.pb,
                     saved_model.pb and variables/variables.{index,data-00000-of-00001} written by
                     TensorFlow's own checkpoint writer. Variable names are those of google/elmo
                     (bilm/..., aggregation/...). The graph's signature is a stand-in that only
                     returns the aggregation weights: libelmo never reads the graph, only the variables.
  module.tar.gz      the same module as a `?tf-hub-format=compressed` download: members named
                     "./tfhub_module.pb", "./variables/...", as TF Hub serves them.
  twin/options.json  the same model in the official AllenNLP/bilm-tf layout ...
  twin/weights.hdf5  ... with the same weights (char_embed without its padding row, 261 rows)
  twin/mix.json      the module's aggregation parameters: {"weights": [...], "gamma": g}

The weights are random (fixed seed); the configuration is a miniature of the published one
(relu, 2 highways, CNN projection, LSTM projection, 2 layers, clips 3, skip connections).
"""
import json
import os
import shutil
import sys
import tarfile

import numpy as np

import tensorflow as tf

tf1 = tf.compat.v1
tf1.disable_eager_execution()  # TF1 Hub modules are graphs

import h5py  # noqa: E402
import tensorflow_hub as hub  # noqa: E402

CHAR_DIM = 4
FILTERS = [[1, 4], [2, 4], [3, 8]]
N_HIGHWAY = 2
LSTM_DIM = 8
PROJ_DIM = 4
N_LAYERS = 2
SEED = 20180215


def make_weights():
    """Official tensor names -> values, plus the aggregation parameters."""
    rng = np.random.default_rng(SEED)

    def uniform(shape, scale):
        return rng.uniform(-scale, scale, size=shape).astype(np.float32)

    n_filters = sum(c for _, c in FILTERS)
    w = {}
    w["char_embed"] = uniform((261, CHAR_DIM), 1.0)
    for i, (width, count) in enumerate(FILTERS):
        w["CNN/W_cnn_%d" % i] = uniform((1, width, CHAR_DIM, count), 1.0 / np.sqrt(width * CHAR_DIM))
        w["CNN/b_cnn_%d" % i] = uniform((count,), 0.1)
    for i in range(N_HIGHWAY):
        for field in ("W_carry", "W_transform"):
            w["CNN_high_%d/%s" % (i, field)] = uniform((n_filters, n_filters), 1.0 / np.sqrt(n_filters))
        for field in ("b_carry", "b_transform"):
            w["CNN_high_%d/%s" % (i, field)] = uniform((n_filters,), 0.1)
    w["CNN_proj/W_proj"] = uniform((n_filters, PROJ_DIM), 1.0 / np.sqrt(n_filters))
    w["CNN_proj/b_proj"] = uniform((PROJ_DIM,), 0.1)
    for d in range(2):
        for layer in range(N_LAYERS):
            root = "RNN_%d/RNN/MultiRNNCell/Cell%d/LSTMCell/" % (d, layer)
            w[root + "W_0"] = uniform((2 * PROJ_DIM, 4 * LSTM_DIM), 1.0 / np.sqrt(2 * PROJ_DIM))
            w[root + "B"] = uniform((4 * LSTM_DIM,), 0.1)
            w[root + "W_P_0"] = uniform((LSTM_DIM, PROJ_DIM), 1.0 / np.sqrt(LSTM_DIM))
    mix_weights = uniform((N_LAYERS + 1,), 1.0)
    gamma = np.float32(rng.uniform(0.5, 1.5))
    return w, mix_weights, gamma


def hub_name(official):
    """The google/elmo module's variable name (inside the module) for an official tensor name."""
    if official.startswith("RNN_"):
        official = (official.replace("/LSTMCell/W_0", "/rnn/lstm_cell/kernel")
                    .replace("/LSTMCell/B", "/rnn/lstm_cell/bias")
                    .replace("/LSTMCell/W_P_0", "/rnn/lstm_cell/projection/kernel"))
    return "bilm/" + official


def module_values(weights, mix_weights, gamma):
    values = {}
    for name, value in weights.items():
        if name == "char_embed":
            # As bilm-tf builds the graph: 262 rows, row 0 (the padding id) all zeros.
            value = np.concatenate([np.zeros((1, CHAR_DIM), np.float32), value])
        values[hub_name(name)] = value
    values["aggregation/weights"] = mix_weights
    # bilm-tf's gamma has shape (1,).
    values["aggregation/scaling"] = np.array([gamma], np.float32)
    return values


def export_module(values, out_dir):
    def module_fn():
        variables = {}
        for name, value in sorted(values.items()):
            variables[name] = tf1.get_variable(name, shape=value.shape, dtype=tf.float32,
                                               initializer=tf1.zeros_initializer())
        tokens = tf1.placeholder(tf.string, shape=[None])
        hub.add_signature(inputs={"text": tokens},
                          outputs={"aggregation_weights": tf.identity(variables["aggregation/weights"])})

    spec = hub.create_module_spec(module_fn)
    with tf1.Graph().as_default():
        module = hub.Module(spec, name="module")
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            for var in module.variables:
                name = var.op.name[len("module/"):]
                var.load(values[name], sess)
            module.export(out_dir, sess)


def write_twin(weights, mix_weights, gamma, twin_dir):
    os.makedirs(twin_dir)
    options = {
        "lstm": {"dim": LSTM_DIM, "projection_dim": PROJ_DIM, "n_layers": N_LAYERS, "cell_clip": 3,
                 "proj_clip": 3, "use_skip_connections": True},
        "char_cnn": {"embedding": {"dim": CHAR_DIM}, "filters": FILTERS, "n_highway": N_HIGHWAY,
                     "n_characters": 262, "max_characters_per_token": 50, "activation": "relu"},
    }
    with open(os.path.join(twin_dir, "options.json"), "w") as f:
        json.dump(options, f, sort_keys=True)
        f.write("\n")
    # libver v108: compact groups (a third of the default file size), still readable by the
    # HDF5 1.10 that libelmo links.
    with h5py.File(os.path.join(twin_dir, "weights.hdf5"), "w", libver=("v108", "v108")) as f:
        for name, value in sorted(weights.items()):
            f.create_dataset(name, data=value)
    with open(os.path.join(twin_dir, "mix.json"), "w") as f:
        # repr of a float32 widened to float64 is exact, so the test can compare bit for bit.
        json.dump({"weights": [float(x) for x in mix_weights], "gamma": float(gamma)}, f)
        f.write("\n")


def write_tarball(module_dir, path):
    def clean(info):
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mtime = 0
        return info

    with tarfile.open(path, "w:gz", format=tarfile.USTAR_FORMAT) as tar:
        tar.add(module_dir, arcname=".", filter=clean)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "Tests/Fixtures/tfhub"
    for sub in ("module", "twin", "module.tar.gz"):
        p = os.path.join(out, sub)
        if os.path.isdir(p):
            shutil.rmtree(p)
        elif os.path.exists(p):
            os.remove(p)
    os.makedirs(out, exist_ok=True)
    weights, mix_weights, gamma = make_weights()
    values = module_values(weights, mix_weights, gamma)
    export_module(values, os.path.join(out, "module"))
    write_twin(weights, mix_weights, gamma, os.path.join(out, "twin"))
    write_tarball(os.path.join(out, "module"), os.path.join(out, "module.tar.gz"))

    # Check what TensorFlow wrote against what was meant, through TensorFlow's own reader.
    ckpt = os.path.join(out, "module", "variables", "variables")
    stored = dict(tf.train.list_variables(ckpt))
    assert set(stored) == set(values), sorted(set(stored) ^ set(values))
    reader = tf.train.load_checkpoint(ckpt)
    for name, value in values.items():
        assert np.array_equal(reader.get_tensor(name), value), name
    print("wrote %d variables to %s (TensorFlow %s, tensorflow_hub %s)"
          % (len(values), out, tf.__version__, hub.__version__))


if __name__ == "__main__":
    main()
