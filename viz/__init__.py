"""viz: Graphviz diagrams of tinygrad_edu computation graphs (forward values and gradients).

Reads the graph only through ``Value``'s public attributes: data, grad, label, op, inputs.
"""
