"""Convolution, max-pooling and flattening in the seed's style: each forward beside its backward.

Images are ``(C, H, W, m)``: channels, rows, columns, then the samples, last, as the dense
layers' columns. So a flatten is a reshape to the dense layers' ``(C * H * W, m)`` and back,
and a convolution is the seed's ``Z = W H_prev + b``, with ``H_prev`` the image's windows laid
out as columns (im2col, ``(C * kh * kw, OH * OW * m)``) and ``W`` the kernels as rows: one 2-D
product through ``core._matmul`` (einsum in blocks where NumPy has no BLAS, as in Pyodide).
Every copy of windows moves runs of ``m`` contiguous samples.

Kernels are ``W`` of shape ``(F, C, kh, kw)`` (F output channels) and biases ``b`` ``(F, 1)``.
Gradients are averaged over the ``m`` samples, as in ``core.linear_backward``.
"""

import numpy as np

from .core import _matmul


def conv_output_size(size, kernel, stride=1, pad=0):
    """Output rows (or columns) of a convolution over ``size`` input rows: (size + 2 pad - kernel) // stride + 1."""
    return (size + 2 * pad - kernel) // stride + 1


def im2col(H_prev, kh, kw, stride=1, pad=0):
    """Every kh x kw window of the (zero-padded) images as a column.

    Parameters: H_prev, ndarray (C, H, W, m); kernel size kh, kw; stride; pad (zeros on each side).
    Returns: ndarray (C * kh * kw, OH * OW * m), rows ordered (c, i, j), columns (oh, ow, sample).
    """
    C, H, W, m = H_prev.shape
    OH, OW = conv_output_size(H, kh, stride, pad), conv_output_size(W, kw, stride, pad)
    # Contiguous first: windows of a transposed view (a trainer's batch of columns) copy far slower.
    H_prev = np.pad(H_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0))) if pad else np.ascontiguousarray(H_prev)
    cols = np.empty((C, kh, kw, OH, OW, m), dtype=H_prev.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, i, j] = H_prev[:, i : i + stride * OH : stride, j : j + stride * OW : stride]
    return cols.reshape(C * kh * kw, OH * OW * m)


