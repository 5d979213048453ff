"""Prototype of a faster pynet training step for NumPy without BLAS (Pyodide / wasm).

Same math as ``pynet.core`` + ``pynet.optim.Adam`` (relu hidden layers, softmax output, mean
cross-entropy, gradients averaged over the batch, Adam with the bias corrections folded into
the step size), same parameter layout (``W_l`` is ``(n_l, n_{l-1})``, ``b_l`` is ``(n_l, 1)``,
samples are columns inside the network), so results agree with ``Network.train`` up to float
rounding (only the summation order inside the matrix products differs).

What makes it faster in wasm NumPy (measured by ``benchmarks/wasm_kernels.mjs``, sections 4-5):

* the matrix products go through ``np.einsum`` instead of ``np.dot``: without BLAS, ``np.dot``
  / ``@`` run NumPy's naive loops (~1.8 GFLOPS at best, 0.8 with unlucky layouts), while
  einsum's unrolled sum-of-products kernels reach 2.3-3 GFLOPS on the same operands. This is
  the whole gain: 1.45-1.7x samples/s for the Fast recipe ([784,128,10], adam, batch 32-256);
* layouts that are free: the first layer uses the gathered rows ``rows[idx]`` (``(B, n_0)``,
  C-contiguous) directly, so ``W1 X`` contracts two contiguous axes (einsum's dot kernel) and
  ``dW1 = dZ1 X^T`` runs einsum's axpy kernel along n_0; no transpose copy pays for itself;
* ``inplace=True`` (relu, softmax, ``dZ``, relu mask, ``1/m``, Adam through ``out=`` buffers)
  keeps memory flat but measured no faster: allocation is cheap in wasm and these arrays are
  small; Adam's ~12 passes over the weights (~1.5 ms a step) cost the same either way;
* the loss picks the probability of the true class instead of multiplying a one-hot matrix
  (``0 * log(p)`` terms are exactly 0, so only the summation order changes);
* float32 stays float32: every scalar is a Python float (NEP 50: no upcast);
* optional, data dependent (``skip_zero_columns=True``): input pixels that are 0 in every sample
  of the batch (37% of MNIST's pixels in a batch of 64, 29% in 256) contribute exactly 0 to
  ``W1 X`` and their columns of ``dW1`` are exactly 0, so both layer-1 products run on the
  other columns only: +15-25% more on MNIST at batch 128-256, nothing at batch 32-64.

Runs natively (``python benchmarks/wasm_step_prototype.py`` checks it against pynet) and in
Pyodide (``node benchmarks/wasm_kernels.mjs`` times it against pynet's ``Network.train``).
"""

import math
import sys

import numpy as np

PIXEL_SCALE = 1.0 / 256  # as pynet.model: uint8 pixel k stands for k/256 (exact in float32)


def _mm(kernel, spec, A, B, out=None):
    """A matrix product written as an einsum spec, with np.dot / matmul as the alternative."""
    if kernel == "einsum":
        return np.einsum(spec, A, B, out=out)
    # kernel == "dot": pynet's own formulation (np.dot of the seed's operands)
    return {
        "ij,kj->ik": lambda: np.dot(A, B.T),
        "ij,jk->ik": lambda: np.dot(A, B),
        "ik,jk->ij": lambda: np.dot(A, B.T),
        "ji,jk->ik": lambda: np.dot(A.T, B),
    }[spec]()


def _nonzero_columns(rows_batch):
    """Boolean (n_0,): columns with a nonzero entry in some row (uint8: OR of 8 bytes at a time)."""
    r = rows_batch
    if r.dtype == np.uint8 and r.flags.c_contiguous and r.shape[1] % 8 == 0:
        return np.bitwise_or.reduce(r.view(np.uint64), axis=0).view(np.uint8) != 0
    return r.any(axis=0)


