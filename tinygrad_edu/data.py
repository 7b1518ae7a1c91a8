"""Data: toy two-dimensional sets, the handwritten digits, MNIST, and the usual preparation.

Toy sets. Each generator is ``make_NAME(n_samples, *, seed=None, ...) -> (X, y)``: ``X`` is a
float array of shape (n_samples, 2), ``y`` an int array of class labels 0, 1, ... of shape
(n_samples,). The samples come in random order (a model that sees them in batches should not
get one class first). The same seed gives the same arrays; ``seed=None`` draws fresh ones.

Real digits. ``load_digits()`` gives scikit-learn's 8x8 digits (no network needed);
``load_mnist()`` reads the 28x28 MNIST files, downloading them once into a cache folder.

Preparation. ``one_hot``, ``train_test_split``, ``standardize``, ``whiten`` and ``batches``.

To feed a network, turn a row into plain floats (``X.tolist()``): floats are faster than numpy
scalars in the engine. For micrograd's SVM loss, the labels become -1 and +1 as ``2*y - 1``.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import math
import os
import secrets
import sys
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .files import sync_directory, sync_file

__all__ = [
    "make_moons",
    "make_circles",
    "make_spiral",
    "make_blobs",
    "make_yinyang",
    "batches",
    "DATASETS",
    "load_digits",
    "load_mnist",
    "mnist_cache",
    "MNIST_URL",
    "MNIST_SHA256",
    "one_hot",
    "train_test_split",
    "standardize",
    "whiten",
]

Arrays = tuple[np.ndarray, np.ndarray]


def _check(n_samples: int, noise: float, smallest: int = 1) -> None:
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)):
        raise TypeError(f"n_samples must be an int, not {type(n_samples).__name__}")
    if n_samples < smallest:
        raise ValueError(f"n_samples must be at least {smallest}, got {n_samples}")
    if not (isinstance(noise, (int, float)) and math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")


def _finish(X: np.ndarray, y: np.ndarray, noise: float, rng: np.random.Generator) -> Arrays:
    """Add Gaussian noise N(0, noise²) to every coordinate and shuffle the samples."""
    X = X + rng.normal(0.0, noise, size=X.shape)
    order = rng.permutation(len(X))
    return X[order].astype(np.float64), y[order].astype(np.int64)


def make_moons(n_samples: int = 100, *, noise: float = 0.1, seed: int | None = None) -> Arrays:
    """Two interleaving half circles, labels 0 (upper) and 1 (lower).

    Upper moon: (cos t, sin t); lower moon: (1 - cos t, 0.5 - sin t); t evenly spaced in
    [0, π], n_samples // 2 points on the upper one and the rest on the lower.
    """
    _check(n_samples, noise, smallest=2)
    rng = np.random.default_rng(seed)
    n_upper = n_samples // 2
    t_upper = np.linspace(0.0, math.pi, n_upper)
    t_lower = np.linspace(0.0, math.pi, n_samples - n_upper)
    upper = np.column_stack([np.cos(t_upper), np.sin(t_upper)])
    lower = np.column_stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)])
    y = np.repeat([0, 1], [n_upper, n_samples - n_upper])
    return _finish(np.vstack([upper, lower]), y, noise, rng)


def make_circles(
    n_samples: int = 100, *, noise: float = 0.05, factor: float = 0.5, seed: int | None = None
) -> Arrays:
    """A small circle inside a large one: label 0 on radius 1, label 1 on radius ``factor``.

    Angles evenly spaced in [0, 2π); n_samples // 2 points on the outer circle.
    """
    _check(n_samples, noise, smallest=2)
    if not (isinstance(factor, (int, float)) and 0 < factor < 1):
        raise ValueError(f"factor must be between 0 and 1 (exclusive), got {factor!r}")
    rng = np.random.default_rng(seed)
    n_outer = n_samples // 2
    t_outer = np.linspace(0.0, 2 * math.pi, n_outer, endpoint=False)
    t_inner = np.linspace(0.0, 2 * math.pi, n_samples - n_outer, endpoint=False)
    outer = np.column_stack([np.cos(t_outer), np.sin(t_outer)])
    inner = factor * np.column_stack([np.cos(t_inner), np.sin(t_inner)])
    y = np.repeat([0, 1], [n_outer, n_samples - n_outer])
    return _finish(np.vstack([outer, inner]), y, noise, rng)


def make_spiral(
    n_samples: int = 150, *, classes: int = 3, noise: float = 0.2, seed: int | None = None
) -> Arrays:
    """``classes`` interleaved spiral arms (the CS231n data set), labels 0 .. classes-1.

    Arm k: radius r from 0 to 1 and angle θ = 4k + 4r, plus N(0, noise²) on θ (the noise bends
    the angle, not the coordinates); the point is (r·sin θ, r·cos θ). The samples are shared
    out as evenly as possible (the first n_samples % classes arms get one more).
    """
    _check(n_samples, noise)
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise ValueError(f"classes must be a positive int, got {classes!r}")
    rng = np.random.default_rng(seed)
    sizes = [n_samples // classes + (k < n_samples % classes) for k in range(classes)]
    points, labels = [], []
    for k, size in enumerate(sizes):
        r = np.linspace(0.0, 1.0, size)
        theta = 4.0 * k + 4.0 * r + rng.normal(0.0, noise, size=size)
        points.append(np.column_stack([r * np.sin(theta), r * np.cos(theta)]))
        labels.append(np.full(size, k))
    return _finish(np.vstack(points), np.concatenate(labels), 0.0, rng)


def make_blobs(
    n_samples: int = 100,
    *,
    centers: int | Sequence[Sequence[float]] = 3,
    noise: float = 1.0,
    seed: int | None = None,
) -> Arrays:
    """Gaussian clusters: label k around center k, each coordinate with standard deviation
    ``noise``.

    ``centers`` is a list of (x, y) points, or a count k: then the centers sit evenly on a
    circle of radius 4, center k at angle 2πk/k_total. Samples are shared out as evenly as
    possible.
    """
    _check(n_samples, noise)
    if isinstance(centers, int) and not isinstance(centers, bool):
        if centers < 1:
            raise ValueError(f"centers must be at least 1, got {centers}")
        angles = 2 * math.pi * np.arange(centers) / centers
        middle = 4.0 * np.column_stack([np.cos(angles), np.sin(angles)])
    else:
        middle = np.asarray(centers, dtype=np.float64)
        if middle.ndim != 2 or middle.shape[1] != 2 or len(middle) == 0:
            raise ValueError(f"centers must be a count or a list of (x, y) points, got {centers!r}")
    rng = np.random.default_rng(seed)
    k_total = len(middle)
    sizes = [n_samples // k_total + (k < n_samples % k_total) for k in range(k_total)]
    y = np.repeat(np.arange(k_total), sizes)
    return _finish(middle[y], y, noise, rng)


YIN, YANG, DOTS = 0, 1, 2
"""make_yinyang's three class labels."""


