"""``train.compile``: ``torch.compile`` of the network a gradient regime trains.

``true`` compiles the module the training step runs (the data-parallel wrapper included);
evaluation, prediction, checkpoints and ONNX export keep using the plain module, whose
parameters the compiled one shares. ``auto`` first measures a few forward and backward passes
of a copy of the network, eager and compiled, on one training batch (the random state is left
as it was), and compiles only when the compiled passes are at least :data:`GAIN` times faster;
the decision is cached per network, batch, precision, device and machine in
``$SPECC_CACHE_DIR`` (default ``~/.cache/specc``) ``/compile.json``. Where torch.compile cannot
run (no C compiler for its CPU kernels, or torch without dynamo), ``true`` is an error at
``train.compile`` and ``auto`` trains eagerly (so it does when compiling fails during its measurement).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from ..errors import SpecError

#: the speed-up (eager time / compiled time of a training pass) ``auto`` asks for
GAIN = 1.1


def compile_network(regime: Any) -> None:
    """Compile ``regime.network``'s training model as ``regime.cfg.compile`` says."""
    mode = regime.cfg.compile
    if mode is False:
        return
    s = regime.session
    why = unusable(s.device)
    if why is not None:
        if mode is True:
            raise s.locate(SpecError(f"torch.compile cannot run here: {why}",
                                     path=("train", "compile"), received=True,
                                     hint="use compile: auto (falls back to eager) or false"))
        s.progress.note(f"compile: auto: eager ({why})")
        return
    if mode == "auto":
        key = cache_key(regime)
        decision = read_cache().get(key)
        if decision is None:
            decision = measure(regime)
            write_cache(key, decision)
        use = s.any_rank(decision["compile"])  # every process the same way
        s.progress.note(f"compile: auto: eager (torch.compile failed: {decision['error']})"
                        if "error" in decision else
                        f"compile: auto: {'on' if use else 'off'} (eager "
                        f"{decision['eager_ms']:.1f} ms, compiled {decision['compiled_ms']:.1f} "
                        f"ms a pass)")
        if not use:
            return
    import torch

    regime.network.model = regime.model = torch.compile(regime.network.model)


def unusable(device: Any) -> str | None:
    """Why torch.compile cannot run on ``device`` here, or None."""
    import torch

    if not hasattr(torch, "compile"):
        return "this torch has no torch.compile"
    if device.type == "cpu" and not (os.environ.get("CXX") or shutil.which("g++")
                                     or shutil.which("clang++")):
        return "no C++ compiler (g++ or clang++) for the CPU kernels"
    if device.type == "cuda":
        try:
            import triton  # noqa: F401
        except ImportError:
            return "triton is not installed"
    return None


# -- the start-up measurement ---------------------------------------------------------------


def measure(regime: Any, reps: int = 5) -> dict[str, Any]:
    """Time forward + backward passes of a copy of the network on one training batch, eager
    and compiled (``reps`` timed passes each after warm-up); the random state is restored."""
    import copy

    import torch

    s = regime.session
    n = min(regime.batch_size(), regime.data.train.n)
    batch = regime.data.train.batch(torch.arange(n), s.device)
    xs = [batch.inputs[name] for name in regime.graph.inputs]
    if s.channels_last:
        xs = [x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x for x in xs]
    devices = [s.device] if s.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        net = copy.deepcopy(regime.net).train()
        eager = _time_passes(net, xs, regime.precision, reps, s.device)
        t0 = time.perf_counter()
        try:
            compiled = torch.compile(net)
            _time_passes(compiled, xs, regime.precision, 1, s.device)
        except Exception as exc:  # noqa: BLE001 - any compiler failure means: stay eager
            return {"compile": False, "eager_ms": eager * 1e3, "compiled_ms": float("nan"),
                    "warmup_s": 0.0, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
        warmup = time.perf_counter() - t0
        fast = _time_passes(compiled, xs, regime.precision, reps, s.device)
    return {"compile": eager >= GAIN * fast, "eager_ms": eager * 1e3, "compiled_ms": fast * 1e3,
            "warmup_s": round(warmup, 2)}


def _time_passes(model: Any, xs: list[Any], precision: Any, reps: int, device: Any) -> float:
    """Median seconds of a forward + backward pass (after two warm-up passes)."""
    import torch

    times = []
    for i in range(reps + 2):
        t0 = time.perf_counter()
        with precision.autocast():
            out = model(*xs)
        total = sum(o.float().sum() for o in (out if isinstance(out, tuple) else (out,)))
        total.backward()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= 2:
            times.append(time.perf_counter() - t0)
    model.zero_grad(set_to_none=True)
    return statistics.median(times)


# -- the cache ------------------------------------------------------------------------------


def cache_path() -> Path:
    root = os.environ.get("SPECC_CACHE_DIR") or Path.home() / ".cache" / "specc"
    return Path(root) / "compile.json"


def cache_key(regime: Any) -> str:
    """Network, batch size, precision, device, threads and machine of a decision."""
    import torch

    from .regime import network_hash

    s = regime.session
    return "|".join([network_hash(s.spec), str(regime.batch_size()), regime.cfg.precision,
                     str(s.device), str(torch.get_num_threads()), torch.__version__,
                     platform.machine(), _cpu_model()])


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def read_cache() -> dict[str, Any]:
    try:
        data = json.loads(cache_path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_cache(key: str, decision: dict[str, Any]) -> None:
    """Record a decision (best effort: an unwritable cache only costs a new measurement)."""
    path = cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({**read_cache(), key: decision}, indent=1))
        tmp.replace(path)
    except OSError:
        pass
