"""Network specs (pynet.spec): the dense-only form as before, conv stacks, one line per mistake."""

import numpy as np
import pytest

import pynet
from pynet import spec
from pynet.layers import Conv, Dense, Flatten, MaxPool, Unflatten

LENET = "conv 8@5x5, pool 2, conv 16@5x5, pool 2, dense 128, dense 10"


def test_the_dense_only_form_is_the_seeds_network():
    text, listed = pynet.Network("784, 128,10"), pynet.Network([784, 128, 10])
    assert text.dimensions == listed.dimensions == [784, 128, 10] and text.spec == listed.spec == "784,128,10"
    assert repr(text.layers) == repr(listed.layers)
    for name, p in listed.parameters.items():
        np.testing.assert_array_equal(text.parameters[name], p)


def test_a_conv_spec_builds_its_layers_and_parameters():
    net = pynet.Network(LENET, seed=0)
    assert net.spec == LENET
    assert [type(layer) for layer in net.layers] == [Unflatten, Conv, MaxPool, Conv, MaxPool, Flatten, Dense, Dense]
    assert net.layers[-1].activation == "softmax" and net.layers[-2].activation == "relu"
    assert {k: v.shape for k, v in net.parameters.items()} == {
        "W1": (8, 1, 5, 5), "b1": (8, 1), "W2": (16, 8, 5, 5), "b2": (16, 1),
        "W3": (128, 256), "b3": (128, 1), "W4": (10, 128), "b4": (10, 1)}
    assert net.dimensions == [784, 8 * 24 * 24, 16 * 8 * 8, 128, 10]
    X = np.random.default_rng(0).integers(0, 256, size=(784, 5)).astype(np.uint8)
    P = net.forward(X)
    assert P.shape == (10, 5) and np.allclose(P.sum(axis=0), 1)
    assert [a.shape for a in net.activations(X[:, 0])] == [(8, 24, 24), (16, 8, 8), (128,), (10,)]


def test_he_initialisation_for_relu_layers():
    net = pynet.Network("conv 32@5x5, pool 2, dense 256, dense 10", seed=3)
    for name, fan_in, gain in (("W1", 25, 2.0), ("W2", 32 * 12 * 12, 2.0), ("W3", 256, 1.0)):
        assert abs(net.parameters[name].std() / np.sqrt(gain / fan_in) - 1) < 0.1, name
    assert all(not net.parameters[b].any() for b in ("b1", "b2", "b3"))
    again = pynet.Network("conv 32@5x5, pool 2, dense 256, dense 10", seed=3)
    assert all(np.array_equal(again.parameters[k], p) for k, p in net.parameters.items())


@pytest.mark.parametrize("text,canonical", [
    ("CONV 8@5X5 ,pool 2,  dense 10", "conv 8@5x5, pool 2, dense 10"),
    ("conv 4@3x3 stride 1 pad 0, dense 10", "conv 4@3x3, dense 10"),
    ("input 1@28x28, conv 4@3x2 pad 1 stride 2, dense 10", "conv 4@3x2 stride 2 pad 1, dense 10"),
    ("input 3@8x8, pool 2, dense 10", "input 3@8x8, pool 2, dense 10"),
    ("dense 64, dense 10", "dense 64, dense 10"),
])
def test_specs_are_written_one_way(text, canonical):
    assert spec.plan(text).text == canonical
    assert spec.plan(canonical).text == canonical