def col2im(dcols, shape, kh, kw, stride=1, pad=0):
    """The adjoint of im2col: each column's entries added back onto the pixels they came from.

    Parameters: dcols, ndarray (C * kh * kw, OH * OW * m); shape, the images' (C, H, W, m).
    Returns: ndarray of that shape.
    """
    C, H, W, m = shape
    OH, OW = conv_output_size(H, kh, stride, pad), conv_output_size(W, kw, stride, pad)
    dcols = dcols.reshape(C, kh, kw, OH, OW, m)
    dH_prev = np.zeros((C, H + 2 * pad, W + 2 * pad, m), dtype=dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            dH_prev[:, i : i + stride * OH : stride, j : j + stride * OW : stride] += dcols[:, i, j]
    return dH_prev[:, pad : pad + H, pad : pad + W] if pad else dH_prev


def conv_forward(H_prev, W, b, stride=1, pad=0):
    """A convolution's linear part (cross-correlation, as every framework computes it).

    Parameters:
        H_prev: ndarray (C, H, W, m), the previous layer's images.
        W: ndarray (F, C, kh, kw); b: ndarray (F, 1).
        stride: step between windows (>= 1); pad: rows and columns of zeros added on each side.
    Returns: (Z, memory): Z is (F, OH, OW, m) with OH = (H + 2 pad - kh) // stride + 1 (OW alike);
        memory = ((cols, W, b), H_prev.shape, stride, pad) for conv_backward.
    """
    C, H, Wd, m = H_prev.shape
    F, C_w, kh, kw = W.shape
    if C_w != C:
        raise ValueError(f"kernels of shape {W.shape} need {C_w} input channels, got {C}")
    OH, OW = conv_output_size(H, kh, stride, pad), conv_output_size(Wd, kw, stride, pad)
    if OH < 1 or OW < 1:
        raise ValueError(f"a {kh}x{kw} kernel does not fit a {H}x{Wd} input padded by {pad}")
    cols = im2col(H_prev, kh, kw, stride, pad)  # (C kh kw, OH OW m)
    Z = _matmul(W.reshape(F, -1), cols) + b  # (F, OH OW m): the seed's W H_prev + b
    return Z.reshape(F, OH, OW, m), ((cols, W, b), H_prev.shape, stride, pad)


def conv_backward(dZ, memory, need_dH_prev=True):
    """Gradients of a convolution's linear part, given dZ (F, OH, OW, m).

    Returns: (dH_prev, dW, db): (C, H, W, m), (F, C, kh, kw), (F, 1), averaged over the m
    samples (dH_prev is None when need_dH_prev is False: a first layer's is never used).
    """
    (cols, W, b), shape, stride, pad = memory
    F, C, kh, kw = W.shape
    m = dZ.shape[-1]
    dZ = np.reshape(dZ, (F, -1))  # (F, OH OW m)
    # (cols dZ^T)^T rather than dZ cols^T: the same sums, and OpenBLAS runs this shape faster
    dW = (_matmul(cols, dZ.T).T / m).reshape(W.shape)
    db = np.sum(dZ, axis=1, keepdims=True) / m
    if not need_dH_prev:
        return None, dW, db
    return col2im(_matmul(W.reshape(F, -1).T, dZ), shape, kh, kw, stride, pad), dW, db


def pool_forward(H_prev, size):
    """Max-pooling over non-overlapping size x size windows.

    Parameters: H_prev, ndarray (C, H, W, m) with H and W multiples of size.
    Returns: (H, memory): H is (C, H / size, W / size, m); memory = (H_prev, H, size).
    """
    C, Hh, Ww, m = H_prev.shape
    if Hh % size or Ww % size:
        raise ValueError(f"pooling by {size} does not divide a {Hh}x{Ww} input")
    windows = H_prev.reshape(C, Hh // size, size, Ww // size, size, m)
    # the maximum of the size * size strided views, one at a time: runs of m contiguous samples,
    # where a max over axes (2, 4) at once reduces along strided axes, much slower
    H = windows[:, :, 0, :, 0].copy()
    for i in range(size):
        for j in range(size):
            if i or j:
                np.maximum(H, windows[:, :, i, :, j], out=H)
    return H, (H_prev, H, size)


def pool_backward(dH, memory):
    """Gradient of max-pooling, dH (C, OH, OW, m) -> dH_prev (C, H, W, m).

    Each window's gradient goes to its maximum; where several entries tie, to the first in
    row-major order (as argmax), so that the gradient keeps the sum of dH.
    """
    H_prev, H, size = memory
    C, OH, OW, m = H.shape
    windows = H_prev.reshape(C, OH, size, OW, size, m)
    dH_prev = np.empty(windows.shape, dtype=np.result_type(dH, H_prev))  # every entry is written below
    free = None  # windows whose maximum has not yet received dH (None: all, at the first entry)
    last = (size - 1, size - 1)
    for i in range(size):
        for j in range(size):
            hit = windows[:, :, i, :, j] == H
            if free is not None:
                hit &= free
            # the mask as uint8: a bool operand takes NumPy's slow casting loop in Pyodide
            np.multiply(dH, hit.view(np.uint8), out=dH_prev[:, :, i, :, j])
            if (i, j) != last:
                free = ~hit if free is None else np.logical_xor(free, hit, out=free)
    return dH_prev.reshape(H_prev.shape)


def flatten_forward(H_prev):
    """Images (C, H, W, m) as the dense layers' columns (C * H * W, m): (H, memory = the shape)."""
    return np.reshape(H_prev, (-1, H_prev.shape[-1])), H_prev.shape


def flatten_backward(dH, memory):
    """The inverse reshape: dH (C * H * W, m) -> (C, H, W, m)."""
    return np.reshape(dH, memory)