class FastStep:
    """One Adam training step of a relu/softmax MLP on a batch of rows, pynet's math.

    parameters: pynet's dict (W1, b1, ..., WL, bL), updated in place (share it with a Network).
    kernel: 'einsum' (fast without BLAS) or 'dot' (pynet's np.dot formulation).
    inplace: reuse buffers (out=) for the elementwise work, Adam included.
    """

    def __init__(self, parameters, beta1=0.9, beta2=0.999, eps=1e-8, kernel="einsum", inplace=True,
                 skip_zero_columns=False):
        self.p = parameters
        self.L = len(parameters) // 2
        self.dtype = parameters["W1"].dtype
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.m = {k: np.zeros_like(v) for k, v in parameters.items()}
        self.v = {k: np.zeros_like(v) for k, v in parameters.items()}
        self.t = 0
        self.kernel = kernel
        self.inplace = inplace
        self.skip_zero_columns = skip_zero_columns
        self._buffers = {}
        self.tiny = np.finfo(self.dtype).tiny

    def _buf(self, name, shape):
        b = self._buffers.get(name)
        if b is None or b.shape != shape:
            b = self._buffers[name] = np.empty(shape, dtype=self.dtype)
        return b

    def _input(self, rows_batch):
        """(B, n_0) rows, uint8 or float -> (B, n_0) C-contiguous in the model's dtype."""
        if rows_batch.dtype == np.uint8:
            X = rows_batch.astype(self.dtype)
            X *= PIXEL_SCALE  # Python float: stays float32; k/256 is exact
            return X
        return np.ascontiguousarray(rows_batch, dtype=self.dtype)

    def step(self, rows_batch, labels, learning_rate):
        """One step on rows_batch (B, n_0) (= pynet's Xb.T) with integer labels (B,).

        Returns (loss, number of correct predictions before the update), as Network.train logs.
        """
        P, L, kern, inplace = self.p, self.L, self.kernel, self.inplace
        active = None
        if self.skip_zero_columns:  # input columns that are not 0 in every sample of the batch
            active = np.flatnonzero(_nonzero_columns(rows_batch))
            rows_batch = rows_batch[:, active]
        X = self._input(rows_batch)  # layer-0 activations as ROWS (B, n_0) (or (B, n_active))
        B = X.shape[0]
        cols = np.arange(B)

        # ---- forward: hidden activations kept as columns (n_l, B), as the seed ------------
        H = [X]
        for l in range(1, L + 1):
            W, b = P["W" + str(l)], P["b" + str(l)]
            out = self._buf("Z" + str(l), (W.shape[0], B)) if (inplace and kern == "einsum") else None
            if l == 1:
                if active is not None:
                    W = W[:, active]
                Z = _mm(kern, "ij,kj->ik", W, X, out)  # W @ X.T: both contiguous along n_0
            else:
                Z = _mm(kern, "ij,jk->ik", W, H[-1], out)  # W @ H
            if inplace:
                Z += b
            else:
                Z = Z + b
            if l < L:  # relu; its mask is H > 0, identical to Z > 0
                H.append(np.maximum(Z, 0, out=Z) if inplace else np.maximum(0, Z))
            else:  # softmax over each column
                if inplace:
                    Z -= Z.max(axis=0, keepdims=True)
                    np.exp(Z, out=Z)
                    Z /= Z.sum(axis=0, keepdims=True)
                    HL = Z
                else:
                    E = np.exp(Z - Z.max(axis=0, keepdims=True))
                    HL = E / E.sum(axis=0, keepdims=True)

        # ---- loss and accuracy (before the update, as Network.train) ----------------------
        p_true = HL[labels, cols]
        loss = (-1.0 / B) * float(np.sum(np.log(np.maximum(p_true, self.tiny))))
        correct = int(np.count_nonzero(HL.argmax(axis=0) == labels))

        # ---- backward + Adam, layer by layer (W_l is used for dH before it is updated) ------
        self.t += 1
        step_size = learning_rate * math.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        if inplace:
            dZ = HL  # softmax + cross-entropy: dZ = HL - Y, Y one-hot
        else:
            dZ = HL.copy()
        dZ[labels, cols] -= 1.0
        for l in range(L, 0, -1):
            W = P["W" + str(l)]
            gout = self._buf("dW" + str(l), W.shape) if (inplace and kern == "einsum") else None
            if l == 1 and active is not None:
                dW = gout if gout is not None else np.empty(W.shape, self.dtype)
                dW.fill(0)  # the skipped columns' gradient is exactly 0
                dW[:, active] = _mm(kern, "ij,jk->ik", dZ, X)
            elif l == 1:
                dW = _mm(kern, "ij,jk->ik", dZ, X, gout)  # dZ @ H0.T with H0.T = X rows
            else:
                dW = _mm(kern, "ik,jk->ij", dZ, H[l - 1], gout)  # dZ @ H_prev.T
            db = np.sum(dZ, axis=1, keepdims=True)
            if inplace:
                dW /= B
                db /= B
            else:
                dW = dW / B
                db = db / B
            if l > 1:  # dH_prev = W.T @ dZ, then the relu mask (dH0 is never needed)
                dH = _mm(kern, "ji,jk->ik", W, dZ, self._buf("dH" + str(l - 1), (W.shape[1], B))
                         if (inplace and kern == "einsum") else None)
                if inplace:
                    np.copyto(dH, 0.0, where=H[l - 1] <= 0)
                    dZ_next = dH
                else:
                    dZ_next = np.where(H[l - 1] > 0, dH, 0)
            self._adam("W" + str(l), dW, step_size)
            self._adam("b" + str(l), db, step_size)
            if l > 1:
                dZ = dZ_next
        return loss, correct

    def _adam(self, name, g, step_size):
        """pynet.optim.Adam's update for one parameter, same operations in the same order."""
        p, m, v = self.p[name], self.m[name], self.v[name]
        b1, b2 = self.beta1, self.beta2
        if self.inplace:
            tmp = self._buf("tmp_" + name, p.shape)
            m *= b1
            np.multiply(g, 1 - b1, out=tmp)
            m += tmp
            v *= b2
            np.multiply(g, g, out=tmp)
            tmp *= 1 - b2
            v += tmp
            np.sqrt(v, out=tmp)
            tmp += self.eps
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            p -= tmp
        else:
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            denom = np.sqrt(v)
            denom += self.eps
            np.divide(m, denom, out=denom)
            denom *= step_size
            p -= denom


