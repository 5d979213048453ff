// What makes a pynet training step fast in Pyodide's NumPy (wasm, no BLAS)? Prints Markdown tables.
//
//   node benchmarks/wasm_kernels.mjs                 # everything (about 10 minutes on 2 busy cores)
//   node benchmarks/wasm_kernels.mjs --quick         # fewer repeats, batch 64/128 only
//   node benchmarks/wasm_kernels.mjs --sections 4,6  # 1 layouts, 2 formulations, 3 profile, 4-5 step, 6 check
//   node benchmarks/wasm_kernels.mjs --reps 9        # repeats per measurement (median reported)
//   node benchmarks/wasm_kernels.mjs --wall          # wall clock instead of process CPU time
//
// Needs dist/pyodide (make site). pynet and benchmarks/wasm_step_prototype.py are read from this
// checkout through NODEFS, so the current sources are measured (not the built wheel).
// Every table compares variants measured in the same interleaved, shuffled rounds; the numbers
// are medians over the rounds. The machine is shared: compare within a column, not across runs.
// The clock is the process's CPU time (process.cpuUsage(): Pyodide runs on Node's one main
// thread, so preemption by other jobs is not counted); --wall switches to perf_counter.
//
// Sections:
//  1. bare matmul rate (GFLOPS) of A (n1, 784) x B (784, batch) for every operand/output layout,
//     with np.dot, np.matmul (out=) and np.einsum (out=), float32 and float64;
//  2. the products a training step needs, in every formulation that the step can get for free
//     or by paying a copy (copies are inside the timing): forward W1 x X, dW1 = dZ1 X^T,
//     dH1 = W2^T dZ2, Z2 = W2 H1, dW2 = dZ2 H1^T, and W1^T dZ1 (dH0, only for deeper nets);
//  3. profile of pynet's step (Fast recipe shapes) piece by piece, with in-place alternatives
//     and a float32 upcast audit of every array in a real step;
//  4. samples/s of pynet's Network.train vs pynet with the recommended patch vs the prototype
//     (benchmarks/wasm_step_prototype.py), by batch size, float32 and float64;
//  5. the same on real MNIST (dist/data/mnist-small.npz), plus the prototype skipping input
//     pixels that are 0 in the whole batch (exact: they add 0 to W1 X and to dW1);
//  6. correctness in Pyodide: the prototype's parameters and losses vs Network.train's.

import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const args = {
  quick: argv.includes('--quick'),
  sections: opt('--sections', '1,2,3,4,5,6').split(',').map(Number),
  reps: Number(opt('--reps', argv.includes('--quick') ? 5 : 7)),
  wall: argv.includes('--wall'),
};

const { loadPyodide } = await import(path.join(root, 'dist/pyodide/pyodide.mjs'));
const t0 = Date.now();
const py = await loadPyodide({
  indexURL: path.join(root, 'dist/pyodide') + '/',
  stdout: (s) => console.log(s),
  stderr: (s) => console.error(s),
});
await py.loadPackage('numpy', { messageCallback: () => {} });
py.FS.mkdirTree('/repo');
py.FS.mount(py.FS.filesystems.NODEFS, { root }, '/repo');
console.log(`<!-- Pyodide ${py.version} loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s; node ${process.version}; ` +
            `args ${JSON.stringify(args)} -->`);
