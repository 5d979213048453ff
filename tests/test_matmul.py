"""pynet's one matrix product, core._matmul: np.dot where NumPy has BLAS, np.einsum where it
has none (Pyodide), in blocks where einsum's iteration space would pass 2**31 - 1 (in 32-bit
WebAssembly einsum fails there with "iterator is too large")."""

import numpy as np
import pytest

import pynet
from pynet import core

SHAPES = [(1, 1, 1), (3, 5, 7), (13, 1, 17), (40, 20, 30), (1, 8, 1), (9, 9, 1), (128, 784, 64)]


def _reference(A, B):
    return A.astype(np.float64) @ B.astype(np.float64)


@pytest.fixture
def no_blas(monkeypatch):
    monkeypatch.setattr(core, "_NO_BLAS", True)


@pytest.mark.parametrize("n,k,p", SHAPES)
@pytest.mark.parametrize("blas", [True, False])
def test_both_paths_equal_the_reference(monkeypatch, n, k, p, blas):
    monkeypatch.setattr(core, "_NO_BLAS", not blas)
    rng = np.random.default_rng(n * 10_000 + k * 100 + p)
    A = rng.normal(size=(n, k)).astype(np.float32)
    B = rng.normal(size=(p, k)).astype(np.float32).T  # a transposed view, as H_prev.T is
    out = core._matmul(A, B)
    assert out.shape == (n, p) and out.dtype == np.float32
    np.testing.assert_allclose(out, _reference(A, B), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("limit", [1, 7, 60, 100, 1000, 5000])
@pytest.mark.parametrize("n,k,p", SHAPES[:6])
def test_blocks_give_the_same_product(no_blas, monkeypatch, limit, n, k, p):
    monkeypatch.setattr(core, "_EINSUM_LIMIT", limit)
    rng = np.random.default_rng(limit + n + k + p)
    A, B = rng.normal(size=(n, k)), rng.normal(size=(k, p))
    if k > limit:  # one row times one column must fit: never the case at the real limit
        with pytest.raises(ValueError, match="too large"):
            core._matmul(A, B)
        return
    np.testing.assert_allclose(core._matmul(A, B), A @ B, rtol=1e-12, atol=1e-12)


def test_blocks_are_used_past_the_limit(no_blas, monkeypatch):
    """Each einsum call stays within the limit, and they cover the whole product."""
    monkeypatch.setattr(core, "_EINSUM_LIMIT", 200)
    calls = []
    einsum = np.einsum

    def counting(spec, a, b):
        calls.append(a.shape[0] * a.shape[1] * b.shape[1])
        return einsum(spec, a, b)

    monkeypatch.setattr(core.np, "einsum", counting)
    A, B = np.ones((30, 10)), np.ones((10, 40))
    out = core._matmul(A, B)
    assert max(calls) <= 200 and sum(calls) == 30 * 10 * 40
    np.testing.assert_array_equal(out, np.full((30, 40), 10.0))


def test_a_product_past_two_to_the_31_is_correct():
    """1291**3 > 2**31: in Pyodide this raised "iterator is too large" before the blocks."""
    n = 1291
    assert n**3 > 2**31
    rng = np.random.default_rng(0)
    A = rng.integers(-2, 3, size=(n, n)).astype(np.float32)
    B = rng.integers(-2, 3, size=(n, n)).astype(np.float32)
    out = core._matmul(A, B)
    # small integers: every sum is exact in float32, so any order of summation gives the same
    rows = rng.choice(n, 7, replace=False)
    np.testing.assert_array_equal(out[rows], (A[rows].astype(np.int64) @ B.astype(np.int64)).astype(np.float32))


def test_a_wide_first_layer_evaluates_a_large_chunk():
    """A first layer of 700 units on a 4,096-image chunk (700 * 784 * 4096 > 2**31): in the
    browser such a model could not be evaluated after upload."""
    net = pynet.Network([784, 700, 10], seed=0)
    X = np.random.default_rng(1).integers(0, 256, size=(784, 4096), dtype=np.uint8)
    P = net.forward(X)
    assert P.shape == (10, 4096)
    np.testing.assert_allclose(P.sum(axis=0), 1.0, rtol=1e-5)
    np.testing.assert_allclose(P[:, :50], net.forward(X[:, :50]), rtol=1e-4, atol=1e-6)


def test_blocks_keep_the_inputs_dtype(no_blas, monkeypatch):
    """float32 in, float32 out, in blocks too (a float64 result would double the memory and
    change the training's rounding)."""
    monkeypatch.setattr(core, "_EINSUM_LIMIT", 100)
    A, B = np.ones((9, 5), np.float32), np.ones((5, 8), np.float32)
    out = core._matmul(A, B)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.full((9, 8), 5.0, np.float32))


def test_with_blas_the_product_never_goes_through_einsum(monkeypatch):
    monkeypatch.setattr(core, "_NO_BLAS", False)
    monkeypatch.setattr(core.np, "einsum", lambda *a: pytest.fail("einsum called where NumPy has BLAS"))
    A, B = np.ones((4, 3)), np.ones((3, 2))
    np.testing.assert_array_equal(core._matmul(A, B), np.full((4, 2), 3.0))
    np.testing.assert_array_equal(core._matmul(A[0], B), np.full(2, 3.0))  # 1-D operands as well