@pytest.mark.parametrize("text,message", [
    # a kernel larger than its input
    ("conv 8@5x5, pool 2, conv 16@5x5, pool 2, conv 32@5x5, dense 10",
     "layer 5 (conv 32@5x5): its 5x5 kernel is larger than its 4x4 input"),
    ("input 1@3x3, conv 2@6x6 pad 1, dense 10", "layer 1 (conv 2@6x6 pad 1): its 6x6 kernel is larger than its 3x3 input padded by 1"),
    # zero or negative channels
    ("conv 0@5x5, dense 10", "layer 1 (conv 0@5x5): the number of channels must be at least 1, got 0"),
    ("conv 8@5x5, conv -3@3x3, dense 10", "layer 2 (conv -3@3x3): the number of channels must be at least 1, got -3"),
    ("input 0@28x28, dense 10", "input 0@28x28: the input's channels, rows and columns must be at least 1"),
    # stride 0, and other settings out of range
    ("conv 8@5x5 stride 0, dense 10", "layer 1 (conv 8@5x5 stride 0): the stride must be at least 1, got 0"),
    ("conv 8@5x5 pad -1, dense 10", "layer 1 (conv 8@5x5 pad -1): the pad must be at least 0, got -1"),
    ("conv 8@0x5, dense 10", "layer 1 (conv 8@0x5): the kernel must be at least 1x1, got 0x5"),
    ("pool 0, dense 10", "layer 1 (pool 0): a pooling size must be at least 1, got 0"),
    ("dense 0, dense 10", "layer 1 (dense 0): a number of units must be at least 1, got 0"),
    # pooling that does not divide
    ("conv 8@5x5, pool 5, dense 10", "layer 2 (pool 5): pooling by 5 does not divide its 24x24 input"),
    ("conv 8@3x3, pool 2, pool 2, pool 2, dense 10", "layer 3 (pool 2): pooling by 2 does not divide its 13x13 input"),
    # an output that is not 10 classes
    ("conv 8@5x5, pool 2, dense 128, dense 12", "the last layer must be dense 10 (one unit per class), got dense 12"),
    ("conv 8@5x5, pool 2", "the last layer must be dense 10 (one unit per class), got 'pool 2'"),
    ("784,128,12", "the output layer must have 10 units (one per class), got 12"),
    # what the spec cannot mean
    ("dense 128, conv 8@5x5, dense 10", "layer 2 (conv 8@5x5): convolutions must come before the dense layers"),
    ("dense 128, pool 2, dense 10", "layer 2 (pool 2): pooling must come before the dense layers"),
    ("conv 8@5, dense 10", "layer 1 (conv 8@5): write a convolution as conv F@KxK, such as conv 8@5x5"),
    ("conv 8@5x5 step 2, dense 10", "layer 1 (conv 8@5x5 step 2): unknown setting 'step'; a convolution takes stride and pad"),
    ("lstm 8, dense 10", "layer 1 (lstm 8): unknown layer; write conv F@KxK, pool P or dense N"),
    ("conv 8@5x5,, dense 10", "layer 2 (): unknown layer; write conv F@KxK, pool P or dense N"),
    ("784,0,10", "784, 0, 10: dimensions[1] must be at least 1, got 0"),
    ("", "a network spec must be text such as '784,128,10' or 'conv 8@5x5, pool 2, dense 128, dense 10', got ''"),
    # more of the same, each exactly its line
    ("input 1@28x28", "the spec has an input but no layers"),
    ("input 1@4x8, conv 2@5x3, dense 10", "layer 1 (conv 2@5x3): its 5x3 kernel is larger than its 4x8 input"),
    ("input 1@8x4, conv 2@3x5, dense 10", "layer 1 (conv 2@3x5): its 3x5 kernel is larger than its 8x4 input"),
    ("input 1@4x4, conv 2@7x3 pad 1, dense 10",
     "layer 1 (conv 2@7x3 pad 1): its 7x3 kernel is larger than its 4x4 input padded by 1"),
    ("input 1@4x4, conv 2@3x7 pad 1, dense 10",
     "layer 1 (conv 2@3x7 pad 1): its 3x7 kernel is larger than its 4x4 input padded by 1"),
    ("input 1@4x6, pool 4, dense 10", "layer 1 (pool 4): pooling by 4 does not divide its 4x6 input"),
    ("input 1@6x4, pool 4, dense 10", "layer 1 (pool 4): pooling by 4 does not divide its 6x4 input"),
    ("dense, dense 10", "layer 1 (dense): a number of units must be a whole number, got ''"),
    ("pool x, dense 10", "layer 1 (pool x): a pooling size must be a whole number, got 'x'"),
    ("conv, dense 10", "layer 1 (conv): write a convolution as conv F@KxK, such as conv 8@5x5"),
    ("conv 8@5x5 stride, dense 10", "layer 1 (conv 8@5x5 stride): after the kernel, write stride S and pad P"),
])
def test_a_bad_spec_gets_one_line_saying_what_is_wrong(text, message):
    with pytest.raises(ValueError) as refused:
        pynet.Network(text)
    assert str(refused.value) == message