def _yinyang_class(points: np.ndarray) -> np.ndarray:
    """The yin-yang class of each point (x, y) of the unit square, -1 outside the symbol.

    The symbol is the disc of radius 1/2 around (1/2, 1/2). Its S-shaped middle line is two
    half circles of radius 1/4, around A = (1/4, 1/2) and B = (3/4, 1/2): yin is the upper
    half outside the circle around B plus the whole circle around A; yang is the rest of the
    disc. The dots are the discs of radius 1/10 around A and B (one inside each half).
    """
    x, y = points[:, 0], points[:, 1]
    from_middle = np.hypot(x - 0.5, y - 0.5)
    from_a = np.hypot(x - 0.25, y - 0.5)
    from_b = np.hypot(x - 0.75, y - 0.5)
    yin = (from_a <= 0.25) | ((y > 0.5) & (from_b > 0.25))
    label = np.where(yin, YIN, YANG)
    label = np.where((from_a <= 0.1) | (from_b <= 0.1), DOTS, label)
    return np.where(from_middle <= 0.5, label, -1)


def make_yinyang(n_samples: int = 300, *, seed: int | None = None) -> Arrays:
    """The yin-yang data set (Kriener et al., 2021): three classes in the unit square,
    0 = yin, 1 = yang, 2 = the two dots, that a linear model cannot separate.

    The symbol fills the disc of radius 1/2 around (1/2, 1/2); its S-shaped middle line is two
    half circles of radius 1/4 around A = (1/4, 1/2) and B = (3/4, 1/2). Yin is the upper half
    outside the circle around B, together with the circle around A; yang is the rest; the dots
    are the discs of radius 1/10 around A and B. The classes come in equal numbers (the first
    n_samples % 3 get one more), each point uniform over its class's region (drawn uniformly
    in the square and kept if its class still needs points). X lies in [0, 1]^2.
    """
    _check(n_samples, 0.0)
    rng = np.random.default_rng(seed)
    sizes = [n_samples // 3 + (k < n_samples % 3) for k in range(3)]
    kept: list[list[np.ndarray]] = [[], [], []]
    missing = list(sizes)
    while any(missing):
        candidates = rng.uniform(0.0, 1.0, size=(4 * n_samples, 2))
        labels = _yinyang_class(candidates)
        for k in range(3):
            take = candidates[labels == k][: missing[k]]
            kept[k].append(take)
            missing[k] -= len(take)
    X = np.vstack([np.vstack(points) for points in kept])
    y = np.repeat([YIN, YANG, DOTS], sizes)
    return _finish(X, y, 0.0, rng)


DATASETS = {
    "moons": make_moons,
    "circles": make_circles,
    "spiral": make_spiral,
    "blobs": make_blobs,
    "yinyang": make_yinyang,
}
"""Name -> generator, for demos and command lines that let the reader choose."""


def batches(
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    shuffle: bool = True,
    seed: int | None = None,
) -> Iterator[Arrays]:
    """Mini-batches ``(X_batch, y_batch)`` that cover every sample exactly once.

    With ``shuffle`` the samples come in a random order (seeded by ``seed``), otherwise in
    order; the last batch holds the remainder when ``batch_size`` does not divide the count.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"batch_size must be an int, not {type(batch_size).__name__}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")
    order = np.random.default_rng(seed).permutation(len(X)) if shuffle else np.arange(len(X))
    # The checks above run at the call; the batches come lazily from this generator.
    return (
        (X[order[i : i + batch_size]], y[order[i : i + batch_size]])
        for i in range(0, len(X), batch_size)
    )


# --- real digits ----------------------------------------------------------------------------------


def load_digits() -> Arrays:
    """The 8x8 handwritten digits: X float64 of shape (1797, 64), one row per image, pixels
    0..16 row by row; y int64 of shape (1797,), the digit 0..9 each image shows.

    The same arrays as scikit-learn's ``load_digits`` (the UCI "optical recognition of
    handwritten digits" test set), which ships them inside its package: no network needed.
    Needs scikit-learn: ``pip install "tinygrad-edu[digits]"``. ``X[i].reshape(8, 8)`` is the
    image.
    """
    try:
        datasets = importlib.import_module("sklearn.datasets")
    except ImportError as error:
        raise ImportError(
            "load_digits takes the digits from scikit-learn, which is not installed:"
            ' pip install "tinygrad-edu[digits]" (or: pip install scikit-learn)'
        ) from error
    X, y = datasets.load_digits(return_X_y=True)
    return np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)


MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
"""Where :func:`load_mnist` downloads from: the copy of Yann LeCun's MNIST files that PyTorch's
torchvision uses (byte for byte the originals, as the digests below check)."""

MNIST_SHA256: Mapping[str, str] = {
    "train-images-idx3-ubyte.gz": (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
    ),
    "train-labels-idx1-ubyte.gz": (
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
    ),
}
"""The four MNIST files and the SHA-256 digest of each (9,912,422, 28,881, 1,648,877 and 4,542
bytes): the training images and labels (60,000), the test images and labels (10,000)."""

_IMAGES, _LABELS = 0x00000803, 0x00000801
"""IDX magic numbers: two zero bytes, 0x08 (unsigned bytes), then the number of dimensions."""


def mnist_cache() -> Path:
    """The folder :func:`load_mnist` keeps its files in by default:
    ``$XDG_CACHE_HOME/tinygrad-edu/mnist``, or ``~/.cache/tinygrad-edu/mnist``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tinygrad-edu" / "mnist"


def load_mnist(
    path: str | os.PathLike[str] | None = None,
    *,
    normalize: bool = True,
    flatten: bool = True,
    one_hot: bool = False,
    url: str = MNIST_URL,
    sha256: Mapping[str, str] | None = MNIST_SHA256,
) -> tuple[Arrays, Arrays]:
    """MNIST: ``((X_train, y_train), (X_test, y_test))``, 60,000 and 10,000 images of 28x28
    handwritten digits.

    Reads the four standard files (the keys of :data:`MNIST_SHA256`) from the folder ``path``
    (default :func:`mnist_cache`), first downloading any that is missing from ``url`` with a
    progress bar. A file may also be there uncompressed, under its name without ``.gz``
    (``train-images-idx3-ubyte``), as many archives hold them; the ``.gz`` file is read if both
    are. Each file is checked: its SHA-256 digest against ``sha256`` (pass None for other files
    of the same layout, such as Fashion-MNIST; the published digests are the ``.gz`` files', so
    an uncompressed file is checked by digest only if ``sha256`` names it), then its structure:
    the IDX header first (the magic number, 2051 for images and 2049 for labels; 28x28 images;
    at least one), then exactly as many bytes as the header announces (no more than that and
    one byte is ever read, so a small file that inflates to gigabytes is refused after the
    header's worth), a complete gzip stream, as many labels as images, each 0..9. A file that
    fails is a ValueError naming it. A download goes to a temporary file that is renamed only
    once it passes, so a failed or interrupted one leaves nothing behind; a file already in the
    folder is never deleted (the error says to remove it). A ``path`` that is a file (or lies
    inside one) is a NotADirectoryError that says so.

    ``normalize``: pixels as float64 in [0, 1] (pixel / 255), otherwise the stored uint8 0..255.
    ``flatten``: images of shape (n, 784), otherwise (n, 1, 28, 28). ``one_hot``: labels of
    shape (n, 10) (see :func:`one_hot`), otherwise int64 of shape (n,). (As float64 the
    training images take 376 MB.)
    """
    folder = mnist_cache() if path is None else Path(path)
    if not isinstance(url, str) or not url:
        raise TypeError(f"url is the address of the folder that holds the files, not {url!r}")
    _check_folder(folder)
    names = list(MNIST_SHA256)
    digests: Mapping[str, str | None] = {} if sha256 is None else sha256
    arrays = [_mnist_file(folder, name, url, digests) for name in names]
    train_images, train_labels, test_images, test_labels = arrays
    return (
        _mnist_arrays(train_images, train_labels, names[:2], normalize, flatten, one_hot),
        _mnist_arrays(test_images, test_labels, names[2:], normalize, flatten, one_hot),
    )


def _check_folder(folder: Path) -> None:
    """Refuse, before any work, a folder that is a file or lies inside one (mkdir's bare
    FileExistsError would name neither)."""
    for place in (folder, *folder.parents):
        if not place.exists():
            continue
        if place.is_dir():
            return
        if place == folder:
            raise NotADirectoryError(
                f"the MNIST folder {folder} is a file, not a folder: pass another path, or "
                "move the file away"
            )
        raise NotADirectoryError(
            f"cannot make the MNIST folder {folder}: {place} is a file, not a folder"
        )


def _mnist_file(folder: Path, name: str, url: str, digests: Mapping[str, str | None]) -> np.ndarray:
    """The array in ``folder / name``, or in the same file uncompressed (``name`` without .gz),
    downloaded first if neither is there, and checked."""
    magic = _IMAGES if "-images-" in name else _LABELS
    for kept in (folder / name, folder / name.removesuffix(".gz")):
        if kept.exists():
            try:
                gzipped = kept.name.endswith(".gz")
                return _read_idx(kept, digests.get(kept.name), magic, gzipped)
            except ValueError as error:
                raise ValueError(f"{kept}: {error}; delete it to download it again") from None
    folder.mkdir(parents=True, exist_ok=True)
    source = url.rstrip("/") + "/" + name
    partial = folder / f".{name}.{secrets.token_hex(4)}.part"
    try:
        _download(source, partial, name)
        array = _read_idx(partial, digests.get(name), magic, gzipped=True)
        os.replace(partial, folder / name)
        sync_directory(folder)  # the rename survives a power loss (tinygrad_edu/files.py)
    except ValueError as error:
        raise ValueError(f"{name} downloaded from {source}: {error}; nothing was kept") from None
    finally:
        partial.unlink(missing_ok=True)  # a failed or interrupted download leaves nothing
    return array


def _download(source: str, destination: Path, name: str) -> None:
    """Copy ``source`` into the new file ``destination``, with a progress bar on stderr."""
    try:
        response = urllib.request.urlopen(source, timeout=60)
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise OSError(
            f"could not download {source}: {reason} (or put {name} into {destination.parent}"
            " yourself)"
        ) from None
    with response, open(destination, "xb") as out:
        size = response.headers.get("Content-Length")
        bar = _progress_bar(int(size) if size and size.isdigit() else None, name)
        try:
            while chunk := response.read(1 << 16):
                out.write(chunk)
                bar.update(len(chunk))
            sync_file(out)  # on disk before it is renamed into place
        finally:
            bar.close()


def _progress_bar(total: int | None, name: str) -> Any:
    """A tqdm progress bar in bytes (a plain line on stderr if tqdm is not installed)."""
    try:
        tqdm = importlib.import_module("tqdm").tqdm
    except ImportError:
        return _Line(name)
    return tqdm(total=total, desc=name, unit="B", unit_scale=True, unit_divisor=1024)


class _Line:
    """What stands in for a progress bar without tqdm: "downloading NAME ... N bytes"."""

    def __init__(self, name: str) -> None:
        self.done = 0
        print(f"downloading {name} ...", end="", file=sys.stderr, flush=True)

    def update(self, n: int) -> None:
        self.done += n

    def close(self) -> None:
        print(f" {self.done} bytes", file=sys.stderr, flush=True)


def _read_idx(path: Path, digest: str | None, magic: int, gzipped: bool) -> np.ndarray:
    """The array in an IDX file of unsigned bytes (``gzipped`` or not), after checking its
    SHA-256 digest (unless ``digest`` is None) and its structure: MNIST images (``magic``
    0x0803: n x 28 x 28) or labels (0x0801: n digits 0..9), n at least 1.

    IDX: a big-endian 32-bit magic number (0x08 for unsigned bytes, then the number of
    dimensions), one big-endian 32-bit size per dimension, then the bytes row by row. The header
    is read and checked first; then no more than the bytes it announces and one more, so a file
    that inflates to far more than its header says is refused without inflating it.
    """
    if digest is not None:
        actual = _sha256(path)
        if actual != digest:
            raise ValueError(
                f"its SHA-256 digest is {actual}, not MNIST's {digest} (a truncated or corrupt"
                " copy; for other files of this layout pass sha256=None)"
            )
    try:
        with gzip.open(path, "rb") if gzipped else open(path, "rb") as stream:
            shape, header = _idx_header(stream, magic)
            size = math.prod(shape)
            body = _read_at_most(stream, size + 1)
    except (OSError, EOFError, zlib.error) as error:
        if not gzipped:
            raise
        raise ValueError(f"it is not a complete gzip file ({error})") from None
    if len(body) != size:
        more = len(body) > size  # by the one byte read past what the header announces
        holds = f"{header + size + 1} bytes or more" if more else f"{header + len(body)}"
        raise ValueError(
            f"its header announces shape {shape} ({header + size} bytes), but it holds {holds}"
        )
    array = np.frombuffer(body, dtype=np.uint8).reshape(shape)
    if len(shape) == 1 and array.max() > 9:
        raise ValueError(f"it holds a label {array.max()}: digits are 0..9")
    return array


def _sha256(path: Path) -> str:
    """The SHA-256 digest of a file, read a megabyte at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _idx_header(stream: Any, magic: int) -> tuple[tuple[int, ...], int]:
    """The shape an IDX header announces and the header's length in bytes, checked: the
    magic number, 28x28 images, at least one image or label."""
    start = _read_at_most(stream, 4)
    if len(start) < 4:
        raise ValueError(f"it holds {len(start)} bytes, too few for an IDX header")
    found = int.from_bytes(start, "big")
    kind = "images" if magic == _IMAGES else "labels"
    if found != magic:
        raise ValueError(f"its IDX magic number is {found}, not {magic} ({kind})")
    ndim = found & 0xFF
    header = 4 + 4 * ndim
    sizes = _read_at_most(stream, 4 * ndim)
    if len(sizes) < 4 * ndim:
        raise ValueError(f"it holds {4 + len(sizes)} bytes, fewer than its IDX header's {header}")
    shape = tuple(int.from_bytes(sizes[4 * i : 4 * i + 4], "big") for i in range(ndim))
    if ndim == 3 and shape[1:] != (28, 28):
        raise ValueError(f"its images are {shape[1]}x{shape[2]}, not 28x28")
    if shape[0] == 0:
        raise ValueError(f"its header announces 0 {kind}: there is nothing to learn from")
    return shape, header


def _read_at_most(stream: Any, n: int) -> bytes:
    """Up to ``n`` bytes of ``stream``: fewer only at its end. Read a few megabytes at a time,
    so that what is held is what the stream gave, never what a header promised."""
    chunks = []
    while n > 0 and (chunk := stream.read(min(n, 1 << 22))):
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _mnist_arrays(
    images: np.ndarray,
    labels: np.ndarray,
    names: list[str],
    normalize: bool,
    flatten: bool,
    encode: bool,
) -> Arrays:
    """One split's images and labels, checked against each other and shaped as asked."""
    if len(images) != len(labels):
        raise ValueError(
            f"{names[0]} holds {len(images)} images but {names[1]} holds {len(labels)} labels"
        )
    X = images.astype(np.float64) / 255.0 if normalize else images.copy()
    X = X.reshape(len(X), -1) if flatten else X.reshape(len(X), 1, *images.shape[1:])
    y = one_hot(labels, 10) if encode else labels.astype(np.int64)
    return X, y


# --- preparing data -------------------------------------------------------------------------------


def one_hot(y: Sequence[int] | np.ndarray, n_classes: int) -> np.ndarray:
    """Labels as one-hot rows: row i is 1.0 in column y_i and 0.0 elsewhere; float64 of shape
    (len(y), n_classes).

    ``y`` holds integer labels 0 .. n_classes - 1 (a list or a 1-D array).
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)):
        raise TypeError(f"n_classes must be an int, not {type(n_classes).__name__}")
    if n_classes < 1:
        raise ValueError(f"n_classes must be at least 1, got {n_classes}")
    labels = np.asarray(y)
    if labels.ndim != 1:
        raise ValueError(f"one_hot takes a 1-D list of labels, got shape {labels.shape}")
    if labels.size and labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot takes integer labels, got an array of {labels.dtype}")
    outside = labels[(labels < 0) | (labels >= n_classes)]
    if outside.size:
        raise ValueError(f"label {outside[0]} is outside 0 .. {n_classes - 1}")
    encoded = np.zeros((len(labels), n_classes))
    encoded[np.arange(len(labels)), labels.astype(np.int64)] = 1.0
    return encoded


def train_test_split(
    X: Sequence[Any] | np.ndarray,
    y: Sequence[Any] | np.ndarray,
    *,
    test_size: float | int = 0.2,
    seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``X_train, X_test, y_train, y_test``, in scikit-learn's order: the samples shuffled
    (seeded by ``seed``), the first n_test of them for testing and the rest for training.

    ``test_size``: a fraction in (0, 1), giving n_test = ceil(test_size·n) as scikit-learn
    does, or a count 1 .. n - 1. Each row of X stays beside its own label. New arrays; the
    inputs are left as they were.
    """
    X_all, y_all = np.asarray(X), np.asarray(y)
    if X_all.ndim == 0 or y_all.ndim == 0:
        raise ValueError("X and y are lists (or arrays) of samples, one entry per sample")
    n = len(X_all)
    if len(y_all) != n:
        raise ValueError(f"X and y must have the same length, got {n} and {len(y_all)}")
    n_test = _test_count(test_size, n)
    order = np.random.default_rng(seed).permutation(n)
    test, train = order[:n_test], order[n_test:]
    return X_all[train], X_all[test], y_all[train], y_all[test]


def _test_count(test_size: object, n: int) -> int:
    if isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        count = int(test_size)
    elif isinstance(test_size, (float, np.floating)) and 0 < test_size < 1:
        count = math.ceil(float(test_size) * n)
    else:
        raise ValueError(
            f"test_size is a fraction between 0 and 1 or a count of samples, not {test_size!r}"
        )
    if not 1 <= count <= n - 1:
        raise ValueError(
            f"test_size {test_size!r} leaves {count} of {n} samples for testing and"
            f" {n - count} for training: both need at least one"
        )
    return count


def _matrix(X: object, what: str) -> np.ndarray:
    """X as a finite float64 array of shape (samples, features), with at least one sample."""
    try:
        array = np.array(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{what} takes a 2-D array of numbers (one row per sample)") from None
    if array.ndim != 2 or len(array) == 0:
        raise ValueError(
            f"{what} takes a 2-D array (one row per sample, one column per feature),"
            f" got shape {array.shape}"
        )
    if not np.isfinite(array).all():
        raise ValueError(f"{what} takes finite numbers; X holds nan or inf")
    return array


def standardize(X: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """Each column to mean 0 and standard deviation 1: (x - mean) / std, with the population
    statistics of the column (numpy's defaults: std divides by n, not n - 1).

    A constant column (every entry equal) has nothing to scale: it becomes all zeros, not
    nan. Returns a new float64 array. To scale test data like the training data, use the
    training columns' statistics: ``(X_test - X_train.mean(0)) / X_train.std(0)``.
    """
    array = _matrix(X, "standardize")
    mean, std = array.mean(axis=0), array.std(axis=0)
    constant = array.max(axis=0) == array.min(axis=0)
    scaled: np.ndarray = np.where(constant, 0.0, (array - mean) / np.where(constant, 1.0, std))
    return scaled


def whiten(
    X: Sequence[Sequence[float]] | np.ndarray,
    *,
    method: Literal["pca", "zca"] = "pca",
    eps: float = 1e-8,
) -> np.ndarray:
    """Decorrelate the columns and give each variance 1: the covariance of the result is the
    identity.

    With Xc = X - mean(X) and its covariance C = Xc^T Xc / n = U Λ U^T (eigenvectors U by
    decreasing eigenvalue λ; the sign of each chosen so that its largest entry is positive):

    * ``"pca"``: Xc U (Λ + εI)^(-1/2), column j the j-th principal component, scaled;
    * ``"zca"``: Xc U (Λ + εI)^(-1/2) U^T, the whitened data closest to Xc (same axes).

    ε = ``eps`` keeps the division finite where X has no variance in some direction (a
    constant column, a column that copies another): the result's covariance is, in the
    eigenbasis, λ/(λ + ε): 1 to within ε/λ in every direction where the data vary and 0 in
    those where they do not. Returns a new float64 array of X's shape.
    """
    if method not in ("pca", "zca"):
        raise ValueError(f"method is 'pca' or 'zca', not {method!r}")
    if not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a small positive number, not {eps!r}")
    array = _matrix(X, "whiten")
    if len(array) < 2:
        raise ValueError("whiten needs at least 2 samples to estimate a covariance")
    centered = array - array.mean(axis=0)
    variances, axes = np.linalg.eigh(centered.T @ centered / len(centered))
    order = np.argsort(variances)[::-1]
    variances, axes = np.clip(variances[order], 0.0, None), axes[:, order]
    largest = axes[np.argmax(np.abs(axes), axis=0), np.arange(axes.shape[1])]
    axes = axes * np.where(largest < 0, -1.0, 1.0)
    components: np.ndarray = centered @ axes / np.sqrt(variances + eps)
    return components if method == "pca" else components @ axes.T
