"""Random distortions of training images: a batch of MNIST digits, each moved its own way.

``distort`` is what the trainer calls (``TrainConfig.augment``): one random affine map per
image (a rotation, a scale and a shift), and with "elastic" a smooth random displacement field
on top (Simard, Steinkraus and Platt 2003). ``transform`` is the same distortion with explicit
parameters. Images are columns, as everywhere in pynet: ``(side * side, m)``.

The random numbers of an image are a function of (seed, step, the image's index in the
training set) alone, drawn by a counter-based hash rather than a generator's stream: any
shard of a batch, computed in any worker, distorts its images exactly as one worker computing
the whole batch would (data-parallel training, ``trainer.shard_gradients``).

uint8 pixels come back as uint8, rounded to the nearest: the trainer's one input path (uint8
scaled by 1/256 as the batch enters the network) stays as it is for plain and distorted
batches, in the trainer's worker and in helpers alike, and a distorted batch takes one byte a
pixel. Rounding moves a pixel by at most half a step of 1/256, far less than the bilinear
sampling's own smoothing. Float images stay float (the same dtype), unrounded; the sampling
itself is done in float32 either way.
"""

import numpy as np

AUGMENTATIONS = ("off", "affine", "elastic")

# The random affine map of an image, each part uniform in its range. MNIST's digits sit in a
# 20x20 box centred by mass in 28x28, so a shift of up to 2.5 pixels keeps them whole; rotations
# of 12 degrees and scales of 10% are the size of a writer's own variations. The usual ranges
# for MNIST, not tuned further: what they reach is in benchmarks/accuracy_results.md.
MAX_ANGLE = 12.0  # degrees, either way
SCALE_RANGE = (0.9, 1.1)
MAX_SHIFT = 2.5  # pixels, along each axis

# The elastic field (Simard et al. 2003): uniform noise in [-1, 1] smoothed by a Gaussian of
# sigma pixels, times alpha. The noise is drawn on a lattice of ELASTIC_SPACING pixels rather
# than at every pixel (each lattice value standing for the sum of the pixels around it, hence
# the factor spacing in ``smooth_field``): the field has the same spread and smoothness and
# needs 288 random numbers an image instead of 1,568 or more.
ELASTIC_ALPHA = 34.0
ELASTIC_SIGMA = 4.0
ELASTIC_SPACING = 4


def transform(images, angle=0.0, scale=1.0, shift=(0.0, 0.0), displacement=None):
    """Each image rotated, scaled and shifted about its centre, then displaced, sampled bilinearly.

    images: (side * side, m) pixels (uint8 or numbers), an image a column.
    angle: scalar or (m,), degrees, counterclockwise as the image is shown (row 0 on top).
    scale: scalar or (m,), above 1 enlarges.
    shift: (2,) or (2, m), pixels (x to the right, y down).
    displacement: None or (2, m, side, side): (x, y) offsets in pixels added to the point
        each output pixel is read from (the elastic field).
    Returns (side * side, m): uint8 for uint8 images (rounded), otherwise floats of the images'
    dtype (float64 for whole numbers). What comes from outside an image is 0, MNIST's background.
    """
    images = np.asarray(images)
    side = image_side(images.shape[0])
    m = images.shape[1]
    angle = np.radians(np.broadcast_to(np.asarray(angle, np.float64), (m,)))
    scale = np.broadcast_to(np.asarray(scale, np.float64), (m,))
    shift = np.asarray(shift, np.float64)
    shift = np.broadcast_to(shift.reshape(2, -1) if shift.ndim == 1 else shift, (2, m))
    # the inverse map, from each output pixel back to the point of the source it shows
    cos = (np.cos(angle) / scale).astype(np.float32)[:, None, None]
    sin = (np.sin(angle) / scale).astype(np.float32)[:, None, None]
    centre = (side - 1) / 2
    grid = np.arange(side, dtype=np.float32) - np.float32(centre)
    u = grid[None, None, :] - shift[0].astype(np.float32)[:, None, None]  # (m, 1, side): x from the centre
    v = grid[None, :, None] - shift[1].astype(np.float32)[:, None, None]  # (m, side, 1): y (down)
    x = u * cos - v * sin + np.float32(centre)  # (m, side, side)
    y = u * sin + v * cos + np.float32(centre)
    if displacement is not None:
        x = x + displacement[0]
        y = y + displacement[1]
    out = _bilinear(images.T.reshape(m, side, side), x, y)  # (m, side, side) float32
    if images.dtype == np.uint8:
        out = (out + np.float32(0.5)).astype(np.uint8)  # out >= 0: a mean of pixels >= 0
    else:
        out = out.astype(images.dtype if images.dtype.kind == "f" else np.float64)
    return out.reshape(m, side * side).T