def test_a_conv_model_file_carries_its_spec_and_loads_back(tmp_path):
    from pynet import serialize

    net = pynet.Network("conv 4@4x4 stride 2 pad 1, pool 2, dense 32, dense 10", hidden_activation="sigmoid", seed=1)
    net.metadata = {"name": "conv"}
    serialize.save(net, tmp_path / "conv.npz")
    with np.load(tmp_path / "conv.npz") as z:
        assert str(z["spec"]) == net.spec and list(z["dimensions"]) == net.dimensions
    again = serialize.load(tmp_path / "conv.npz", expect_io=(784, 10))
    assert (again.spec, again.dimensions, again.hidden_activation, again.metadata) == \
        (net.spec, net.dimensions, "sigmoid", {"name": "conv"})
    assert repr(again.layers) == repr(net.layers)
    X = np.random.default_rng(0).integers(0, 256, size=(784, 9)).astype(np.uint8)
    np.testing.assert_array_equal(again.forward(X), net.forward(X))
    # a dense network's file is as it always was: no spec entry
    serialize.save(pynet.Network([784, 16, 10]), tmp_path / "dense.npz")
    with np.load(tmp_path / "dense.npz") as z:
        assert "spec" not in z.files


@pytest.mark.parametrize("change,message", [
    ({"spec": np.array("conv 4@5x5, pool 5, dense 10")}, "its spec 'conv 4@5x5, pool 5, dense 10' is not valid "
                                                         "(layer 2 (pool 5): pooling by 5 does not divide its 24x24 input)"),
    ({"spec": np.array("conv 4@3x3, pool 2, dense 10")}, "its dimensions [784, 2304, 10] are not those of its spec"),
    ({"spec": np.array(3)}, "the 'spec' entry has the wrong type"),
    ({"W1": np.zeros((4, 1, 3, 5), np.float32)}, "parameter W1 has shape (4, 1, 3, 5)"),
])
def test_a_conv_model_file_that_does_not_fit_its_spec_is_refused(change, message):
    import io

    from pynet import serialize

    net = pynet.Network("conv 4@5x5, pool 2, dense 10", seed=1)
    with np.load(io.BytesIO(serialize.to_bytes(net))) as z:
        arrays = {name: z[name] for name in z.files}
    arrays.update(change)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    with pytest.raises(ValueError) as refused:
        serialize.from_bytes(buf.getvalue())
    assert str(refused.value).startswith("not a valid pynet model file: " + message), str(refused.value)


def test_the_memory_estimate_of_a_dense_spec_is_the_dense_one():
    from pynet.model import training_bytes
    for dims in ([784, 128, 10], [784, 256, 128, 10]):
        text = ",".join(map(str, dims))
        assert spec.plan(text).training_bytes(64) == training_bytes(dims, batch_size=64) == training_bytes(text, batch_size=64)


@pytest.mark.parametrize("text", ["conv 8@5x5, pool 2, conv 16@5x5, pool 2, dense 128, dense 10",
                                  "conv 16@3x3 pad 1, pool 2, dense 10"])
def test_the_memory_estimate_of_a_conv_spec_is_near_what_training_takes(text):
    """Within a factor of two of the peak that one training batch (forward, backward, Adam step)
    really allocates, windows included."""
    import tracemalloc

    from pynet.model import Network, TrainConfig
    batch = 256
    rng = np.random.default_rng(0)
    X, y = rng.integers(0, 256, (784, batch), dtype=np.uint8), rng.integers(0, 10, batch)
    tracemalloc.start()
    try:
        net = Network(text, seed=0)
        for event in net.train(X, y, TrainConfig(epochs=1, batch_size=batch)):
            pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    estimate = spec.plan(text).training_bytes(batch)
    assert estimate / 2 < peak < estimate * 2, (estimate, peak)


def test_the_input_shape_of_a_spec():
    assert spec.plan(LENET).input_shape == (1, 28, 28)
    assert spec.plan("input 3@8x8, pool 2, dense 10").input_shape == (3, 8, 8)
    assert spec.plan("784,128,10").input_shape == (784,)


def test_a_dense_only_plan_lists_its_layers_shapes_and_activations():
    plan = spec.plan("784, 64,32,10", dropout=0.25)
    assert plan.dense_only is True and plan.text == "784,64,32,10" and plan.dimensions == [784, 64, 32, 10]
    assert repr(plan.layers) == "[Dense('relu'), Dropout(0.25), Dense('relu'), Dropout(0.25), Dense('softmax')]"
    assert plan.shapes == [{"W": (64, 784), "b": (64, 1)}, {}, {"W": (32, 64), "b": (32, 1)}, {},
                           {"W": (10, 32), "b": (10, 1)}]
    assert plan.parameter_shapes() == {"W1": (64, 784), "b1": (64, 1), "W2": (32, 64), "b2": (32, 1),
                                       "W3": (10, 32), "b3": (10, 1)}
    assert plan.activations == ["relu", "relu", "softmax"]
    assert spec.plan("784,10", "sigmoid").activations == ["softmax"]
    assert spec.plan("784,16,10", "sigmoid").activations == ["sigmoid", "softmax"]


