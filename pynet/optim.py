"""Optimizers and learning-rate schedules for the model object.

An optimizer updates a parameters dict (``W1, b1, ...``) in place from a gradients dict
(``dW1, db1, ...``), the layout produced by ``core.L_layer_backward``. In-place updates
keep memory flat during long runs, which matters in the browser.

Every ``FLUSH_EVERY`` steps, the subnormal values (below 1.18e-38 in magnitude, not 0) of the
float32 parameters and optimizer state become zeros of the same sign, as a CPU's flush-to-zero
mode would make them. With L2, the weights of pixels that are blank in every image (and Adam's
m of them) decay geometrically towards 0 and then sit among the subnormals, where arithmetic
is several times slower: x86 NumPy sets no flush-to-zero, and WebAssembly has none. Flushed
together with its state, such a weight stays exactly 0 (its gradient is l2 * 0), so a flush
every few dozen steps is enough. Normal values are never touched.

float64 arrays are not flushed: the seed's recipe trains in float64 and its values are pinned
to the last digit. Its subnormals start at 2.2e-308, eight times as many halvings down as
float32's, so a float64 run with L2 meets them only after many more steps (and then slows).
"""

import math

import numpy as np

OPTIMIZERS = ("gd", "sgd", "momentum", "adam")
SCHEDULES = ("constant", "cosine", "step")
FLUSH_EVERY = 50  # optimizer steps between two flushes of float32 subnormals

_EXPONENT = np.uint32(0x7F800000)  # float32 bits: sign 1, exponent 8, fraction 23
_SIGN = np.uint32(0x80000000)


def flush_subnormals(a):
    """Set the subnormal values of a float32 array to zeros of their sign, in place.

    a: ndarray of any shape; other dtypes are left as they are. Works on the bits (a value is
    0 or subnormal exactly when its exponent bits are all 0): integer operations, unlike
    np.abs and float comparisons, are fast in Pyodide's NumPy too.
    """
    if a.dtype != np.float32:
        return
    bits = a.view(np.uint32)
    np.bitwise_and(bits, _SIGN, out=bits, where=(bits & _EXPONENT) == 0)


def check_learning_rate(learning_rate):
    """Return the learning rate as a float; raise ValueError unless it is finite and > 0."""
    if isinstance(learning_rate, (bool, np.bool_)):  # float(True) is 1.0, never what was meant
        raise ValueError(f"learning rate must be a number, got {learning_rate!r}")
    try:
        lr = float(learning_rate)
    except (TypeError, ValueError):
        raise ValueError(f"learning rate must be a number, got {learning_rate!r}") from None
    if not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"learning rate must be a finite number above 0, got {learning_rate!r}")
    return lr


class Schedule:
    """Learning rate as a function of the step number.

    kind: 'constant'; 'cosine' (from learning_rate down to 0 over total_steps); 'step' (halved
    every `step_every` steps).
    """

    def __init__(self, learning_rate, kind="constant", total_steps=1, step_every=1000):
        if kind not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {kind!r}")
        self.base = check_learning_rate(learning_rate)
        self.kind = kind
        self.total_steps = max(1, int(total_steps))
        self.step_every = max(1, int(step_every))

    def __call__(self, step):
        if self.kind == "cosine":
            progress = min(step, self.total_steps) / self.total_steps
            return self.base * 0.5 * (1.0 + math.cos(math.pi * progress))
        if self.kind == "step":
            return self.base * 0.5 ** (step // self.step_every)
        return self.base


class SGD:
    """Plain (stochastic) gradient descent, with optional L2 weight decay on the weights.

    ``step`` is the same for every optimizer: the update (``_update``, the optimizer's own) and,
    every ``FLUSH_EVERY`` steps, the flush of float32 subnormals (see the module's docstring).
    """

    def __init__(self, l2=0.0):
        self.l2 = float(l2)
        self.steps = 0

    def _gradient(self, name, parameters, gradients):
        g = gradients["d" + name]
        if self.l2 and name[0] == "W":
            g = g + self.l2 * parameters[name]
        return g

    def step(self, parameters, gradients, learning_rate):
        """Update parameters (the dict W1, b1, ...) in place from gradients (dW1, db1, ...)."""
        self._update(parameters, gradients, learning_rate)
        self.steps += 1
        if self.steps % FLUSH_EVERY == 0:
            for a in (*parameters.values(), *self.state().values()):
                flush_subnormals(a)

    def _update(self, parameters, gradients, learning_rate):
        for name, p in parameters.items():
            p -= learning_rate * self._gradient(name, parameters, gradients)

    def state(self):
        """Arrays that must be saved to resume training (none for SGD)."""
        return {}


class Momentum(SGD):
    """Heavy-ball momentum: v = beta v + g; p -= lr v."""

    def __init__(self, beta=0.9, l2=0.0):
        super().__init__(l2)
        self.beta = float(beta)
        self.velocity = {}

    def _update(self, parameters, gradients, learning_rate):
        for name, p in parameters.items():
            g = self._gradient(name, parameters, gradients)
            v = self.velocity.get(name)
            if v is None:
                v = self.velocity[name] = np.zeros_like(p)
            v *= self.beta
            v += g
            p -= learning_rate * v

    def state(self):
        return {"v_" + k: v for k, v in self.velocity.items()}


class Adam(SGD):
    """Adam (Kingma and Ba, 2015) with bias correction."""

    def __init__(self, beta1=0.9, beta2=0.999, eps=1e-8, l2=0.0):
        super().__init__(l2)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.m, self.v = {}, {}

    @property
    def t(self):
        """Steps taken (Adam's t)."""
        return self.steps

    def _update(self, parameters, gradients, learning_rate):
        t = self.steps + 1  # this update's t
        # Bias corrections folded into the step size: one scalar instead of two full arrays.
        step_size = learning_rate * math.sqrt(1 - self.beta2**t) / (1 - self.beta1**t)
        for name, p in parameters.items():
            g = self._gradient(name, parameters, gradients)
            m = self.m.get(name)
            if m is None:
                m = self.m[name] = np.zeros_like(p)
                self.v[name] = np.zeros_like(p)
            v = self.v[name]
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * (g * g)
            denom = np.sqrt(v)
            denom += self.eps
            np.divide(m, denom, out=denom)
            denom *= step_size
            p -= denom

    def state(self):
        out = {"m_" + k: a for k, a in self.m.items()}
        out.update({"v_" + k: a for k, a in self.v.items()})
        return out


def make_optimizer(name, l2=0.0, beta=0.9):
    """Build an optimizer by name: 'gd' and 'sgd' (plain), 'momentum', 'adam'."""
    if name in ("gd", "sgd"):
        return SGD(l2=l2)
    if name == "momentum":
        return Momentum(beta=beta, l2=l2)
    if name == "adam":
        return Adam(l2=l2)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")
