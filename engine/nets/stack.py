"""A stack: K runs whose layer sizes agree, computed as one batched MLP.

Weights of layer l are one tensor [K, in, out] and every linear layer is one `torch.baddbmm` for all K
runs. Each run keeps its own activation, norm, dropout and init; the elementwise parts run once for the
whole stack where the runs agree and once per run, on that run's slice, where they differ.

All parameters of a stack live in one flat buffer, `flat`: the weights layer by layer, then the biases,
then the norm gains and shifts, each tensor 64-byte aligned as if it had been allocated alone.
`weights`, `biases`, `gammas` and `betas` are views of it (leaf tensors, so autograd works through
`forward`), and `flat_grad` holds their gradients in the same layout: an optimizer step, a weight
statistic or an update ratio is a few ops on two buffers, whatever the depth.

Training (`train_forward`, then `train_backward`) has two paths behind one switch, `USE_FAST_PATH`. The
reference is `forward`: the net written plainly and differentiated by autograd; read it to learn what the net
computes. The fast path (fast_path.py) computes the same step by hand, without building a graph, bit for bit
what the reference computes; stacks with batch or layer norm always take the reference.

A probe recorder keeps, when asked, z (linear output), s (activation input) and a (output) of every
hidden layer in a forward pass (`values`), and dL/dz of every layer in a backward pass (`grads`: from the
hand-made backward pass, or a tensor hook under autograd); each part costs one attribute test per layer when
off. A probe step records only the gradients of the training step and the values of a separate forward pass
over the probe set (engine/training/probes.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import pairwise

import torch

from engine.nets import activations
from engine.nets.bugs import Planted
from engine.nets.fast_path import FastPath
from engine.nets.initializers import initial_layer
from engine.vocabulary.config import RunConfig
from engine.vocabulary.layers import hidden_names, layer_names

BN_MOMENTUM = 0.1
NORM_EPS = 1e-5
USE_FAST_PATH = True  # False trains every stack through autograd: slower, the same numbers
ALIGN_BYTES = 64  # where PyTorch's CPU allocator starts every tensor; BLAS output rounding can depend on it


@dataclass
class Recorder:
    """What the probes read at a probe step; empty and off on every other step."""

    values: bool = False  # keep z, s, a and the logits of forward passes (not in eval mode)
    grads: bool = False  # keep dL/dz of backward passes
    z: list[torch.Tensor] = field(default_factory=list)
    s: list[torch.Tensor] = field(default_factory=list)
    a: list[torch.Tensor] = field(default_factory=list)
    grad_z: dict[int, torch.Tensor] = field(default_factory=dict)
    out_z: torch.Tensor | None = None

    def start(self, values: bool = True, grads: bool = True) -> None:
        """Record from now on what is asked for, forgetting what was recorded before."""
        self.values, self.grads = values, grads
        self.z, self.s, self.a, self.grad_z, self.out_z = [], [], [], {}, None

    def stop(self) -> None:
        self.start(values=False, grads=False)

    def keep(self, index: int, z: torch.Tensor) -> None:
        def hook(grad: torch.Tensor) -> None:
            self.grad_z[index] = grad

        z.register_hook(hook)


class Stack:
    """K same-shaped runs; `runs` are their configs, `sizes` the layer sizes [in, h1..hL, out]."""

    def __init__(self, runs: list[RunConfig], sizes: list[int], dropout_seed: int,
                 dtype: torch.dtype | None = None):
        dtype = dtype or torch.get_default_dtype()  # float32 in training; float64 for gradient checks
        self.runs = runs
        self.sizes = sizes
        self.k = k = len(runs)
        self.depth = len(sizes) - 2  # hidden layers
        self.norms = [r.norm for r in runs]
        self.uses_norm = any(n != "none" for n in self.norms)
        self.uniform_norm = len(set(self.norms)) == 1
        widths = sizes[1:-1]
        n = len(sizes) - 1  # linear layers
        shapes = [(k, fan_in, fan_out) for fan_in, fan_out in pairwise(sizes)] + [(k, 1, w) for w in sizes[1:]]
        if self.uses_norm:
            shapes += [(k, 1, w) for w in widths] * 2  # gains, shifts
        counts = [math.prod(shape) for shape in shapes]
        align = max(1, ALIGN_BYTES // torch.empty(0, dtype=dtype).element_size())
        self.offsets: list[int] = []  # of each parameter in `flat`; the gaps between them stay 0
        end = 0
        for count in counts:
            self.offsets.append(end)
            end += -(-count // align) * align
        self.n_weights = self.offsets[n]  # flat[:n_weights] holds the weights
        self.flat = torch.zeros(end, dtype=dtype)  # float64 only for the gradient check (engine/debugging)
        self.flat_grad = torch.zeros(end, dtype=dtype)
        params = [self.flat[o : o + c].view(shape) for o, c, shape in zip(self.offsets, counts, shapes)]
        self.grads = [self.flat_grad[o : o + c].view(shape) for o, c, shape in zip(self.offsets, counts, shapes)]
        self.weights: list[torch.Tensor] = params[:n]
        self.biases: list[torch.Tensor] = params[n : 2 * n]
        self.gammas: list[torch.Tensor] = params[2 * n : 2 * n + len(widths)]
        self.betas: list[torch.Tensor] = params[2 * n + len(widths) :]
        self._initialize()
        for tensor in params:
            tensor.requires_grad_(True)
        self.running_mean = [torch.zeros(k, 1, w, dtype=dtype) for w in widths]
        self.running_var = [torch.ones(k, 1, w, dtype=dtype) for w in widths]
        self.acts = [(r.activation, r.leak) for r in runs]
        self.uniform_act = len(set(self.acts)) == 1
        specs = [activations.SPECS[name] for name, _ in self.acts]
        self.kernels = [(spec.forward_into, spec.backward_into, leak) for spec, (_, leak) in zip(specs, self.acts)]
        drop = torch.tensor([r.dropout for r in runs]).view(k, 1, 1)
        self.drop_p = drop if bool((drop > 0).any()) else None
        self.keep_scale = 1 / (1 - drop)
        self.dropout_generator = torch.Generator().manual_seed(dropout_seed + 7919)
        self.recorder = Recorder()
        self.planted = Planted.for_runs(runs)  # the runs' planted bugs (engine/nets/bugs.py); None: no bug
        # The one switch between the two training paths (see the module docstring).
        self.fast_path = FastPath(self) if USE_FAST_PATH and not self.uses_norm else None
        self._logits: torch.Tensor | None = None  # of the last train_forward on the reference path
        self._zero = torch.zeros(())

    # ------------------------------------------------------------------ parameters

    def _initialize(self) -> None:
        with torch.no_grad():
            for k, run in enumerate(self.runs):
                generator = torch.Generator().manual_seed(run.seed)
                for layer, (fan_in, fan_out) in enumerate(pairwise(self.sizes)):
                    weight, bias = initial_layer(run.init, fan_in, fan_out, run.init_std, run.init_gain, generator)
                    self.weights[layer][k].copy_(weight.T)
                    self.biases[layer][k, 0].copy_(bias)
            for gamma in self.gammas:
                gamma.fill_(1.0)

    def parameters(self) -> list[torch.Tensor]:
        """Views of `flat`, in its order."""
        return self.weights + self.biases + self.gammas + self.betas

    def state_dict(self, k: int) -> dict[str, torch.Tensor]:
        """Run k's parameters in nn.Linear's layout and names (h1.weight, ..., out.bias)."""
        names = layer_names(self.depth)
        state = {}
        for name, weight, bias in zip(names, self.weights, self.biases):
            state[f"{name}.weight"] = weight[k].detach().T.clone()
            state[f"{name}.bias"] = bias[k, 0].detach().clone()
        if self.runs[k].norm != "none":
            for i, name in enumerate(hidden_names(self.depth)):
                state[f"{name}.norm.weight"] = self.gammas[i][k, 0].detach().clone()
                state[f"{name}.norm.bias"] = self.betas[i][k, 0].detach().clone()
                if self.runs[k].norm == "batch":
                    state[f"{name}.norm.running_mean"] = self.running_mean[i][k, 0].clone()
                    state[f"{name}.norm.running_var"] = self.running_var[i][k, 0].clone()
        return state

    # ------------------------------------------------------------------ forward: the reference

    def forward(self, x: torch.Tensor, mode: str = "train") -> torch.Tensor:
        """Logits [K, B, out] for inputs x [B, in]. mode: train, eval, or init (train without side effects)."""
        h = x.unsqueeze(0).expand(self.k, -1, -1)
        recorder = self.recorder
        recording = recorder.values and mode != "eval"
        hooking = recorder.grads
        for layer in range(self.depth):
            z = torch.baddbmm(self.biases[layer], h, self.weights[layer])
            s = self._normalize(layer, z, mode) if self.uses_norm else z
            a = self._activate(s)
            if self.planted is not None:
                a = self.planted.slope_left_out(s, a)
            if recording:
                recorder.z.append(z)
                recorder.s.append(s)
                recorder.a.append(a)
            if hooking and z.requires_grad:
                recorder.keep(layer, z)
            if self.drop_p is not None and mode == "train":  # inverted dropout: eval needs no rescaling
                keep = torch.rand(a.shape, generator=self.dropout_generator) >= self.drop_p
                a = a * keep * self.keep_scale
            h = a
        out = torch.baddbmm(self.biases[-1], h, self.weights[-1])
        if recording:
            recorder.out_z = out
        if hooking and out.requires_grad:
            recorder.keep(self.depth, out)
        return out

    def evaluate(self, x: torch.Tensor) -> torch.Tensor:
        """`forward(x, mode="eval")`'s logits, on the fast path into buffers kept for x that the next call
        overwrites (read them before evaluating x again)."""
        if self.fast_path is not None:
            return self.fast_path.evaluate(x)
        return self.forward(x, mode="eval")

    def _activate(self, s: torch.Tensor) -> torch.Tensor:
        if self.uniform_act:
            name, leak = self.acts[0]
            return activations.apply(name, s, leak)
        if s.requires_grad and torch.is_grad_enabled():
            return _PerRunActivation.apply(s, self)
        a = torch.empty_like(s)
        self.activate_runs(s.unbind(0), a.unbind(0))
        return a

    def activate_runs(self, s_runs: tuple[torch.Tensor, ...], a_runs: tuple[torch.Tensor, ...]) -> None:
        """Each run's own activation of its slice [B, W], into a slice of one [K, B, W] tensor."""
        for (forward_into, _, leak), s_k, a_k in zip(self.kernels, s_runs, a_runs):
            forward_into(s_k, a_k, leak)

    def activation_backward_runs(self, grad: tuple[torch.Tensor, ...], s: tuple[torch.Tensor, ...],
                                  a: tuple[torch.Tensor, ...], out: torch.Tensor,
                                  out_runs: tuple[torch.Tensor, ...]) -> None:
        """dL/ds of each run into its slice of `out`. Autograd summed the runs' slices (each zero outside its
        run) into dL/ds; adding +0 does what that sum did to a -0 entry, and nothing else."""
        for (_, backward_into, leak), g_k, s_k, a_k, o_k in zip(self.kernels, grad, s, a, out_runs):
            backward_into(g_k, s_k, a_k, leak, o_k)
        out.add_(self._zero)

    def _normalize(self, layer: int, z: torch.Tensor, mode: str) -> torch.Tensor:
        if self.uniform_norm:
            return self._norm_slice(self.norms[0], layer, z, slice(None), mode)
        return torch.cat([self._norm_slice(n, layer, z[k : k + 1], slice(k, k + 1), mode)
                          for k, n in enumerate(self.norms)])

    def _norm_slice(self, norm: str, layer: int, z: torch.Tensor, runs: slice, mode: str) -> torch.Tensor:
        """Batch norm over the batch axis, layer norm over the unit axis, each with its own gamma and beta."""
        if norm == "none":
            return z
        gamma, beta = self.gammas[layer][runs], self.betas[layer][runs]
        if norm == "layer":
            var, mean = torch.var_mean(z, dim=-1, keepdim=True, correction=0)
        elif mode == "eval":
            mean, var = self.running_mean[layer][runs], self.running_var[layer][runs]
        else:
            var, mean = torch.var_mean(z, dim=-2, keepdim=True, correction=0)
            if mode == "train":
                with torch.no_grad():
                    n = z.shape[-2]
                    self.running_mean[layer][runs].lerp_(mean, BN_MOMENTUM)
                    self.running_var[layer][runs].lerp_(var * (n / max(n - 1, 1)), BN_MOMENTUM)
        return torch.addcmul(beta, (z - mean) * torch.rsqrt(var + NORM_EPS), gamma)

    # ------------------------------------------------------------------ training

    def train_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of a training step (train mode), ready for `train_backward`. On the fast path the result is a
        buffer that the next step overwrites; pass the same x tensor (refilled) every step."""
        if self.fast_path is not None:
            return self.fast_path.forward(x)
        # The reference: the plain forward pass above, differentiated by autograd.
        with torch.enable_grad():
            self._logits = self.forward(x, mode="train")
        return self._logits.detach()

    def train_backward(self, grad_out: torch.Tensor) -> None:
        """Every parameter's gradient into `flat_grad`, from dL/dlogits of the last `train_forward`."""
        if self.fast_path is not None:
            self.fast_path.backward(grad_out)
        else:
            self._logits.backward(grad_out)
            self._logits = None
            params = self.parameters()
            torch._foreach_copy_(self.grads, [p.grad if p.grad is not None else torch.zeros_like(p) for p in params])
            for p in params:
                p.grad = None
        if self.planted is not None:
            n = len(self.weights)
            self.planted.after_backward(self.grads[:n], self.grads[n:2 * n], grad_out.shape[1], self.grads)

    def release_workspace(self, keep_bytes: int) -> None:
        """Let the fast path drop its training buffers if they hold more than keep_bytes."""
        if self.fast_path is not None:
            self.fast_path.release(keep_bytes)


class _PerRunActivation(torch.autograd.Function):
    """A mixed stack's activations under autograd: one node, where slicing, K results and a stack made 2K+1."""

    @staticmethod
    def forward(ctx, s: torch.Tensor, stack: Stack) -> torch.Tensor:
        a = torch.empty_like(s)
        stack.activate_runs(s.unbind(0), a.unbind(0))
        ctx.stack = stack
        ctx.save_for_backward(s, a)
        return a

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        s, a = ctx.saved_tensors
        out = torch.empty_like(s)
        ctx.stack.activation_backward_runs(grad.unbind(0), s.unbind(0), a.unbind(0), out, out.unbind(0))
        return out, None
