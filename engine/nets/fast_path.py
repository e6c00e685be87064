"""The fast path: a training step of a norm-free stack without autograd, bit for bit what autograd computes.

Read `Stack.forward` (stack.py) first: it is the reference, the net written plainly and differentiated by
autograd. This module computes the same training step by hand. The forward pass writes into buffers made once
per batch size; the backward pass makes the very ATen calls that autograd's formulas make (derivatives.yaml:
baddbmm, the activations, dropout's two products), so every number is autograd's, bit for bit, without a
graph to build and walk each step (2-2.9x faster per step on the small nets this app trains).
`tests/test_exactness.py` pins the two paths together; `stack.USE_FAST_PATH` switches this one off.

The fast path needs no normalization layer: batch and layer norm train through autograd.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from engine.nets.stack import Stack


class FastPath:
    """The hand-made forward and backward pass of one stack, with the buffers of its current batch size."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.workspace: Workspace | None = None
        self.eval_workspace: Workspace | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of a training step (train mode) into a buffer that the next step overwrites; pass the same
        x tensor (refilled) every step, so the buffers are made once."""
        ws = self.workspace
        if ws is None or ws.x is not x:
            ws = self.workspace = Workspace(self.stack, x)
        return self._forward(ws, training=True)

    def evaluate(self, x: torch.Tensor) -> torch.Tensor:
        """Eval-mode logits (no dropout, nothing recorded) into buffers kept for x, the validation inputs, which
        the next call overwrites. A big stack's validation pass then writes into memory it has touched before:
        fresh multi-megabyte outputs cost page faults (a search's 64 runs on 539 points: 27 ms a pass, not 36)."""
        ws = self.eval_workspace
        if ws is None or ws.x is not x:
            ws = self.eval_workspace = Workspace(self.stack, x, training=False)
        return self._forward(ws, training=False)

    def _forward(self, ws: Workspace, training: bool) -> torch.Tensor:
        stack = self.stack
        recorder = stack.recorder
        recording = recorder.values and training
        for layer in range(stack.depth):
            z, a = ws.z[layer], ws.a[layer]
            torch.baddbmm(ws.biases[layer], ws.inputs[layer], ws.weights[layer], out=z)
            if stack.uniform_act:
                if a is not z:  # linear: a is z
                    forward_into, _, leak = stack.kernels[0]
                    forward_into(z, a, leak)
            else:
                stack.activate_runs(ws.z_runs[layer], ws.a_runs[layer])
            if recording:
                recorder.z.append(z)
                recorder.s.append(z)
                recorder.a.append(a)
            if stack.drop_p is not None and training:  # out = a * keep * keep_scale, as `Stack.forward` does
                noise, keep, masked = ws.dropout[layer]
                torch.rand(noise.shape, generator=stack.dropout_generator, out=noise)
                torch.ge(noise, stack.drop_p, out=keep)
                torch.mul(a, keep, out=masked)
                torch.mul(masked, stack.keep_scale, out=ws.inputs[layer + 1])
        torch.baddbmm(ws.biases[-1], ws.inputs[-1], ws.weights[-1], out=ws.logits)
        if recording:
            recorder.out_z = ws.logits
        return ws.logits

    def backward(self, grad_out: torch.Tensor) -> None:
        """Every parameter's gradient into `stack.flat_grad`, from dL/dlogits of the last `forward`:
        autograd's formulas for baddbmm (bias: the gradient summed to the bias's shape; batch1: grad @ W^T;
        batch2: h^T @ grad), dropout and the activations, by hand."""
        stack = self.stack
        ws = self.workspace
        recorder = stack.recorder
        recording = recorder.grads
        if recording:
            recorder.grad_z[stack.depth] = grad_out
        grad = grad_out
        for layer in range(stack.depth, -1, -1):
            torch.bmm(ws.inputs_t[layer], grad, out=stack.grads[layer])
            bias_grad = stack.grads[stack.depth + 1 + layer]
            if ws.batch > 1:
                torch.sum(grad, dim=1, keepdim=True, out=bias_grad)
            else:  # nothing to sum: autograd hands the gradient over as it is
                bias_grad.copy_(grad)
            if layer == 0:
                break
            hidden = layer - 1
            # Each result goes to whichever of its width's two buffers the step is not reading (at a probe
            # step to new tensors, which the probe reads after the pass).
            grad_a, grad_a_runs = ws.buffer(hidden, grad, recording)
            torch.bmm(grad, ws.weights_t[layer], out=grad_a)
            if stack.drop_p is not None:  # out = a * keep * keep_scale
                _, keep, scratch = ws.dropout[hidden]
                torch.mul(grad_a, stack.keep_scale, out=scratch)
                grad_a, grad_a_runs = ws.buffer(hidden, grad_a, recording)
                torch.mul(scratch, keep, out=grad_a)
            if stack.uniform_act and ws.a[hidden] is ws.z[hidden]:  # linear: the gradient passes as it is
                grad = grad_a
            else:
                grad, grad_runs = ws.buffer(hidden, grad_a, recording)
                z, a = ws.z[hidden], ws.a[hidden]
                if stack.uniform_act:
                    _, backward_into, leak = stack.kernels[0]
                    backward_into(grad_a, z, a, leak, grad)
                else:
                    stack.activation_backward_runs(grad_a_runs, ws.z_runs[hidden], ws.a_runs[hidden], grad,
                                                   grad_runs)
                if stack.planted is not None:  # a planted bug (engine/nets/bugs.py) may undo the slope
                    stack.planted.skip_slope(grad, grad_a)
            if recording:
                recorder.grad_z[hidden] = grad

    def release(self, keep_bytes: int) -> None:
        """Drop the buffers if they hold more than keep_bytes (made again by the next step), so an idle group
        of big nets holds no activations, as between autograd steps."""
        if self.workspace is not None and self.workspace.nbytes > keep_bytes:
            self.workspace = None
        if self.eval_workspace is not None and self.eval_workspace.nbytes > keep_bytes:
            self.eval_workspace = None


class Workspace:
    """The buffers of a training step for one input buffer x [B, in], and their views (per run, transposed),
    made once: a step allocates nothing and makes no views. Per hidden layer: z and a (the backward pass reads
    them) and dropout's noise, mask, scratch and output; per width, two buffers that the backward pass's
    gradients take turns in. An eval pass (`training=False`) needs only z, a and the logits."""

    def __init__(self, stack: Stack, x: torch.Tensor, training: bool = True):
        k, batch = stack.k, x.shape[0]
        self.x, self.batch = x, batch
        self.inputs = [x.unsqueeze(0).expand(k, -1, -1)]  # of each linear layer
        self.z: list[torch.Tensor] = []
        self.a: list[torch.Tensor] = []
        self.dropout: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []  # noise, keep, scratch
        linear = stack.uniform_act and stack.acts[0][0] == "linear"
        widths = stack.sizes[1:-1]
        dtype = stack.flat.dtype
        for width in widths:
            shape = (k, batch, width)
            z = torch.empty(shape, dtype=dtype)
            self.z.append(z)
            self.a.append(z if linear else torch.empty(shape, dtype=dtype))
            if stack.drop_p is not None and training:
                self.dropout.append((torch.empty(shape, dtype=dtype), torch.empty(shape, dtype=torch.bool),
                                     torch.empty(shape, dtype=dtype)))
                self.inputs.append(torch.empty(shape, dtype=dtype))
            else:
                self.inputs.append(self.a[-1])
        self.logits = torch.empty(k, batch, stack.sizes[-1], dtype=dtype)
        self.inputs_t = [h.transpose(1, 2) for h in self.inputs]
        # Detached views of the parameters: nothing here requires grad, so no op records a graph.
        self.weights = [w.detach() for w in stack.weights]
        self.biases = [b.detach() for b in stack.biases]
        self.weights_t = [w.transpose(1, 2) for w in self.weights]
        self.z_runs = [t.unbind(0) for t in self.z]
        self.a_runs = [t.unbind(0) for t in self.a]
        self.widths = widths
        self.pairs = {}
        for width in dict.fromkeys(widths) if training else ():
            pair = (torch.empty(k, batch, width, dtype=dtype), torch.empty(k, batch, width, dtype=dtype))
            self.pairs[width] = tuple((t, t.unbind(0)) for t in pair)
        tensors = self.z + self.a + [t for d in self.dropout for t in d] + self.inputs[1:] + [self.logits]
        tensors += [t for pair in self.pairs.values() for t, _ in pair]
        self.nbytes = sum(t.untyped_storage().nbytes() for t in {id(t): t for t in tensors}.values())

    def buffer(self, hidden: int, busy: torch.Tensor, fresh: bool) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """A gradient buffer of hidden layer `hidden`'s shape that is not `busy`, with its per-run views; a
        new tensor if `fresh`."""
        if fresh:
            t = torch.empty_like(self.z[hidden])
            return t, t.unbind(0)
        first, second = self.pairs[self.widths[hidden]]
        return second if busy is first[0] else first
