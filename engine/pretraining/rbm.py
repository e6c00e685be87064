"""A restricted Boltzmann machine per run, batched over the K runs of a stack, trained by CD-k or persistent CD.

Hidden units are Bernoulli. Visible units are Bernoulli where the layer's input lies in [0, 1] (digits'
pixels scaled there, the codes of sigmoid layers) and Gaussian with unit variance otherwise (standardized
inputs, tanh codes): `gaussian` is a [K, 1, 1] mask. Energies, per example:

    Bernoulli visible   E(v, h) = -v.b - h.c - v W h
    Gaussian visible    E(v, h) = |v - b|^2 / 2 - h.c - v W h
    free energy         F(v) = -sum_j softplus(c_j + (v W)_j) + (|v - b|^2 / 2  or  -v.b)

The contrastive-divergence update is (v0^T p(h|v0) - vk^T p(h|vk)) / B for W, and likewise for the biases,
where vk is the visible state after k Gibbs steps from the data (CD-k) or from the persistent chains (PCD):
a sample, or in training CD-k's last step the mean E[v|h] (see `step`).
W [K, visible, hidden] and the hidden biases c are the net's layer: they are copied into it after the phase.
"""

from __future__ import annotations

import torch

from engine.pretraining.noise import RunNoise


class BatchedRBM:
    def __init__(self, weight: torch.Tensor, hidden_bias: torch.Tensor, gaussian: torch.Tensor, noise: RunNoise):
        self.weight = weight.detach().clone()  # [K, visible, hidden]
        self.hidden_bias = hidden_bias.detach().clone()  # [K, 1, hidden]
        self.visible_bias = torch.zeros(weight.shape[0], 1, weight.shape[1])
        self.gaussian = gaussian  # [K, 1, 1] bool
        self.noise = noise
        self.chains: torch.Tensor | None = None  # persistent CD's negative particles [K, B, visible]

    def hidden_probs(self, v: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(torch.baddbmm(self.hidden_bias, v, self.weight))

    def visible_mean(self, h: torch.Tensor) -> torch.Tensor:
        """E[v | h]: the linear input itself (Gaussian, unit variance) or its sigmoid (Bernoulli)."""
        linear = torch.baddbmm(self.visible_bias, h, self.weight.transpose(1, 2))
        return torch.where(self.gaussian, linear, torch.sigmoid(linear))

    def sample_visible(self, h: torch.Tensor) -> torch.Tensor:
        mean = self.visible_mean(h)
        gaussian_sample = mean + self.noise.normal(*mean.shape[1:])
        return torch.where(self.gaussian, gaussian_sample, self.noise.bernoulli(mean))

    def gibbs(self, v: torch.Tensor, steps: int, mean_last: bool = False) -> torch.Tensor:
        """v -> h ~ p(h|v) -> v ~ p(v|h), `steps` times; with `mean_last`, the last v is E[v|h], not a sample."""
        for step in range(steps):
            h = self.noise.bernoulli(self.hidden_probs(v))
            v = self.visible_mean(h) if mean_last and step == steps - 1 else self.sample_visible(h)
        return v

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """F(v) per example [K, B] (lower: more probable under the model)."""
        hidden_term = torch.nn.functional.softplus(torch.baddbmm(self.hidden_bias, v, self.weight)).sum(-1)
        gaussian_term = 0.5 * (v - self.visible_bias).square().sum(-1)
        bernoulli_term = -(v * self.visible_bias).sum(-1)
        return -hidden_term + torch.where(self.gaussian[:, :, 0], gaussian_term, bernoulli_term)

    def gradient(self, v0: torch.Tensor, k: int, persistent: bool,
                 mean_last: bool = False) -> tuple[torch.Tensor, ...]:
        """CD-k's (or PCD's) estimate of d log-likelihood / d (W, visible bias, hidden bias), averaged over the
        batch: the data's statistics minus those of the chains' samples after k Gibbs steps."""
        start = v0
        if persistent:
            if self.chains is None or self.chains.shape != v0.shape:
                self.chains = v0.clone()  # PCD starts its particles at data
            start = self.chains
        vk = self.gibbs(start, k, mean_last and not persistent)
        if persistent:
            self.chains = vk
        h0, hk = self.hidden_probs(v0), self.hidden_probs(vk)
        b = v0.shape[1]
        d_weight = (torch.bmm(v0.transpose(1, 2), h0) - torch.bmm(vk.transpose(1, 2), hk)) / b
        d_visible = (v0 - vk).mean(1, keepdim=True)
        d_hidden = (h0 - hk).mean(1, keepdim=True)
        return d_weight, d_visible, d_hidden

    def step(self, v0: torch.Tensor, lr: torch.Tensor, k: int, persistent: bool) -> None:
        """One plain gradient-ascent step of each run's rate lr [K, 1, 1]. CD's last visible state is E[v|h]
        rather than a sample (less sampling noise, as Hinton's practical guide advises; on digits it lifts
        fine-tuning from 82-92% to 90-94% at seeds 0-4); persistent chains stay samples."""
        d_weight, d_visible, d_hidden = self.gradient(v0, k, persistent, mean_last=True)
        self.weight.add_(lr * d_weight)
        self.visible_bias.add_(lr * d_visible)
        self.hidden_bias.add_(lr * d_hidden)

    def reconstruct(self, v: torch.Tensor) -> torch.Tensor:
        """The mean-field reconstruction E[v | h = p(h|v)]: what the reconstruction error compares to v."""
        return self.visible_mean(self.hidden_probs(v))

    def fantasies(self, count: int, steps: int) -> torch.Tensor:
        """[K, count, visible]: the visible means after `steps` Gibbs steps from noise, samples of the model."""
        shape = (count, self.weight.shape[1])
        start = torch.where(self.gaussian, self.noise.normal(*shape), self.noise.bernoulli(torch.full(
            (self.weight.shape[0], *shape), 0.5)))
        v = self.gibbs(start, steps)
        return self.visible_mean(self.noise.bernoulli(self.hidden_probs(v)))
