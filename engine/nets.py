"""A stack: K runs whose layer sizes agree, computed as one batched MLP.

Weights of layer l live in one leaf tensor [K, in, out] and every linear layer is one
`torch.baddbmm` for all K runs. Each run keeps its own activation, norm, dropout and init; the
elementwise parts run once for the whole stack where the runs agree and per run where they differ.
A probe recorder, when active, keeps z (linear output), s (activation input) and a (output) of every
hidden layer, and dL/dz through a tensor hook; when inactive it costs one attribute test per layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import torch

from engine import activations
from engine.config import RunConfig
from engine.initializers import initial_layer

BN_MOMENTUM = 0.1
NORM_EPS = 1e-5


@dataclass
class Recorder:
    """What the probes read at a probe step; empty and inactive on every other step."""

    active: bool = False
    z: list[torch.Tensor] = field(default_factory=list)
    s: list[torch.Tensor] = field(default_factory=list)
    a: list[torch.Tensor] = field(default_factory=list)
    grad_z: dict[int, torch.Tensor] = field(default_factory=dict)
    out_z: torch.Tensor | None = None

    def start(self) -> None:
        self.active = True
        self.z, self.s, self.a, self.grad_z, self.out_z = [], [], [], {}, None

    def stop(self) -> None:
        self.active = False
        self.z, self.s, self.a, self.grad_z, self.out_z = [], [], [], {}, None

    def keep(self, index: int, z: torch.Tensor) -> None:
        def hook(grad: torch.Tensor) -> None:
            self.grad_z[index] = grad

        z.register_hook(hook)


class Stack:
    """K same-shaped runs; `runs` are their configs, `sizes` the layer sizes [in, h1..hL, out]."""

    def __init__(self, runs: list[RunConfig], sizes: list[int], dropout_seed: int):
        self.runs = runs
        self.sizes = sizes
        self.k = len(runs)
        self.depth = len(sizes) - 2  # hidden layers
        self.weights: list[torch.Tensor] = []
        self.biases: list[torch.Tensor] = []
        for fan_in, fan_out in pairwise(sizes):
            self.weights.append(torch.empty(self.k, fan_in, fan_out))
            self.biases.append(torch.empty(self.k, 1, fan_out))
        self._initialize()
        for tensor in self.weights + self.biases:
            tensor.requires_grad_(True)
        self.norms = [r.norm for r in runs]
        self.uses_norm = any(n != "none" for n in self.norms)
        widths = sizes[1:-1]
        self.gammas = [torch.ones(self.k, 1, w, requires_grad=True) for w in widths] if self.uses_norm else []
        self.betas = [torch.zeros(self.k, 1, w, requires_grad=True) for w in widths] if self.uses_norm else []
        self.running_mean = [torch.zeros(self.k, 1, w) for w in widths]
        self.running_var = [torch.ones(self.k, 1, w) for w in widths]
        self.acts = [(r.activation, r.leak) for r in runs]
        self.uniform_act = len(set(self.acts)) == 1
        self.uniform_norm = len(set(self.norms)) == 1
        drop = torch.tensor([r.dropout for r in runs]).view(self.k, 1, 1)
        self.drop_p = drop if bool((drop > 0).any()) else None
        self.keep_scale = 1 / (1 - drop)
        self.dropout_generator = torch.Generator().manual_seed(dropout_seed + 7919)
        self.recorder = Recorder()

    # ------------------------------------------------------------------ parameters

    def _initialize(self) -> None:
        with torch.no_grad():
            for k, run in enumerate(self.runs):
                generator = torch.Generator().manual_seed(run.seed)
                for layer, (fan_in, fan_out) in enumerate(pairwise(self.sizes)):
                    weight, bias = initial_layer(run.init, fan_in, fan_out, run.init_std, run.init_gain, generator)
                    self.weights[layer][k].copy_(weight.T)
                    self.biases[layer][k, 0].copy_(bias)

    def parameters(self) -> list[torch.Tensor]:
        return self.weights + self.biases + self.gammas + self.betas

    def state_dict(self, k: int) -> dict[str, torch.Tensor]:
        """Run k's parameters in nn.Linear's layout and names (h1.weight, ..., out.bias)."""
        names = [f"h{i}" for i in range(1, self.depth + 1)] + ["out"]
        state = {}
        for name, weight, bias in zip(names, self.weights, self.biases):
            state[f"{name}.weight"] = weight[k].detach().T.clone()
            state[f"{name}.bias"] = bias[k, 0].detach().clone()
        if self.runs[k].norm != "none":
            for i in range(self.depth):
                state[f"h{i + 1}.norm.weight"] = self.gammas[i][k, 0].detach().clone()
                state[f"h{i + 1}.norm.bias"] = self.betas[i][k, 0].detach().clone()
                if self.runs[k].norm == "batch":
                    state[f"h{i + 1}.norm.running_mean"] = self.running_mean[i][k, 0].clone()
                    state[f"h{i + 1}.norm.running_var"] = self.running_var[i][k, 0].clone()
        return state

    # ------------------------------------------------------------------ forward

    def forward(self, x: torch.Tensor, mode: str = "train") -> torch.Tensor:
        """Logits [K, B, out] for inputs x [B, in]. mode: train, eval, or init (train without side effects)."""
        h = x.unsqueeze(0).expand(self.k, -1, -1)
        recorder = self.recorder
        recording = recorder.active and mode != "eval"
        for layer in range(self.depth):
            z = torch.baddbmm(self.biases[layer], h, self.weights[layer])
            s = self._normalize(layer, z, mode) if self.uses_norm else z
            a = self._activate(s)
            if recording:
                recorder.z.append(z)
                recorder.s.append(s)
                recorder.a.append(a)
                if z.requires_grad:
                    recorder.keep(layer, z)
            if self.drop_p is not None and mode == "train":  # inverted dropout: eval needs no rescaling
                keep = torch.rand(a.shape, generator=self.dropout_generator) >= self.drop_p
                a = a * keep * self.keep_scale
            h = a
        out = torch.baddbmm(self.biases[-1], h, self.weights[-1])
        if recording:
            recorder.out_z = out
            if out.requires_grad:
                recorder.keep(self.depth, out)
        return out

    def _activate(self, s: torch.Tensor) -> torch.Tensor:
        if self.uniform_act:
            name, leak = self.acts[0]
            return activations.apply(name, s, leak)
        return torch.stack([activations.apply(name, s[k], leak) for k, (name, leak) in enumerate(self.acts)])

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