py.globals.set('ARGS_JSON', JSON.stringify(args));
await py.runPythonAsync(String.raw`
import gc, json, math, random, sys, time
import numpy as np

sys.path.insert(0, "/repo"); sys.path.insert(0, "/repo/benchmarks")
import pynet
from pynet import core, model, optim
from pynet.model import Network, TrainConfig
from wasm_step_prototype import FastStep

ARGS = json.loads(ARGS_JSON)
REPS = ARGS["reps"]
QUICK = ARGS["quick"]
BATCHES = [64, 128] if QUICK else [32, 64, 128, 256]
F32, F64 = np.float32, np.float64
rng = np.random.default_rng(0)
RESULTS = {}
print(f"<!-- numpy {np.__version__}, platform {sys.platform}, clock: {'wall' if ARGS['wall'] else 'process CPU time'} -->")


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


if ARGS["wall"]:
    clock = time.perf_counter
else:
    from js import process as _process

    def clock():
        """CPU seconds of this process (robust to the other jobs on a shared machine)."""
        u = _process.cpuUsage()
        return (u.user + u.system) * 1e-6


def bench(fns, reps=REPS, min_time=0.005, warm=0.06):
    """Median seconds per call of every fn; variants interleaved in shuffled rounds.

    Each fn first runs for 'warm' seconds (V8 compiles hot wasm functions a second time,
    optimized, in the background: the first calls are up to 5x slower than the steady state).
    """
    keys = list(fns)
    inner = {}
    for k in keys:
        t = time.perf_counter(); n = 0
        while n < 3 or (time.perf_counter() - t < warm and n < 200):
            fns[k](); n += 1
        t = time.perf_counter(); fns[k](); dt = time.perf_counter() - t
        inner[k] = max(1, min(100, int(min_time / max(dt, 1e-7))))
    res = {k: [] for k in keys}
    for _ in range(reps):
        random.shuffle(keys)
        for k in keys:
            f, n = fns[k], inner[k]
            t = clock()
            for _ in range(n):
                f()
            res[k].append((clock() - t) / n)
    return {k: median(v) for k, v in res.items()}


def table(title, header, rows, note=None):
    print(f"\n#### {title}\n")
    if note:
        print(note + "\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
    for r in rows:
        print("| " + " | ".join(str(c) for c in r) + " |")
    sys.stdout.flush()


def lay(a, order):
    return np.ascontiguousarray(a) if order == "C" else np.asfortranarray(a)


def gf(flops, s):
    return flops / s / 1e9


# Columns of sections 1 and 2: (label, dtype, n_hidden, batch)
COLS = [("f32 b%d" % b, F32, 128, b) for b in BATCHES] + [("f64 b%d" % b, F64, 128, b) for b in BATCHES]
COLS += [("512 f32 b%d" % b, F32, 512, b) for b in ((64,) if QUICK else (64, 128))]


# ---------------------------------------------------------------------------------------------
def section1():
    names = []
    for la in "CF":
        for lb in "CF":
            names += [f"np.dot  A{la} B{lb} (out C)", f"matmul  A{la} B{lb} out C", f"matmul  A{la} B{lb} out F",
                      f"einsum  A{la} B{lb} out C", f"einsum  A{la} B{lb} out F"]
    cols = {}
    for label, dt, n1, b in COLS:
        A0 = rng.standard_normal((n1, 784)).astype(dt)
        B0 = rng.random((784, b)).astype(dt)
        fns = {}
        for la in "CF":
            for lb in "CF":
                A, B = lay(A0, la), lay(B0, lb)
                oC, oF = np.empty((n1, b), dt, order="C"), np.empty((n1, b), dt, order="F")
                fns[f"np.dot  A{la} B{lb} (out C)"] = lambda A=A, B=B: np.dot(A, B)
                fns[f"matmul  A{la} B{lb} out C"] = lambda A=A, B=B, o=oC: np.matmul(A, B, out=o)
                fns[f"matmul  A{la} B{lb} out F"] = lambda A=A, B=B, o=oF: np.matmul(A, B, out=o)
                fns[f"einsum  A{la} B{lb} out C"] = lambda A=A, B=B, o=oC: np.einsum("ij,jk->ik", A, B, out=o)
                fns[f"einsum  A{la} B{lb} out F"] = lambda A=A, B=B, o=oF: np.einsum("ij,jk->ik", A, B, out=o)
        r = bench(fns)
        cols[label] = {k: gf(2 * n1 * 784 * b, v) for k, v in r.items()}
    rows = [[n] + ["%.2f" % cols[c[0]][n] for c in COLS] for n in names]
    best = [["**best**"] + [max(cols[c[0]], key=cols[c[0]].get).replace("  ", " ") for c in COLS]]
    table("1. Bare rate, GFLOPS: A (n1, 784) x B (784, batch), every layout (C/F = C-/Fortran-contiguous)",
          ["variant"] + [c[0] for c in COLS], rows + best,
          "n1 = 128 unless the column says 512. np.dot has no F output. Higher is better.")
    RESULTS["s1"] = cols


# ---------------------------------------------------------------------------------------------
def products(dt, n1, b):
    """{product: {variant: (fn, flops)}} with the operands a training step really has.

    Xr = rows[idx] (b, 784) C-contiguous is what the gather gives; pynet uses X = Xr.T (F).
    dZ1, H1 (n1, b) C; dZ2 (10, b) C; W1 (n1, 784) C; W2 (10, n1) C.
    """
    Xr = rng.random((b, 784)).astype(dt)
    X = Xr.T
    W1 = rng.standard_normal((n1, 784)).astype(dt)
    W1T = np.ascontiguousarray(W1.T)
    W1F = np.asfortranarray(W1)
    dZ1 = rng.standard_normal((n1, b)).astype(dt)
    dZ1r = np.ascontiguousarray(dZ1.T)
    W2 = rng.standard_normal((10, n1)).astype(dt)
    H1 = rng.random((n1, b)).astype(dt)
    H1r = np.ascontiguousarray(H1.T)
    dZ2 = rng.standard_normal((10, b)).astype(dt)
    f1, f2 = 2 * n1 * 784 * b, 2 * 10 * n1 * b
    ac = np.ascontiguousarray
    P = {}
    P["forward Z1 = W1 X"] = {
        "np.dot(W1, X)  [pynet now]": lambda: np.dot(W1, X),
        "W1 @ X": lambda: W1 @ X,
        "np.dot(W1, ascontiguousarray(X))  (copy timed)": lambda: np.dot(W1, ac(X)),
        "rows: Xr @ W1.T": lambda: Xr @ W1.T,
        "rows: np.dot(Xr, W1.T)": lambda: np.dot(Xr, W1.T),
        "rows: Xr @ ascontiguousarray(W1.T)  (copy timed)": lambda: Xr @ ac(W1.T),
        "rows: Xr @ W1T  (W1T kept contiguous, no copy)": lambda: Xr @ W1T,
        "einsum('ij,jk->ik', W1, X)": lambda: np.einsum("ij,jk->ik", W1, X),
        "rows: einsum('kj,ij->ki', Xr, W1)": lambda: np.einsum("kj,ij->ki", Xr, W1),
        "einsum(W1F stored Fortran, X)": lambda: np.einsum("ij,jk->ik", W1F, X),
        "einsum(W1, ascontiguousarray(X))  (copy timed)": lambda: np.einsum("ij,jk->ik", W1, ac(X)),
        "einsum(..., optimize=True)": lambda: np.einsum("ij,jk->ik", W1, X, optimize=True),
        "np.tensordot(W1, X, 1)": lambda: np.tensordot(W1, X, 1),
        "np.inner(W1, Xr)": lambda: np.inner(W1, Xr),
    }, f1
    P["dW1 = dZ1 X^T"] = {
        "np.dot(dZ1, X.T)  [pynet now]": lambda: np.dot(dZ1, X.T),
        "dZ1 @ X.T": lambda: dZ1 @ X.T,
        "np.dot(dZ1, ascontiguousarray(X).T)  (copy timed)": lambda: np.dot(dZ1, ac(X).T),
        "einsum('ij,jk->ik', dZ1, X.T)": lambda: np.einsum("ij,jk->ik", dZ1, X.T),
        "einsum('ij,kj->ik', dZ1, ascontiguousarray(X))  (copy timed)": lambda: np.einsum("ij,kj->ik", dZ1, ac(X)),
        "rows: einsum('ji,jk->ik', dZ1r, Xr)": lambda: np.einsum("ji,jk->ik", dZ1r, Xr),
        "rows: dZ1r.T @ Xr": lambda: dZ1r.T @ Xr,
        "transposed: (X @ dZ1.T).T": lambda: (X @ dZ1.T).T,
    }, f1
    P["W1^T dZ1 (dH0: deeper nets only)"] = {
        "np.dot(W1.T, dZ1)  [pynet, skipped for layer 1]": lambda: np.dot(W1.T, dZ1),
        "W1.T @ dZ1": lambda: W1.T @ dZ1,
        "einsum('ji,jk->ik', W1, dZ1)": lambda: np.einsum("ji,jk->ik", W1, dZ1),
        "rows: einsum('kj,ji->ki', dZ1r, W1)": lambda: np.einsum("kj,ji->ki", dZ1r, W1),
    }, f1
    P["forward Z2 = W2 H1"] = {
        "np.dot(W2, H1)  [pynet now]": lambda: np.dot(W2, H1),
        "W2 @ H1": lambda: W2 @ H1,
        "einsum('ij,jk->ik', W2, H1)": lambda: np.einsum("ij,jk->ik", W2, H1),
        "rows: einsum('ij,kj->ik', W2, H1r)": lambda: np.einsum("ij,kj->ik", W2, H1r),
    }, f2
    P["dW2 = dZ2 H1^T"] = {
        "np.dot(dZ2, H1.T)  [pynet now]": lambda: np.dot(dZ2, H1.T),
        "dZ2 @ H1.T": lambda: dZ2 @ H1.T,
        "einsum('ij,jk->ik', dZ2, H1.T)": lambda: np.einsum("ij,jk->ik", dZ2, H1.T),
        "rows: einsum('ik,kj->ij', dZ2, H1r)": lambda: np.einsum("ik,kj->ij", dZ2, H1r),
    }, f2
    P["dH1 = W2^T dZ2"] = {
        "np.dot(W2.T, dZ2)  [pynet now]": lambda: np.dot(W2.T, dZ2),
        "W2.T @ dZ2": lambda: W2.T @ dZ2,
        "einsum('ij,jk->ik', W2.T, dZ2)": lambda: np.einsum("ij,jk->ik", W2.T, dZ2),
        "rows: einsum('ik,ij->kj', dZ2, W2)": lambda: np.einsum("ik,ij->kj", dZ2, W2),
    }, f2
    return P


def section2():
    cols = {}
    order = None
    for label, dt, n1, b in COLS:
        P = products(dt, n1, b)
        order = order or [(p, list(v[0])) for p, v in P.items()]
        col = {}
        for p, (fns, flops) in P.items():
            r = bench(fns)
            for k, v in r.items():
                col[(p, k)] = (gf(flops, v), v)
        cols[label] = col
    for p, variants in order:
        rows = []
        for k in variants:
            rows.append([k] + ["%.2f" % cols[c[0]][(p, k)][0] for c in COLS])
        rows.append(["time of [pynet now] / best (ms)"] + [
            "%.2f / %.2f" % (cols[c[0]][(p, variants[0])][1] * 1e3,
                             min(cols[c[0]][(p, k)][1] for k in variants) * 1e3) for c in COLS])
        table(f"2. {p}: GFLOPS of each formulation (copies inside the timing)", ["variant"] + [c[0] for c in COLS],
              rows)
    RESULTS["s2"] = cols


# ---------------------------------------------------------------------------------------------
def section3():
    """Each piece of pynet's step (Fast recipe: [784,128,10], adam, uint8 input) timed alone."""
    out = {}
    for b in ([64, 128] if not QUICK else [64]):
        for dt in (F32, F64):
            m = 5000
            images = rng.integers(0, 256, (m, 784), dtype=np.uint8)
            rows_ = images  # Network.train: rows = X.T with X = images.T
            labels = rng.integers(0, 10, m)
            idx = rng.permutation(m)[:b]
            net = Network([784, 128, 10], seed=0, dtype=np.dtype(dt).name)
            Pm = net.parameters
            Xu = rows_[idx]
            Xb = net._batch(Xu.T)
            yb = labels[idx]
            eye = np.eye(10, dtype=dt)
            Yb = eye[:, yb]
            HL, mem = core.L_layer_forward(Xb, Pm)
            (_, W1, b1), Z1 = mem[0]
            (H1, W2, b2), Z2 = mem[1]
            G = core.L_layer_backward(HL, Yb, mem, need_dH0=False)
            dZ2 = HL - Yb
            dH1 = np.dot(W2.T, dZ2)
            dZ1 = core.relu_backward(dH1, Z1)
            adam = optim.Adam()
            adam_p = {k: v.copy() for k, v in Pm.items()}
            fast = FastStep({k: v.copy() for k, v in Pm.items()})
            tiny = np.finfo(dt).tiny
            lut = np.arange(256, dtype=dt) * (1 / 256)
            cols = np.arange(b)
            sched = optim.Schedule(0.003)
            Zw, Ew, dHw = Z1.copy(), Z2.copy(), dH1.copy()
            pieces = {
                "gather rows[idx] (uint8)": lambda: rows_[idx],
                "uint8 -> float: X.astype(dt) * dt(1/256)  [_batch]": lambda: net._batch(Xu.T),
                "  alt: lut[Xu] (256-entry table)": lambda: lut[Xu],
                "  alt: np.multiply(Xu, 1/256, dtype=dt)": lambda: np.multiply(Xu, 1 / 256, dtype=dt),
                "  upcast trap: X.astype(f32) * np.float64(1/256)": lambda: Xu.astype(dt) * np.float64(1 / 256),
                "Yb = eye[:, yb]": lambda: eye[:, yb],
                "fwd matmul np.dot(W1, X)": lambda: np.dot(W1, Xb),
                "  alt: einsum('ij,jk->ik', W1, X)": lambda: np.einsum("ij,jk->ik", W1, Xb),
                "fwd + b1": lambda: Z1 + b1,
                "relu np.maximum(0, Z1)": lambda: np.maximum(0, Z1),
                "  alt: np.maximum(Z, 0, out=Z)": lambda: np.maximum(Zw, 0, out=Zw),
                "fwd layer 2: np.dot(W2, H1) + b2": lambda: np.dot(W2, H1) + b2,
                "softmax (core.softmax)": lambda: core.softmax(Z2),
                "  alt: in place (-=max, exp out=, /=sum)": lambda: (np.subtract(Z2, Z2.max(axis=0, keepdims=True), out=Ew),
                                                                   np.exp(Ew, out=Ew), np.divide(Ew, Ew.sum(axis=0, keepdims=True), out=Ew)),
                "  of which np.exp(Z2)": lambda: np.exp(Z2),
                "loss core.compute_loss(HL, Yb)": lambda: core.compute_loss(HL, Yb),
                "  alt: -mean(log(max(HL[yb, cols], tiny)))": lambda: (-1.0 / b) * float(np.sum(np.log(np.maximum(HL[yb, cols], tiny)))),
                "dZ2 = HL - Yb": lambda: HL - Yb,
                "dW2 = np.dot(dZ2, H1.T) / m": lambda: np.dot(dZ2, H1.T) / b,
                "db2 = sum(dZ2, axis=1) / m": lambda: np.sum(dZ2, axis=1, keepdims=True) / b,
                "dH1 = np.dot(W2.T, dZ2)": lambda: np.dot(W2.T, dZ2),
                "relu_backward np.where(Z1 > 0, dH1, 0)": lambda: core.relu_backward(dH1, Z1),
                "  alt: np.copyto(dH, 0, where=Z1 <= 0) in place": lambda: np.copyto(dHw, 0, where=Z1 <= 0),
                "dW1 matmul np.dot(dZ1, X.T)": lambda: np.dot(dZ1, Xb.T),
                "  alt: einsum('ij,jk->ik', dZ1, X.T)": lambda: np.einsum("ij,jk->ik", dZ1, Xb.T),
                "dW1 / m": lambda: G["dW1"] / b,
                "db1 = sum(dZ1, axis=1) / m": lambda: np.sum(dZ1, axis=1, keepdims=True) / b,
                "Adam.step (all 4 parameters)": lambda: adam.step(adam_p, G, 0.003),
                "  alt: Adam with out= buffers (prototype)": lambda: [fast._adam(k, G["d" + k], 1e-3) for k in Pm],
                "argmax + count_nonzero": lambda: int(np.count_nonzero(HL.argmax(axis=0) == yb)),
                "schedule + event dict + perf_counter": lambda: {"type": "batch", "lr": sched(3), "t": time.perf_counter(),
                                                                 "loss": 0.1, "epoch": 1, "batch": 2},
            }
            r = bench(pieces)
            out[(b, np.dtype(dt).name)] = r
    keys = list(next(iter(out.values())))
    hdr = ["piece (pynet expression)"] + [f"{d} b{b} us" for (b, d) in out]
    rows = [[k] + ["%.0f" % (out[c][k] * 1e6) for c in out] for k in keys]
    main_keys = [k for k in keys if not k.startswith("  ")]
    rows.append(["**sum of pynet pieces**"] + ["%.0f" % (sum(out[c][k] for k in main_keys) * 1e6) for c in out])
    table("3. Profile of pynet's step, [784,128,10] adam, uint8 input: microseconds per piece",
          hdr, rows, "Indented rows are alternatives (not in the sum). Medians of interleaved rounds.")
    RESULTS["s3"] = out
    upcast_audit()


def upcast_audit():
    """Run pynet's real step in float32 and list the dtype of every array it makes."""
    seen = {}
    orig = {name: getattr(core, name) for name in ("layer_forward", "linear_backward", "compute_loss", "relu_backward")}

    def wrap(name):
        f = orig[name]
        def g(*a, **k):
            r = f(*a, **k)
            stack = [("args", a), ("result", r)]
            while stack:
                tag, x = stack.pop()
                if isinstance(x, np.ndarray):
                    seen.setdefault(f"{name} {tag}", set()).add(str(x.dtype))
                elif isinstance(x, (tuple, list)):
                    stack += [(tag, y) for y in x]
                elif isinstance(x, np.generic):
                    seen.setdefault(f"{name} {tag} (scalar)", set()).add(str(x.dtype))
            return r
        return g
    for name in orig:
        setattr(core, name, wrap(name))
    try:
        net = Network([784, 128, 10], seed=0, dtype="float32")
        X = rng.integers(0, 256, (640, 784), dtype=np.uint8).T
        y = rng.integers(0, 10, 640)
        gen = net.train(X, y, TrainConfig(epochs=1, batch_size=64, optimizer="adam", learning_rate=0.003))
        for e in gen:
            pass
    finally:
        for name, f in orig.items():
            setattr(core, name, f)
    params = {k: str(v.dtype) for k, v in net.parameters.items()}
    opt_state = Network([784, 128, 10], seed=0, dtype="float32")
    adam = optim.Adam()
    grads = {"d" + k: np.ones_like(v) for k, v in opt_state.parameters.items()}
    adam.step(opt_state.parameters, grads, 0.003)
    seen["Adam state m, v after a float32 step"] = {str(a.dtype) for a in adam.state().values()}
    rows = [[k, ", ".join(sorted(v))] for k, v in sorted(seen.items())]
    rows.append(["parameters after training", ", ".join(sorted(set(params.values())))])
    table("3b. float32 audit: dtypes of every array pynet's float32 step passes through core", ["where", "dtypes"], rows)


# ---------------------------------------------------------------------------------------------
def _matmul(A, B):
    """Recommended core._matmul: einsum without BLAS (Pyodide), np.dot with it."""
    if A.ndim == 2 and B.ndim == 2:
        return np.einsum("ij,jk->ik", A, B)
    return np.dot(A, B)


def patched_layer_forward(H_prev, W, b, activation="relu"):
    try:
        forward = core._FORWARD[activation]
    except (KeyError, TypeError):
        raise ValueError(f"activation must be one of {core.ACTIVATIONS}, got {activation!r}") from None
    Z = _matmul(W, H_prev) + b
    H, activation_memory = forward(Z)
    return H, ((H_prev, W, b), activation_memory)


def patched_linear_backward(dZ, linear_memory, need_dH_prev=True):
    H_prev, W, b = linear_memory
    m = H_prev.shape[1]
    dW = _matmul(dZ, H_prev.T) / m
    db = np.sum(dZ, axis=1, keepdims=True) / m
    dH_prev = _matmul(W.T, dZ) if need_dH_prev else None
    return dH_prev, dW, db


def patched_adam_step(self, parameters, gradients, learning_rate):
    """optim.Adam.step with one reusable buffer per parameter (same operations, same order)."""
    self.t += 1
    step_size = learning_rate * math.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
    if not hasattr(self, "_tmp"):
        self._tmp = {}
    for name, p in parameters.items():
        g = self._gradient(name, parameters, gradients)
        m = self.m.get(name)
        if m is None:
            m = self.m[name] = np.zeros_like(p)
            self.v[name] = np.zeros_like(p)
        v = self.v[name]
        tmp = self._tmp.get(name)
        if tmp is None or tmp.shape != p.shape or tmp.dtype != p.dtype:
            tmp = self._tmp[name] = np.empty_like(p)
        m *= self.beta1
        np.multiply(g, 1 - self.beta1, out=tmp)
        m += tmp
        v *= self.beta2
        np.multiply(g, g, out=tmp)
        tmp *= 1 - self.beta2
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= step_size
        p -= tmp


PATCHES = {
    "einsum": [(core, "layer_forward", patched_layer_forward), (core, "linear_backward", patched_linear_backward)],
    "adam": [(optim.Adam, "step", patched_adam_step)],
}


class Patch:
    def __init__(self, names):
        self.items = [it for n in names for it in PATCHES[n]]
        self.saved = None

    def __enter__(self):
        self.saved = [(obj, attr, getattr(obj, attr)) for obj, attr, _ in self.items]
        for obj, attr, f in self.items:
            setattr(obj, attr, f)

    def __exit__(self, *exc):
        for obj, attr, f in self.saved:
            setattr(obj, attr, f)


def section4(mnist=False):
    """Samples/s per training step: pynet (as is / patched) vs the prototype, interleaved."""
    m = 5000
    if mnist:  # the seed's 5,000-image subset that the Fast recipe trains on
        d = np.load("/repo/dist/data/mnist-small.npz")
        images, labels = d["train_images"][:m], d["train_labels"][:m].astype(np.int64)
    else:
        images = rng.integers(0, 256, (m, 784), dtype=np.uint8)  # (m, 784) as pynet.data gives
        labels = rng.integers(0, 10, m)
    X = images.T  # (784, 5000) samples as columns, as the worker passes
    dims = [784, 128, 10]
    flops_per_sample = 6 * sum(a * c for a, c in zip(dims[:-1], dims[1:])) - 2 * dims[0] * dims[1]
    if mnist:
        configs = [(b, "float32") for b in BATCHES]
    else:
        configs = [(b, "float32") for b in BATCHES] + [(64, "float64"), (128, "float64")]
    steps_per_round = 4
    results = {}
    for b, dtype in configs:
        variants = {}

        def pynet_variant(patches):
            net = Network(dims, seed=0, dtype=dtype)
            cfg = TrainConfig(epochs=1000, batch_size=b, optimizer="adam", learning_rate=0.003, seed=0)
            with Patch(patches):
                gen = net.train(X, labels, cfg)
                next(gen)  # 'start'
            def run(n):
                times = []
                with Patch(patches):
                    for _ in range(n):
                        t = clock()
                        e = next(gen)
                        while e["type"] != "batch":
                            t = clock()
                            e = next(gen)
                        times.append(clock() - t)
                return times
            return run

        def proto_variant(**kw):
            params = core.initialize_parameters(dims, seed=0, dtype=np.dtype(dtype))
            st = FastStep(params, **kw)
            r = np.random.default_rng(0)
            state = {"order": r.permutation(m), "pos": 0}
            def run(n):
                times = []
                for _ in range(n):
                    if state["pos"] + b > m:
                        state["order"], state["pos"] = r.permutation(m), 0
                    t = clock()
                    idx = state["order"][state["pos"] : state["pos"] + b]
                    st.step(images[idx], labels[idx], 0.003)
                    times.append(clock() - t)
                    state["pos"] += b
                return times
            return run

        variants["pynet Network.train (now)"] = pynet_variant([])
        variants["pynet + einsum _matmul patch"] = pynet_variant(["einsum"])
        variants["pynet + Adam out= buffers"] = pynet_variant(["adam"])
        variants["pynet + both patches"] = pynet_variant(["einsum", "adam"])
        variants["prototype: np.dot, allocating"] = proto_variant(kernel="dot", inplace=False)
        variants["prototype: np.dot, in place"] = proto_variant(kernel="dot", inplace=True)
        variants["prototype: einsum, allocating"] = proto_variant(kernel="einsum", inplace=False)
        variants["prototype: einsum, in place (best)"] = proto_variant(kernel="einsum", inplace=True)
        if mnist:
            variants["prototype: einsum, in place, skip all-zero input columns"] = proto_variant(
                kernel="einsum", inplace=True, skip_zero_columns=True)
        for run in variants.values():
            run(6)  # warm-up (wasm tier-up)
        times = {k: [] for k in variants}
        keys = list(variants)
        for _ in range(REPS):
            random.shuffle(keys)
            for k in keys:
                times[k] += variants[k](steps_per_round)
        results[(b, dtype)] = {k: median(v) for k, v in times.items()}
    # bare best rate of the dominant product at each batch, measured now (einsum, contiguous contraction)
    bare = {}
    for b, dtype in configs:
        dt = np.dtype(dtype)
        W1 = rng.standard_normal((128, 784)).astype(dt)
        Xr = rng.random((b, 784)).astype(dt)
        r = bench({"e": lambda: np.einsum("ij,kj->ik", W1, Xr), "d": lambda: np.dot(W1, Xr.T)})
        bare[(b, dtype)] = (gf(2 * 128 * 784 * b, r["e"]), gf(2 * 128 * 784 * b, r["d"]))
    hdr = ["variant"] + [f"{d} b{b}" for b, d in configs]
    rows = []
    base = {c: results[c]["pynet Network.train (now)"] for c in configs}
    for k in variants:
        rows.append([k] + ["%.0f/s (%.2fx)" % (c[0] / results[c][k], base[c] / results[c][k]) for c in configs])
    rows.append(["ms per step: pynet now / best prototype"] + [
        "%.1f / %.1f" % (base[c] * 1e3, results[c]["prototype: einsum, in place (best)"] * 1e3) for c in configs])
    rows.append(["bare rate einsum / np.dot, GFLOPS (fwd W1 x X)"] + ["%.2f / %.2f" % bare[c] for c in configs])
    for k in ("pynet Network.train (now)", "pynet + both patches", "prototype: einsum, in place (best)"):
        rows.append([f"share of bare einsum rate: {k}"] + [
            "%.0f%%" % (100 * flops_per_sample * c[0] / results[c][k] / 1e9 / bare[c][0]) for c in configs])
    what = "MNIST (seed's 5k subset, mnist-small.npz)" if mnist else "random uint8 (784, 5000)"
    table(f"{5 if mnist else 4}. Training step, [784,128,10] adam on {what}: samples/s (speedup vs pynet now)", hdr, rows,
          f"Median per-step time over {REPS} interleaved rounds of {steps_per_round} steps; "
          f"flops per sample = {flops_per_sample}.")
    RESULTS["s5" if mnist else "s4"] = results


def section5():
    section4(mnist=True)


def section6():
    """The prototype against pynet's Network.train, in Pyodide: same batches, same results?"""
    import wasm_step_prototype
    print("\n#### 6. Prototype vs pynet in Pyodide (40 Adam steps of batch 64, same batches)\n")
    print("~~~")
    for dtype in ("float32", "float64"):
        wasm_step_prototype._self_check(dtype=dtype)
    print("~~~")


for s, f in ((1, section1), (2, section2), (3, section3), (4, section4), (5, section5), (6, section6)):
    if s in ARGS["sections"]:
        t = time.perf_counter()
        f()
        print(f"\n<!-- section {s}: {time.perf_counter() - t:.0f} s -->")
        sys.stdout.flush()
`);
