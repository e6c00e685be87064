"""A one-hidden-layer (denoising) autoencoder per run, batched over the K runs of a stack.

The encoder is the net's layer as the net computes it: its weights and biases, then the run's own activation.
The decoder is the autoencoder's own (untied, dropped after the phase): a linear map back to the input, read
through a sigmoid and scored by cross-entropy where the layer's input lies in [0, 1], read as it is and scored
by squared error otherwise (`bounded`, a [K, 1, 1] mask). Both losses are summed over the input's entries and
averaged over the batch. With `corruption` c > 0 each input entry is set to 0 with probability c (masking
noise) before encoding; the loss compares the reconstruction with the clean input (a denoising autoencoder).
Updates are plain SGD at each run's pre-training rate.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from engine.nets import activations
from engine.pretraining.noise import RunNoise


class BatchedAutoencoder:
    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, bounded: torch.Tensor,
                 acts: list[tuple[str, float]], corruption: torch.Tensor, noise: RunNoise):
        k, n_in, n_out = weight.shape
        self.weight = weight.detach().clone().requires_grad_()  # [K, in, out], the net's layer
        self.bias = bias.detach().clone().requires_grad_()  # [K, 1, out]
        bound = 1 / math.sqrt(n_out)  # nn.Linear's default init for the decoder, from each run's generator
        self.decoder_weight = ((noise.uniform(n_out, n_in) * 2 - 1) * bound).requires_grad_()
        self.decoder_bias = torch.zeros(k, 1, n_in, requires_grad=True)
        self.bounded = bounded
        self.acts = acts
        self.keep = 1 - corruption  # [K, 1, 1]: probability an entry survives the masking noise
        self.corrupting = bool((corruption > 0).any())
        self.noise = noise

    def parameters(self) -> list[torch.Tensor]:
        return [self.weight, self.bias, self.decoder_weight, self.decoder_bias]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        s = torch.baddbmm(self.bias, x, self.weight)
        return torch.stack([activations.apply(name, s[k], leak) for k, (name, leak) in enumerate(self.acts)])

    def decode_linear(self, h: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.decoder_bias, h, self.decoder_weight)

    def corrupt(self, x: torch.Tensor) -> torch.Tensor:
        """x with each entry set to 0 with each run's corruption probability."""
        if not self.corrupting:
            return x
        return x * (self.noise.uniform(*x.shape[1:]) < self.keep).to(x.dtype)

    def loss(self, corrupted: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
        """Per-run reconstruction loss [K] of the clean input from the (corrupted) one."""
        linear = self.decode_linear(self.encode(corrupted))
        bounded = self.bounded[:, 0, 0]
        if not bounded.any():  # one loss for every run: the other is not computed
            return 0.5 * (linear - clean).square().sum(-1).mean(-1)
        cross_entropy = F.binary_cross_entropy_with_logits(linear, clean, reduction="none").sum(-1).mean(-1)
        if bounded.all():
            return cross_entropy
        return torch.where(bounded, cross_entropy, 0.5 * (linear - clean).square().sum(-1).mean(-1))

    def step(self, x: torch.Tensor, lr: torch.Tensor) -> None:
        """One SGD step on a batch x [K, B, in] at each run's rate lr [K, 1, 1]."""
        with torch.enable_grad():
            loss = self.loss(self.corrupt(x), x).sum()  # runs are independent: the sum splits per run
            grads = torch.autograd.grad(loss, self.parameters())
        with torch.no_grad():
            for parameter, grad in zip(self.parameters(), grads):
                parameter.sub_(lr * grad)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction of clean x, as the input's values (the sigmoid read where they are bounded)."""
        linear = self.decode_linear(self.encode(x))
        return torch.where(self.bounded, torch.sigmoid(linear), linear)
