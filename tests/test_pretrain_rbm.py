"""The RBM of engine/pretraining/rbm.py against exact numbers: on an RBM small enough to enumerate every visible
vector, CD-k's gradient approaches the exact log-likelihood gradient as k grows; on digits, pre-training lowers
the free energy of the training digits and every layer's reconstruction error."""

from __future__ import annotations

import itertools

import torch

from engine.api import train
from engine.pretraining.noise import RunNoise
from engine.pretraining.rbm import BatchedRBM

VISIBLE, HIDDEN = 4, 3


def _tiny_rbm(seed: int) -> BatchedRBM:
    generator = torch.Generator().manual_seed(seed)
    weight = torch.randn(1, VISIBLE, HIDDEN, generator=generator) * 2.0  # strong couplings: CD-1 is biased
    rbm = BatchedRBM(weight, torch.randn(1, 1, HIDDEN, generator=generator), torch.tensor([[[False]]]),
                     RunNoise([seed]))
    rbm.visible_bias = torch.randn(1, 1, VISIBLE, generator=generator)
    return rbm


def _exact_weight_gradient(rbm: BatchedRBM, data: torch.Tensor) -> torch.Tensor:
    """d mean log p(data) / dW = E_data[v p(h|v)^T] - E_model[v h^T], the model's by enumerating all 2^4 v."""
    every_v = torch.tensor(list(itertools.product([0.0, 1.0], repeat=VISIBLE))).unsqueeze(0)
    p_v = torch.softmax(-rbm.free_energy(every_v)[0], 0)
    model = torch.einsum("n,ni,nj->ij", p_v, every_v[0], rbm.hidden_probs(every_v)[0])
    positive = data[0].T @ rbm.hidden_probs(data)[0] / data.shape[1]
    return positive - model


def test_cd_k_approaches_the_exact_log_likelihood_gradient_as_k_grows():
    for seed in range(3):
        rbm = _tiny_rbm(seed)
        data = torch.tensor([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0], [1.0, 0.0, 1.0, 0.0]])
        chains = data.repeat(20_000, 1).unsqueeze(0)  # many chains from the data: the estimate's noise is small
        exact = _exact_weight_gradient(rbm, chains)
        errors = {}
        for k in (1, 3, 10, 100):
            d_weight, _, _ = rbm.gradient(chains, k, persistent=False)
            errors[k] = float((d_weight[0] - exact).norm())
        assert errors[1] > errors[3] > errors[100], (seed, errors)
        assert errors[10] > errors[100] or errors[10] < 0.05, (seed, errors)
        assert errors[100] < 0.25 * errors[1] and errors[100] < 0.05, (seed, errors)


def test_free_energy_and_reconstruction_error_fall_on_digits():
    for persistent in ("false", "true"):
        result = train({"dataset": "digits", "hidden": "2x32", "activation": "sigmoid", "batch_size": "64",
                        "steps": "5", "pretrain": "rbm", "pretrain_epochs": "5", "persistent": persistent})
        table = result.pretrain
        for layer in ("h1", "h2"):
            rows = table[table.layer == layer]
            error = rows[rows.metric == "reconstruction_error"].set_index("epoch").value
            energy = rows[rows.metric == "free_energy"].set_index("epoch").value
            assert error[5] < error[0], (persistent, layer, error.tolist())
            if layer == "h1":  # the free energy of the digits themselves (higher layers' codes move as they train)
                assert energy[5] < energy[0] - 1, (persistent, layer, energy.tolist())
        samples = result.pretrain  # the table is complete: a free-energy gap and a probe per layer
        assert set(samples.metric) == {"reconstruction_error", "free_energy", "free_energy_gap", "probe_accuracy"}