def _bilinear(images, x, y):
    """images (m, side, side) read at the points (x, y) (m, side, side), bilinearly, 0 outside:
    (m, side, side) float32 (every step in float32: no conversion inside the arithmetic)."""
    m, side = images.shape[0], images.shape[1]
    width = side + 2  # a frame of zeros around each image: every read is then inside the array
    padded = np.zeros((m, width, width), np.float32)
    padded[:, 1:-1, 1:-1] = images
    flat = padded.reshape(-1)
    # points beyond the frame read the frame: clipping to [-1, side] then changes nothing
    x = np.clip(x, -1, side)
    y = np.clip(y, -1, side)
    x0 = np.minimum(np.floor(x), side - 1)  # so that x0 + 1 is still inside the frame
    y0 = np.minimum(np.floor(y), side - 1)
    wx, wy = x - x0, y - y0  # in [0, 1]
    corner = (y0 * width + x0).astype(np.intp)  # whole numbers, exact in float32
    corner += (np.arange(m, dtype=np.intp) * width * width + width + 1)[:, None, None]
    top = flat[corner]
    top += (flat[corner + 1] - top) * wx
    bottom = flat[corner + width]
    bottom += (flat[corner + width + 1] - bottom) * wx
    return top + (bottom - top) * wy


def smooth_field(noise, alpha=ELASTIC_ALPHA, sigma=ELASTIC_SIGMA, spacing=ELASTIC_SPACING, side=28):
    """Smooth displacement fields from noise on a lattice: alpha times the noise smoothed by a
    Gaussian of sigma pixels (separable: one small matrix product per axis).

    noise: (..., n, n) values (uniform in [-1, 1] for Simard's field) at the lattice points
        ``spacing * k - pad`` (k = 0..n-1) along each axis, centred on the image (see
        ``lattice_size``).
    Returns (..., side, side) float32: each value the displacement at a pixel, in pixels.
    """
    n = noise.shape[-1]
    pad = ((n - 1) * spacing - (side - 1)) / 2
    points = -pad + spacing * np.arange(n)
    kernel = np.exp(-((np.arange(side)[:, None] - points[None, :]) ** 2) / (2 * sigma**2))
    kernel /= np.sqrt(2 * np.pi) * sigma  # the Gaussian's values: a full sum over pixels is 1
    # spacing: a lattice value stands for spacing x spacing pixels' noise, whose sum spreads
    # spacing times as wide, so the field spreads as much as Simard's drawn at every pixel
    G = (kernel * np.sqrt(alpha * spacing)).astype(np.float32)  # (side, n): alpha * spacing split over both axes
    return np.matmul(np.matmul(G, noise.astype(np.float32)), G.T)


def lattice_size(side=28, sigma=ELASTIC_SIGMA, spacing=ELASTIC_SPACING):
    """Points along each axis of the noise lattice: it covers the image and 2 sigma around it."""
    return int(np.ceil((side - 1 + 4 * sigma) / spacing)) + 1


def random_parameters(kind, seed, step, index, side=28):
    """The random distortion of each image: {'angle', 'scale', 'shift', 'displacement'}, as
    ``transform`` takes them, for the images of training-set indices index (m,) at a step.

    Each image's numbers depend on (seed, step, its index) alone. kind: "affine" or "elastic"
    (the affine map and a field: displacement is None for "affine").
    """
    if kind not in AUGMENTATIONS[1:]:
        raise ValueError(f"augment must be one of {AUGMENTATIONS[1:]} here, got {kind!r}")
    n = lattice_size(side)
    u = uniform(seed, step, index, 4 + (2 * n * n if kind == "elastic" else 0))  # (count, m)
    m = u.shape[1]
    low, high = SCALE_RANGE
    parameters = {"angle": MAX_ANGLE * (2 * u[0] - 1), "scale": low + (high - low) * u[1],
                  "shift": MAX_SHIFT * (2 * u[2:4] - 1), "displacement": None}
    if kind == "elastic":
        noise = (2 * u[4:] - 1).reshape(2, n, n, m).transpose(0, 3, 1, 2)  # (2, m, n, n)
        parameters["displacement"] = smooth_field(noise, side=side)
    return parameters


def distort(images, kind, seed, step, index):
    """The images (side * side, m) of training-set indices index (m,), randomly distorted for
    this step of a run of this seed (see ``random_parameters``); "off" returns them as they are."""
    if kind == "off":
        return images
    return transform(images, **random_parameters(kind, seed, step, index, image_side(np.shape(images)[0])))


_GOLDEN = 0x9E3779B97F4A7C15


def uniform(seed, step, index, count):
    """(count, m) numbers uniform in [0, 1) (float64), column j a function of (seed, step,
    index[j]) alone: splitmix64's mixing of a counter keyed by the three."""
    index = np.asarray(index).astype(np.uint64)
    key = np.full(index.shape, (int(seed) * _GOLDEN + 1) % 2**64, np.uint64)
    key = _mix(_mix(key) ^ np.uint64(int(step) % 2**64))
    key = _mix(key ^ index)  # (m,)
    counter = np.arange(1, count + 1, dtype=np.uint64)[:, None] * np.uint64(_GOLDEN)
    bits = _mix(key[None, :] + counter)  # (count, m)
    return (bits >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _mix(z):
    """splitmix64's finaliser: a bijection of uint64 arrays that spreads every bit over all."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def image_side(n):
    """The side of square images of n pixels; ValueError when n is not a square."""
    side = int(round(np.sqrt(n)))
    if side < 2 or side * side != n:
        raise ValueError(f"augmentation distorts square images; an input of {n} values is not one")
    return side
