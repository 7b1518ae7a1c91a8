"""The compiled replay: a function's graph of scalars, traced once and replayed as a numpy program.

The interpreter spends about a microsecond of Python on every node it records and on every node
it walks back through, and almost none of it is arithmetic. ``compile(fn)`` keeps every node a
scalar of the same graph and moves only that bookkeeping out of Python::

    fast = tinygrad_edu.compile(loss_fn)
    for xb, yb in batches:
        loss = fast(xb, yb)          # the same Value-shaped result as loss_fn(xb, yb)
        model.zero_grad()
        loss.backward()              # adds into every parameter's .grad, as the interpreter does
        opt.step()

The package holds the pipeline in its stages, each a module that can be read (and is tested)
alone:

* :mod:`.trace`: ``fn`` run once by the interpreter on Values made from the arguments' floats;
* :mod:`.graph`: the graph it built, read into arrays in topological order (graph arrays);
* :mod:`.grids`: dense multiply-add grids (a layer's weighted sums, however they were
  written) found in the arithmetic, each to be replayed as matrix products;
* :mod:`.sums`: running sums ``t0 + t1 + ...`` (``sum(xs)``, a batch mean) found the same way,
  each set replayed as one step that adds left to right;
* :mod:`.schedule`: the nodes grouped by depth and operation, each group one vectorised step;
* :mod:`.program`: the steps run over a value array, forward and backward, at every call;
* :mod:`.function`: ``compile`` and the compiled function, which keeps a program per key.

How a graph of scalars becomes a few hundred vector operations:

1. **Trace.** The first call runs ``fn`` once in the interpreter, on Values made from the floats
   of its arguments, and reads the graph it built through the public walk
   (``topological_order``, ``op``, ``inputs``, ``data``).
2. **Schedule.** A node's *depth* is the length of the longest path from a leaf to it; every
   input of a node is shallower than the node. So all nodes of one depth and one operation can be
   computed at once, by one numpy call on arrays: a network's products ``w * x`` are one call,
   the relus after them another. Grids and running sums, found first, are one step each. The
   nodes are numbered step after step, so each step's results fill one contiguous slice of a
   single float64 array of values; the parameters come first, a layer's weights row after row.
3. **Gather.** A group's operands are read from that array with an index array per input
   (``values[a]``), or with a plain slice (a view) where the indices are consecutive.
4. **Forward.** ``values[group] = op.on_arrays(values[a], values[b])``, group after group.
5. **Backward.** Groups in reverse: each evaluates its operation's derivative rule, the very
   rule of ``ops.OPS`` that ``backward()`` evaluates on floats, on the arrays, and multiplies by
   the group's gradients. Where one node feeds many nodes of a group (a weight, for every sample
   of the batch), the contributions are summed per node by ``np.add.reduceat`` over the group's
   input indices, sorted once at compile time; where every node appears once, a fancy-index
   ``+=`` does.

A group of fewer than :data:`NARROW` nodes (a long chain, a loss summed sample after sample)
is computed node by node with the interpreter's float rules instead, since a numpy call costs as
much as a few nodes of Python: a graph deeper than it is wide replays no slower than the
interpreter.

No Python object stands for a node in the program: a node is an entry of a few arrays (its
value, its gradient, its position in its group's index arrays), about 24 bytes
(``benchmarks/compiled.py``). Every call computes in arrays of its own, so calls from several
threads at once are safe, an earlier result still backpropagates after a later call, and a call
that fails (a domain error) leaves the earlier results and the model as they were.

What is frozen at trace time, as ``torch.jit.trace`` freezes it:

* **Constants made inside fn** (``2 * x``, ``Value(1.0)``, a number a model turns into a leaf)
  keep the value they had when traced, and so do numbers computed from data during the trace
  (``max(x.data for x in xs)``).
* **Python control flow** (``if x.data > 0:``, a loop over a count taken from the data):
  the replay repeats the branch taken when tracing.
* **Randomness and side effects** that fn's own Python code performs (``random.random()``
  turned into a constant, a list appended to) and a module's train or eval mode happen once,
  while tracing.

Everything else is read afresh at every call: the floats of the arguments, and the ``data`` of
every **parameter** (a leaf Value that existed before the call and that ``fn`` reaches, an
``nn.Parameter`` or any other Value), so an optimiser works unchanged. A Value that was
*computed* before the call (a weight tied as ``w2 = w * 2`` at setup) is read the same way, as
the interpreter reads it: its current ``data``; ``backward()`` still passes its gradient on to
what it was computed from, as the interpreter's does.

The replay gives the interpreter's numbers or raises, except where a trace freezes what it read
(constants made inside ``fn``, Python branches on the data, the objects ``fn`` reaches:
docs/compiled.md lists them; ``check=True`` finds each): the losses' decisions taken from the data
are guarded (below); the program is traced again when the key of
the cache changes, and the key holds, besides the structure of the arguments, the ``training`` flag
of every nn Module ``fn`` reaches (through its closure, globals, a bound method's object...), so
``model.eval()`` traces again; a program whose operations were redefined (``define_op`` run again)
is traced again; the largest score that log-sum-exp and softmax subtract is a ``maximum`` node,
recomputed at every call; and an entry outside an operation's domain raises the interpreter's error,
with the same type and message. Integers (and integer arrays) in the arguments are **static**:
passed to ``fn`` as they are and part of the key of the cache, so a class index may decide the
graph's structure; a call with a new structure (another batch size, other static values) traces
again, and each structure keeps its own program.

Two engine mechanisms carry randomness and side effects through the replay (``nn.Dropout`` and
``nn.BatchNorm1d`` use them, and so can a module of one's own):

* **Drawn leaves**, ``tinygrad_edu.draw(n, sampler)``: leaves whose numbers come from
  ``sampler(n)``. The trace records each draw with its sampler; before every later call the
  program calls the samplers again, in the order fn drew, and gives the leaves the new numbers.
  A dropout mask is new at every step, and the random stream moves exactly as it would under
  the interpreter (the first call uses what the trace drew).
* **Observers**, ``tinygrad_edu.observe(nodes, update)``: the trace records them instead of
  calling them, and every call (under ``no_grad`` too) calls ``update`` with the replayed data
  of those nodes after its forward pass, in the order fn observed: a BatchNorm's running
  statistics move at every compiled step as they would in the interpreter.
* **Guards**, ``tinygrad_edu.guard(nodes, classify)``: a decision that code takes from the data
  (a loss's branch at infinite scores, its check of float targets), recorded with what
  ``classify`` decided when tracing; every call classifies its data again (the guards of one
  kind together), and a call whose data decide otherwise runs in the interpreter.

``check=True`` runs ``fn`` in the interpreter as well on every call and, when the results
differ, names the node where the two graphs first part. That run draws the random numbers (the
replay then computes from the same ones, so both are compared on the same mask, and the stream
still moves once per call) and leaves its observers to the replay (they are called once).
"""

from .function import CACHE_SIZE, Compiled, CompiledValue, compile
from .program import ATOL, RTOL, Program
from .schedule import NARROW, Step

__all__ = [
    "compile",
    "Compiled",
    "CompiledValue",
    "Program",
    "Step",
    "CACHE_SIZE",
    "NARROW",
    "RTOL",
    "ATOL",
]