def test_a_dense_output_of_the_wrong_size_names_its_size():
    with pytest.raises(ValueError, match=r"must have 10 units \(one per class\), got 12$"):
        spec.plan("784,64,12")


def test_the_memory_estimate_by_default_and_for_one_sample():
    plan = spec.plan(LENET)
    parameters = sum(int(np.prod(s)) for s in plan.parameter_shapes().values())
    assert plan.training_bytes() == plan.training_bytes(128, "float32") == 4 * (4 * parameters + 2 * 128 * plan.values)
    assert plan.training_bytes(1) == plan.training_bytes(0) == 4 * (4 * parameters + 2 * plan.values)
    assert plan.training_bytes(1, "float64") == 2 * plan.training_bytes(1)


def test_a_malformed_input_is_refused_in_one_line():
    with pytest.raises(ValueError, match=r"^input 1x28x28: write the input as input C@HxW, such as input 1@28x28$"):
        spec.plan("input 1x28x28, dense 10")


def test_initialisation_uses_seed_0_unless_told():
    plan = spec.plan(LENET)
    default, zero, one = spec.initialize(plan), spec.initialize(plan, seed=0), spec.initialize(plan, seed=1)
    assert all(np.array_equal(default[k], zero[k]) for k in zero)
    assert not np.array_equal(default["W1"], one["W1"])
    assert all(p.dtype == np.float32 for p in default.values())


def test_the_edges_that_a_spec_accepts():
    assert spec.plan("input 1@4x4, conv 2@5x5 pad 1, dense 10").dimensions == [16, 2 * 2 * 2, 10]
    assert spec.plan("input 1@4x4, conv 2@6x6 pad 1, dense 10").dimensions == [16, 2, 10]
    assert spec.plan("conv 1@5x5, dense 10").shapes[1] == {"W": (1, 1, 5, 5), "b": (1, 1)}
    assert spec.plan("input 1@4x8, pool 4, dense 10").dimensions == [32, 10]


def test_a_conv_plan_counts_what_training_keeps():
    plan = spec.plan("conv 2@3x3, pool 2, dense 10")
    windows = 1 * 3 * 3 * 26 * 26  # the conv layer's im2col windows per sample
    assert plan.window_values == windows
    assert plan.values == windows + 2 * (2 * 26 * 26) + 2 * (2 * 13 * 13) + 2 * 10
    assert plan.dense_only is False
    two = spec.plan("conv 2@3x3, conv 3@3x3 stride 2, dense 10")
    assert two.window_values == max(windows, 2 * 3 * 3 * 12 * 12)
    assert two.values == windows + 2 * (2 * 26 * 26) + 2 * 3 * 3 * 12 * 12 + 2 * (3 * 12 * 12) + 2 * 10


def test_a_conv_plan_takes_the_activation_and_the_dropout():
    plan = spec.plan("conv 4@5x5, pool 2, dense 32, dense 10", "sigmoid", dropout=0.5)
    assert repr(plan.layers) == ("[Unflatten((1, 28, 28)), Conv(stride=1, pad=0, activation='sigmoid'), MaxPool(2), "
                                 "Flatten(), Dense('sigmoid'), Dropout(0.5), Dense('softmax')]")
    assert plan.shapes[-2] == {} and plan.activations == ["sigmoid", "sigmoid", "softmax"]
    assert plan.parameter_shapes() == {"W1": (4, 1, 5, 5), "b1": (4, 1), "W2": (32, 576), "b2": (32, 1),
                                       "W3": (10, 32), "b3": (10, 1)}
    assert plan.training_bytes(1) > 0


def test_a_plan_of_oblong_images_counts_rows_and_columns():
    plan = spec.plan("input 1@6x8, conv 2@3x3, dense 10")
    assert plan.window_values == 3 * 3 * 4 * 6 and plan.values == 3 * 3 * 4 * 6 + 2 * (2 * 4 * 6) + 2 * 10


def test_a_spec_that_ends_in_images_names_its_last_layer():
    with pytest.raises(ValueError) as refused:
        spec.plan("conv 8@5x5, pool 2, conv 4@3x3")
    assert str(refused.value) == "the last layer must be dense 10 (one unit per class), got 'conv 4@3x3'"
