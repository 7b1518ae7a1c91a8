"""Runnable walk-throughs of tinygrad-edu, in the order the course teaches: ``python -m demos``.

``DEMOS`` is the one list of them: the command line, its summary table and the tests all read it.
Each name is a module here (``demos/activations.py``) with a ``run(out, quick) -> Report``; each
also runs alone, ``python -m demos.activations [--out DIR] [--quick]``.
"""

import matplotlib

# No screen needed: pictures go to files. Set before any demo imports pyplot.
matplotlib.use("Agg")

DEMOS: dict[str, str] = {
    "activations": "step, sigmoid, ReLU, tanh and leaky ReLU with their derivatives",
    "forward_pass": "a three-layer network's forward pass on numpy arrays of Values",
    "numerical_gradient": "central differences agree with backpropagation",
    "gradient_descent": "walking downhill, and what too large or too small a step does",
    "computational_graph": "the shopping example: every gradient on the graph",
    "chain_rule": "the chain rule as a product of local derivatives",
    "optimizers": "SGD, Momentum, AdaGrad, RMSprop and Adam on the same valley",
    "mini_batch": "mini-batch Adam learns the three-arm spiral",
    "moons": "micrograd's demo: an MLP separates the two moons",
    "weight_init": "how initialisation shapes the activations of a deep net",
    "newton": "Newton's method with second derivatives from grad, against gradient descent",
    "higher_order": "tanh and its derivatives to the fourth, each a graph of its own",
    "digits": "a two-layer network learns the 8x8 handwritten digits, compiled",
    "overfitting": "a small training set: the gap, then weight decay and dropout closing it",
    "batch_norm": "the same deep network with and without batch normalisation",
    "hyperparameters": "random search of learning rate and weight decay on a validation set",
    "explorer": "a training run replayed in one page: regions, losses, any point's graph",
}
"""Demo name -> what it teaches, in course order."""
