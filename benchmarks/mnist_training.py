"""The course's MNIST training through the compiled replay, timed from the first call to the
last step.

    python benchmarks/mnist_training.py [--steps 10000] [--batch 100] [--hidden 50]

The loop of notebook 08 (``docs/notebooks/08_mnist_with_the_compiled_replay.ipynb``): a
two-layer network 784-50-10 (``nn.MLP``, ReLU), softmax cross-entropy with one-hot targets (so
one trace serves every batch), a random mini-batch of 100 at every step, the parameters'
gradients cleared, ``backward()``, and SGD written by hand (lr 0.1), 10,000 steps; the
accuracy on the test images once per epoch. On MNIST's files when they are in the cache
(``data.load_mnist()``; this never downloads them); otherwise on random images of MNIST's
shape (60,000 training and 10,000 test images of 784 pixels in [0, 1], ten classes), which
cost the same per step: the time of a step does not depend on the pixels. The first call
(trace, schedule, first replay) is timed apart from the steps. numpy's BLAS runs on one thread
(threadpoolctl, where installed).
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

import numpy as np
from common import machine, table
from compiled import limit_blas_threads

import tinygrad_edu
from tinygrad_edu import data, nn
from tinygrad_edu.functional import cross_entropy


def images(train: int, test: int, pixels: int) -> tuple[Any, Any, Any, Any, str]:
    """MNIST from the cache if its files are there, else random images of its shape."""
    cached = all((data.mnist_cache() / name).is_file() for name in data.MNIST_SHA256)
    if cached and pixels == 784:
        (x_train, y_train), (x_test, y_test) = data.load_mnist()
        return x_train[:train], y_train[:train], x_test[:test], y_test[:test], "MNIST"
    rng = np.random.default_rng(0)
    x_train, x_test = rng.random((train, pixels)), rng.random((test, pixels))
    y_train, y_test = rng.integers(0, 10, train), rng.integers(0, 10, test)
    return x_train, y_train, x_test, y_test, "random images of MNIST's shape"


def accuracy(model: nn.MLP, X: np.ndarray, labels: np.ndarray) -> float:
    """The share of X that the model classifies right, computed on arrays of its weights."""
    h = X
    for k, layer in enumerate(model.layers):
        W = np.array([[w.data for w in neuron.w] for neuron in layer.neurons])
        b = np.array([neuron.b.data for neuron in layer.neurons])
        h = h @ W.T + b
        h = np.maximum(h, 0.0) if k < len(model.layers) - 1 else h
    return float(np.mean(np.argmax(h, axis=1) == labels))


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000, help="training steps")
    parser.add_argument("--batch", type=int, default=100, help="mini-batch size")
    parser.add_argument("--hidden", type=int, default=50, help="hidden units")
    parser.add_argument("--pixels", type=int, default=784, help="inputs per image (784: MNIST)")
    parser.add_argument("--train", type=int, default=60_000, help="training images")
    args = parser.parse_args(argv)
    blas = limit_blas_threads()
    x_train, y_train, x_test, y_test, source = images(args.train, 10_000, args.pixels)
    t_train = data.one_hot(y_train, 10)
    model = nn.MLP(args.pixels, [args.hidden, 10], init="he", rng=random.Random(0))
    params = model.parameters()
    fast = tinygrad_edu.compile(lambda X, T: cross_entropy([model(row) for row in X], T))
    rng = np.random.default_rng(1)
    per_epoch = max(len(x_train) // args.batch, 1)
    losses, accuracies = [], []
    started = time.perf_counter()
    first_call = 0.0
    for i in range(args.steps):
        mask = rng.choice(len(x_train), args.batch)
        loss = fast(x_train[mask], t_train[mask])
        if i == 0:
            first_call = time.perf_counter() - started
        for p in params:
            p.grad = 0.0
        loss.backward()
        for p in params:
            p.data -= 0.1 * p.grad
        losses.append(loss.data)
        if i % per_epoch == 0:
            accuracies.append(accuracy(model, x_test, y_test))
    total = time.perf_counter() - started
    steps = (total - first_call) / max(args.steps - 1, 1)
    report = f"The course's MNIST training, compiled ({machine()}; {blas}); {source}\n\n" + table(
        [
            "network",
            "steps",
            "first call (s)",
            "ms per step",
            "total (s)",
            "traces",
            "first loss",
            "last loss",
            "test accuracy",
        ],
        [
            [
                f"{args.pixels}-{args.hidden}-10, batch {args.batch}",
                f"{args.steps:,}",
                f"{first_call:.1f}",
                f"{steps * 1e3:.2f}",
                f"{total:.1f}",
                str(fast.traces),
                f"{losses[0]:.4f}",
                f"{losses[-1]:.4f}",
                f"{accuracy(model, x_test, y_test):.3f}",
            ]
        ],
    )
    print(report)
    return report


if __name__ == "__main__":
    main()