def train_epoch(stepper, rows, labels, order, batch_size, learning_rate):
    """One epoch over rows (m, n_0) in the given order; returns (mean loss, accuracy)."""
    m = len(order)
    loss_sum, correct = 0.0, 0
    for s in range(0, m, batch_size):
        idx = order[s : s + batch_size]
        loss, c = stepper.step(rows[idx], labels[idx], learning_rate)
        loss_sum += loss * len(idx)
        correct += c
    return loss_sum / m, correct / m


def _self_check(batch_size=64, steps=40, dims=(784, 128, 10), dtype="float32"):
    """Compare FastStep with pynet's Network.train on the same batches; print the differences."""
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
    from pynet.model import Network, TrainConfig

    rng = np.random.default_rng(1)
    m = batch_size * steps
    images = rng.integers(0, 256, (m, dims[0]), dtype=np.uint8)  # (m, n_0) as pynet's data
    labels = rng.integers(0, dims[-1], m)
    proto_params = {k: v.copy() for k, v in Network(list(dims), seed=0, dtype=dtype).parameters.items()}
    cfg = TrainConfig(epochs=1, batch_size=batch_size, optimizer="adam", learning_rate=0.003, seed=0)
    order = np.random.default_rng(0).permutation(m)  # the order Network.train draws
    results = {}
    variants = [(k, i, False) for k in ("einsum", "dot") for i in (True, False)] + [("einsum", True, True)]
    images[:, :300] = 0  # some all-zero pixels, as MNIST's borders
    images[rng.random(images.shape) < 0.5] = 0
    net = Network(list(dims), seed=0, dtype=dtype)
    ref_losses = [e["loss"] for e in net.train(images.T, labels, cfg) if e["type"] == "batch"]
    for kernel, inplace, skip in variants:
        params = {k: v.copy() for k, v in proto_params.items()}
        st = FastStep(params, kernel=kernel, inplace=inplace, skip_zero_columns=skip)
        losses = []
        for s in range(0, m, batch_size):
            idx = order[s : s + batch_size]
            losses.append(st.step(images[idx], labels[idx], 0.003)[0])
        dp = max(float(np.max(np.abs(params[k] - net.parameters[k]))) for k in params)
        dl = max(abs(a - b) for a, b in zip(losses, ref_losses))
        dtypes = {str(a.dtype) for a in list(params.values()) + list(st.m.values()) + list(st.v.values())}
        results[(kernel, inplace, skip)] = (dp, dl, dtypes)
        print(f"{dtype} kernel={kernel:6s} inplace={inplace!s:5s} skip_zero_columns={skip!s:5s}: "
              f"max |param diff| {dp:.2e}, "
              f"max |loss diff| {dl:.2e}, dtypes {sorted(dtypes)}")
    return results


if __name__ == "__main__":
    _self_check()
    _self_check(dtype="float64")
