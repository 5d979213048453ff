"""Turn a hand-drawn digit into the 28x28 image an MNIST network expects, in pure NumPy.

MNIST digits were size-normalised to fit a 20x20 box (keeping the aspect ratio, with
anti-aliasing) and then centred by their centre of mass in a 28x28 field, ink bright on a
dark background. ``preprocess`` does the same to a canvas of any size, so the browser and
Python read a drawing identically.
"""

import numpy as np

SIZE = 28
BOX = 20
INK_THRESHOLD = 0.05


def _area_weights(n_in, n_out, scale):
    """(n_out, n_in) matrix averaging input pixels over each output pixel's footprint."""
    edges_out = np.arange(n_out + 1) / scale  # output pixel borders in input coordinates
    lo = np.maximum(edges_out[:-1, None], np.arange(n_in)[None, :])
    hi = np.minimum(edges_out[1:, None], np.arange(1, n_in + 1)[None, :])
    overlap = np.clip(hi - lo, 0, None)
    return overlap * scale  # each row sums to 1 where the footprint lies inside the input


def preprocess(image, invert=None):
    """Canvas -> MNIST-style input.

    Parameters:
        image: 2-D array (height, width) of grey levels, 0..1 or 0..255, or 3-D (h, w, 3|4)
            RGB(A), whose alpha (if any) is taken as ink over a transparent canvas.
        invert: True if the ink is dark on a light background; None guesses from the border.
    Returns: ndarray (784, 1) float32 in [0, 1], a column as the network takes it; all zeros
        for an empty canvas.
    """
    a = np.asarray(image, dtype=np.float64)
    if a.ndim == 3:
        if a.shape[2] == 4 and a[..., 3].max() > 0 and a[..., 3].min() < a[..., 3].max():
            a = a[..., 3]
            invert = False if invert is None else invert
        else:
            a = a[..., :3].mean(axis=2)
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"image must be 2-D (height, width) or (height, width, 3 or 4), got shape {np.shape(image)}")
    if not np.all(np.isfinite(a)):
        raise ValueError("image contains NaN or inf")
    if a.max() > 1.0:
        a = a / 255.0
    a = np.clip(a, 0.0, 1.0)
    if invert is None:
        border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
        invert = np.median(border) > 0.5
    if invert:
        a = 1.0 - a
    out = np.zeros((SIZE, SIZE))
    rows = np.flatnonzero(a.max(axis=1) > INK_THRESHOLD)
    cols = np.flatnonzero(a.max(axis=0) > INK_THRESHOLD)
    if rows.size == 0:
        return out.reshape(SIZE * SIZE, 1).astype(np.float32)
    a = a[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = a.shape
    scale = BOX / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    small = _area_weights(h, nh, scale) @ a @ _area_weights(w, nw, scale).T
    small = np.clip(small, 0.0, 1.0)
    top, left = (SIZE - nh) // 2, (SIZE - nw) // 2
    out[top : top + nh, left : left + nw] = small
    # Shift so the centre of mass lands on the centre (MNIST's integer shift), staying in frame.
    # MNIST puts it at pixel index (14, 14), SIZE / 2 (mean over its first 20,000 training digits:
    # 14.00, 14.01), not at (13.5, 13.5): half a pixel matters to a network trained on MNIST.
    total = out.sum()
    ys, xs = np.indices(out.shape)
    dy = int(round(SIZE / 2 - (ys * out).sum() / total))
    dx = int(round(SIZE / 2 - (xs * out).sum() / total))
    dy = int(np.clip(dy, -top, SIZE - (top + nh)))
    dx = int(np.clip(dx, -left, SIZE - (left + nw)))
    out = np.roll(out, (dy, dx), axis=(0, 1))
    return out.reshape(SIZE * SIZE, 1).astype(np.float32)
