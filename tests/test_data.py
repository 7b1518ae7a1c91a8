"""tinygrad_edu.data: the toy data sets lie where their formulas say, are seeded, and batches
cover every sample once per pass; the digits are scikit-learn's; MNIST files are read, downloaded
and checked (offline, from small IDX files written here); the preparation functions compute
what their formulas say."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import math
import sys
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
from examples import need, record_syncs
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_edu.data import (
    DATASETS,
    MNIST_SHA256,
    MNIST_URL,
    batches,
    load_digits,
    load_mnist,
    make_blobs,
    make_circles,
    make_moons,
    make_spiral,
    make_yinyang,
    mnist_cache,
    one_hot,
    standardize,
    train_test_split,
    whiten,
)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_every_data_set_has_shape_n_by_2_and_int_labels(name: str) -> None:
    X, y = DATASETS[name](101, seed=0)
    assert X.shape == (101, 2) and X.dtype == np.float64
    assert y.shape == (101,) and y.dtype == np.int64


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_the_same_seed_gives_the_same_data_and_another_seed_other_data(name: str) -> None:
    make = DATASETS[name]
    X1, y1 = make(50, seed=3)
    X2, y2 = make(50, seed=3)
    X3, _ = make(50, seed=4)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


def test_noiseless_moons_lie_on_their_two_half_circles() -> None:
    X, y = make_moons(100, noise=0.0, seed=0)
    upper, lower = X[y == 0], X[y == 1]
    assert (len(upper), len(lower)) == (50, 50)
    # upper: (cos t, sin t), t in [0, π]; lower: (1 - cos t, 0.5 - sin t)
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, rtol=1e-15)
    assert upper[:, 1].min() >= -1e-15
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0, rtol=1e-15)
    assert lower[:, 1].max() <= 0.5 + 1e-15
    assert sorted(map(tuple, upper.round(12)))[0] == (-1.0, 0.0)  # t = π
    assert sorted(map(tuple, lower.round(12)))[-1] == (2.0, 0.5)  # t = π


def test_moon_noise_is_gaussian_with_the_given_standard_deviation() -> None:
    X, y = make_moons(4000, noise=0.1, seed=1)
    upper = X[y == 0]
    radial_error = np.hypot(upper[:, 0], upper[:, 1]) - 1
    assert abs(radial_error.mean()) < 0.01
    assert radial_error.std() == pytest.approx(0.1, rel=0.1)


def test_noiseless_circles_have_radius_1_and_factor() -> None:
    X, y = make_circles(60, noise=0.0, factor=0.3, seed=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0, rtol=1e-15)
    np.testing.assert_allclose(radius[y == 1], 0.3, rtol=1e-15)


def test_noiseless_spiral_arms_have_angle_4k_plus_4r() -> None:
    X, y = make_spiral(90, classes=3, noise=0.0, seed=0)
    assert np.bincount(y).tolist() == [30, 30, 30]
    r = np.hypot(X[:, 0], X[:, 1])
    assert r.max() == pytest.approx(1.0)
    # (r sin θ, r cos θ) with θ = 4k + 4r: rebuild each point from its radius and class
    theta = 4.0 * y + 4.0 * r
    np.testing.assert_allclose(
        X, np.column_stack([r * np.sin(theta), r * np.cos(theta)]), atol=1e-12
    )


def test_blobs_gather_around_their_centers() -> None:
    X, y = make_blobs(3000, centers=[(0.0, 0.0), (10.0, -5.0)], noise=0.5, seed=0)
    assert np.bincount(y).tolist() == [1500, 1500]
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [10.0, -5.0], atol=0.05)
    np.testing.assert_allclose(X[y == 1].std(axis=0), [0.5, 0.5], rtol=0.1)


def test_counted_blob_centers_sit_on_a_circle_of_radius_4() -> None:
    X, y = make_blobs(4, centers=4, noise=0.0, seed=0)
    centers = {label: tuple(point.round(12)) for point, label in zip(X, y)}
    assert centers == {0: (4.0, 0.0), 1: (0.0, 4.0), 2: (-4.0, 0.0), 3: (-0.0, -4.0)}


def test_samples_come_shuffled_not_class_by_class() -> None:
    _, y = make_moons(100, seed=0)
    assert 0 < y[:50].sum() < 50


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: make_moons(1), ValueError, "n_samples must be at least 2"),
        (lambda: make_moons(10, noise=-0.1), ValueError, "noise must be a finite number >= 0"),
        (lambda: make_moons(10.5), TypeError, "n_samples must be an int, not float"),  # type: ignore[arg-type]
        (lambda: make_circles(10, factor=1.5), ValueError, "factor must be between 0 and 1"),
        (lambda: make_spiral(10, classes=0), ValueError, "classes must be a positive int"),
        (lambda: make_blobs(10, centers=0), ValueError, "centers must be at least 1"),
        (lambda: make_blobs(10, centers=[1, 2]), ValueError, "list of \\(x, y\\) points"),  # type: ignore[list-item]
    ],
)
def test_nonsense_arguments_are_clear_errors(
    make: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        make()


# --- batches --------------------------------------------------------------------------------------


def test_batches_in_order_when_not_shuffled() -> None:
    X = np.arange(14, dtype=float).reshape(7, 2)
    y = np.arange(7)
    got = list(batches(X, y, batch_size=3, shuffle=False))
    assert [b_y.tolist() for _, b_y in got] == [[0, 1, 2], [3, 4, 5], [6]]
    assert got[2][0].tolist() == [[12.0, 13.0]]


def test_seeded_shuffled_batches_repeat() -> None:
    X, y = make_moons(20, seed=0)
    first = [b_y.tolist() for _, b_y in batches(X, np.arange(20), 6, seed=5)]
    again = [b_y.tolist() for _, b_y in batches(X, np.arange(20), 6, seed=5)]
    assert first == again
    assert first != [list(range(i, min(i + 6, 20))) for i in range(0, 20, 6)]
    assert len(y) == 20


@given(
    n=st.integers(1, 60),
    batch_size=st.integers(1, 70),
    shuffle=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_batches_cover_every_sample_exactly_once(
    n: int, batch_size: int, shuffle: bool, seed: int
) -> None:
    """Property: one pass yields ceil(n / batch_size) batches, all full but the last, and
    together they hold every sample once, each row still beside its own label."""
    X = np.column_stack([np.arange(n), -np.arange(n)]).astype(float)
    y = np.arange(n)
    got = list(batches(X, y, batch_size, shuffle=shuffle, seed=seed))
    assert len(got) == math.ceil(n / batch_size)
    assert all(len(b_y) == batch_size for _, b_y in got[:-1])
    labels = np.concatenate([b_y for _, b_y in got])
    assert sorted(labels.tolist()) == list(range(n))
    for b_X, b_y in got:
        assert np.array_equal(b_X[:, 0], b_y)


def test_batches_check_their_arguments_at_the_call() -> None:
    X, y = make_moons(10, seed=0)
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        batches(X, y, 0)
    with pytest.raises(ValueError, match="same length, got 10 and 9"):
        batches(X, y[:9], 2)
    with pytest.raises(TypeError, match="batch_size must be an int, not float"):
        batches(X, y, 2.0)  # type: ignore[arg-type]


# --- make_yinyang -------------------------------------------------------------------------------


def test_yinyang_classes_come_in_equal_numbers() -> None:
    assert np.bincount(make_yinyang(300, seed=0)[1]).tolist() == [100, 100, 100]
    assert np.bincount(make_yinyang(301, seed=0)[1]).tolist() == [101, 100, 100]


def test_yinyang_points_lie_in_their_class_regions() -> None:
    """The symbol: the disc of radius 1/2 around (1/2, 1/2); yin (0) is the upper half outside
    the circle of radius 1/4 around B = (3/4, 1/2) plus the circle of radius 1/4 around
    A = (1/4, 1/2); yang (1) the rest; the dots (2) the discs of radius 1/10 around A and B."""
    X, y = make_yinyang(3000, seed=1)
    x0, x1 = X[:, 0], X[:, 1]
    assert X.min() >= 0.0 and X.max() <= 1.0
    assert (np.hypot(x0 - 0.5, x1 - 0.5) <= 0.5).all()
    from_a, from_b = np.hypot(x0 - 0.25, x1 - 0.5), np.hypot(x0 - 0.75, x1 - 0.5)
    in_a_dot, in_b_dot = from_a <= 0.1, from_b <= 0.1
    assert ((in_a_dot | in_b_dot) == (y == 2)).all()
    yin = (from_a <= 0.25) | ((x1 > 0.5) & (from_b > 0.25))
    assert (yin[y != 2] == (y[y != 2] == 0)).all()
    # uniform over each region: the dots split evenly between A and B, and yang is yin turned
    # half a circle about the centre, so their mean points mirror each other
    assert in_a_dot.sum() / (y == 2).sum() == pytest.approx(0.5, abs=0.05)
    np.testing.assert_allclose(X[y == 0].mean(axis=0), 1 - X[y == 1].mean(axis=0), atol=0.02)


def test_yinyang_is_not_linearly_separable_in_one_class_against_the_rest() -> None:
    # yin lies both left of yang (around A) and right of it (the upper right): no single line
    X, y = make_yinyang(600, seed=2)
    assert X[y == 0, 0].min() < 0.1 and X[y == 0, 0].max() > 0.9
    assert X[y == 1, 0].min() < 0.1 and X[y == 1, 0].max() > 0.9


# --- load_digits --------------------------------------------------------------------------------


def test_load_digits_gives_scikit_learns_8x8_digits() -> None:
    sklearn_datasets = need("sklearn.datasets")
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    reference_X, reference_y = sklearn_datasets.load_digits(return_X_y=True)
    assert np.array_equal(X, reference_X) and np.array_equal(y, reference_y)
    assert X.min() == 0.0 and X.max() == 16.0 and (X.round() == X).all()
    assert y[:10].tolist() == list(range(10))
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert X[0].reshape(8, 8)[0].tolist() == [0, 0, 5, 13, 9, 1, 0, 0]  # the top of a 0


def test_load_digits_without_scikit_learn_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r'pip install "tinygrad-edu\[digits\]"'):
        load_digits()


# --- load_mnist (offline: the tests write small IDX files themselves) ---------------------------

NAMES = list(MNIST_SHA256)


def idx_bytes(magic: int, shape: tuple[int, ...], payload: bytes) -> bytes:
    """An IDX file: big-endian magic, one big-endian uint32 per dimension, then the bytes."""
    return magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in shape) + payload


def images(n: int) -> bytes:
    """n 28x28 images; image k is all (k + 1)·51 (51, 102, ...; 255 for k = 4), except
    pixel (0, 0), which is 0."""
    pixels = np.repeat((np.arange(n, dtype=np.uint8) + 1) * 51, 28 * 28).reshape(n, 28, 28)
    pixels[:, 0, 0] = 0
    return idx_bytes(2051, (n, 28, 28), pixels.tobytes())


def labels(digits: list[int]) -> bytes:
    return idx_bytes(2049, (len(digits),), bytes(digits))


def write_mnist(
    folder: Path, files: dict[str, bytes] | None = None, *, uncompressed: bool = False
) -> dict[str, str]:
    """Write the four files, gzipped (5 training samples, 2 test samples); return their
    SHA-256 digests. ``files`` replaces the uncompressed contents of some of them;
    ``uncompressed`` writes the IDX files themselves, under the names without .gz."""
    contents = {
        NAMES[0]: images(5),
        NAMES[1]: labels([3, 1, 4, 1, 5]),
        NAMES[2]: images(2),
        NAMES[3]: labels([9, 2]),
        **(files or {}),
    }
    folder.mkdir(parents=True, exist_ok=True)
    digests = {}
    for name, raw in contents.items():
        packed = raw if uncompressed else gzip.compress(raw, mtime=0)
        written = name.removesuffix(".gz") if uncompressed else name
        (folder / written).write_bytes(packed)
        digests[written] = hashlib.sha256(packed).hexdigest()
    return digests


def test_load_mnist_reads_the_four_idx_files(tmp_path: Path) -> None:
    digests = write_mnist(tmp_path)
    (X_train, y_train), (X_test, y_test) = load_mnist(tmp_path, sha256=digests)
    assert X_train.shape == (5, 784) and X_train.dtype == np.float64
    assert X_test.shape == (2, 784)
    assert y_train.tolist() == [3, 1, 4, 1, 5] and y_train.dtype == np.int64
    assert y_test.tolist() == [9, 2]
    # normalize: pixel / 255, so 51 -> 0.2 and 255 -> 1.0, row by row
    assert X_train[0, :3].tolist() == [0.0, 0.2, 0.2]
    assert X_train[4, 1] == 1.0 and X_train.min() == 0.0 and X_train.max() == 1.0


def test_load_mnist_shapes_raw_pixels_images_and_one_hot_labels(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    (X, y), _ = load_mnist(tmp_path, normalize=False, flatten=False, one_hot=True, sha256=None)
    assert X.shape == (5, 1, 28, 28) and X.dtype == np.uint8
    assert X[1, 0, 0, :3].tolist() == [0, 102, 102]
    assert X.flags.writeable
    assert y.shape == (5, 10) and y.dtype == np.float64
    assert y.argmax(axis=1).tolist() == [3, 1, 4, 1, 5] and y.sum() == 5.0


def test_load_mnist_checks_the_published_digests_by_default(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte\.gz: its SHA-256 digest is"):
        load_mnist(tmp_path)
    assert (tmp_path / NAMES[0]).exists()  # a file that was already there is never deleted


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        (
            NAMES[0],
            images(5)[:-1],
            r"announces shape \(5, 28, 28\) \(3936 bytes\), but it holds 3935",
        ),
        (NAMES[0], images(5) + b"\0", "but it holds 3937"),
        (NAMES[0], labels([1, 2]), "its IDX magic number is 2049, not 2051 .images."),
        (NAMES[1], images(5), "its IDX magic number is 2051, not 2049 .labels."),
        (NAMES[0], idx_bytes(2051, (1, 27, 28), bytes(27 * 28)), "its images are 27x28, not 28x28"),
        (NAMES[3], labels([9, 10]), "it holds a label 10: digits are 0..9"),
        (NAMES[2], b"\x00\x00", "it holds 2 bytes, too few for an IDX header"),
        (NAMES[3], labels([9, 2, 7]), "t10k-images-idx3-ubyte.gz holds 2 images but t10k-labels"),
    ],
)
def test_a_malformed_mnist_file_is_an_error_that_names_it(
    tmp_path: Path, name: str, raw: bytes, message: str
) -> None:
    write_mnist(tmp_path, {name: raw})
    with pytest.raises(ValueError, match=message) as caught:
        load_mnist(tmp_path, sha256=None)
    assert name in str(caught.value)


def test_a_truncated_gzip_file_is_an_error_that_names_it(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    packed = (tmp_path / NAMES[1]).read_bytes()
    (tmp_path / NAMES[1]).write_bytes(packed[: len(packed) // 2])
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.gz: it is not a complete gzip"):
        load_mnist(tmp_path, sha256=None)
    (tmp_path / NAMES[1]).write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.gz: it is not a complete gzip"):
        load_mnist(tmp_path, sha256=None)


@pytest.mark.parametrize("split", [0, 2], ids=["train", "test"])
def test_an_idx_file_of_no_images_is_an_error_that_names_it(tmp_path: Path, split: int) -> None:
    write_mnist(tmp_path, {NAMES[split]: images(0), NAMES[split + 1]: labels([])})
    with pytest.raises(ValueError, match=r"its header announces 0 images: there is nothing to"):
        load_mnist(tmp_path, sha256=None)
    write_mnist(tmp_path, {NAMES[split + 1]: labels([])})
    with pytest.raises(ValueError, match=r"its header announces 0 labels") as caught:
        load_mnist(tmp_path, sha256=None)
    assert str(caught.value).startswith(str(tmp_path / NAMES[split + 1]))


def test_a_folder_that_is_a_file_is_an_error_that_says_so(tmp_path: Path) -> None:
    write_mnist(tmp_path / "mirror")
    mirror = (tmp_path / "mirror").as_uri()
    (tmp_path / "cache").write_text("not a folder")
    with pytest.raises(NotADirectoryError, match=r"the MNIST folder .*cache is a file, not a"):
        load_mnist(tmp_path / "cache", url=mirror, sha256=None)
    with pytest.raises(NotADirectoryError, match=r"cannot make the MNIST folder .*cache.mnist: "):
        load_mnist(tmp_path / "cache" / "mnist", url=mirror, sha256=None)  # inside a file
    assert (tmp_path / "cache").read_text() == "not a folder"


def gzip_bomb(header: bytes, megabytes: int) -> bytes:
    """A gzip file of a few kB that inflates to ``header`` and then ``megabytes`` MB of zeros
    (one member per MB: gzip readers read the members as one stream)."""
    return gzip.compress(header, mtime=0) + gzip.compress(bytes(1 << 20), mtime=0) * megabytes


def test_a_small_file_that_inflates_past_its_header_is_refused_without_inflating_it(
    tmp_path: Path,
) -> None:
    """With sha256=None nothing vouches for a file but its header: it is read first, and no
    more than the header announces (and one byte) is ever inflated."""
    write_mnist(tmp_path)
    bomb = gzip_bomb(labels([3, 1, 4, 1, 5]), 400)  # 400 MB in 0.4 MB
    assert len(bomb) < 1 << 20
    (tmp_path / NAMES[1]).write_bytes(bomb)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"\(13 bytes\), but it holds 14 bytes or more"):
            load_mnist(tmp_path, sha256=None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20  # a few MB (the images, the gzip reader's buffers), not 400


@pytest.mark.parametrize("which", ["all", "some"])
def test_uncompressed_files_under_the_names_without_gz_are_read_too(
    tmp_path: Path, which: str
) -> None:
    """As many mirrors and archives hold them; the digests are the .gz files', so an
    uncompressed file is checked by its structure (or by a digest given for its own name)."""
    digests = write_mnist(tmp_path, uncompressed=True)
    checked = MNIST_SHA256  # the published digests: none names an uncompressed file
    if which == "some":  # the labels of training and the images of testing gzipped
        for name in NAMES[1:3]:
            (tmp_path / name.removesuffix(".gz")).unlink()
        checked = write_mnist(tmp_path / "packed")
        for name in NAMES[1:3]:
            (tmp_path / "packed" / name).rename(tmp_path / name)
    nowhere = (tmp_path / "no-mirror").as_uri()  # nothing is downloaded
    (X_train, y_train), (X_test, y_test) = load_mnist(tmp_path, url=nowhere, sha256=checked)
    assert X_train.shape == (5, 784) and X_test.shape == (2, 784)
    assert y_train.tolist() == [3, 1, 4, 1, 5] and y_test.tolist() == [9, 2]
    assert X_train[0, :3].tolist() == [0.0, 0.2, 0.2]
    if which == "all":
        assert load_mnist(tmp_path, url=nowhere, sha256=digests)[0][1].tolist() == [3, 1, 4, 1, 5]
        wrong = {**digests, "t10k-labels-idx1-ubyte": "0" * 64}
        with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte: its SHA-256 digest is"):
            load_mnist(tmp_path, url=nowhere, sha256=wrong)


def test_a_malformed_uncompressed_file_is_an_error_that_names_it(tmp_path: Path) -> None:
    write_mnist(tmp_path, {NAMES[0]: images(5)[:-1]}, uncompressed=True)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte: its header announces"):
        load_mnist(tmp_path, url=(tmp_path / "no-mirror").as_uri())


def test_missing_files_are_downloaded_checked_and_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    digests = write_mnist(tmp_path / "mirror")
    cache = tmp_path / "cache"
    (_, y_train), (_, y_test) = load_mnist(
        cache, url=(tmp_path / "mirror").as_uri(), sha256=digests
    )
    assert y_train.tolist() == [3, 1, 4, 1, 5] and y_test.tolist() == [9, 2]
    assert sorted(p.name for p in cache.iterdir()) == sorted(NAMES)  # and no partial files
    for name in NAMES:
        assert (cache / name).read_bytes() == (tmp_path / "mirror" / name).read_bytes()
    assert "train-images-idx3-ubyte.gz" in capsys.readouterr().err  # the progress bar


def test_a_download_is_on_disk_before_it_is_renamed_and_the_rename_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A power loss never leaves an empty file under the final name: each downloaded file is
    fsynced before its rename into the cache, and the cache folder after it."""
    digests = write_mnist(tmp_path / "mirror")
    cache = tmp_path / "cache"
    events = record_syncs(monkeypatch)
    load_mnist(cache, url=(tmp_path / "mirror").as_uri(), sha256=digests)
    for name in NAMES:
        k = events.index(("replace", str(cache / name)))
        assert events[k - 1][0] == "fsync" and events[k - 1][1].endswith(".part")  # the data
        assert events[k + 1] == ("fsync", str(cache))  # the folder's entry


def test_only_the_missing_file_is_downloaded_over_http(tmp_path: Path) -> None:
    digests = write_mnist(tmp_path / "mirror")
    write_mnist(tmp_path / "cache")
    (tmp_path / "cache" / NAMES[2]).unlink()
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(tmp_path / "mirror"), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            requests.append(self.path)

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}/"
            _, (X_test, _) = load_mnist(tmp_path / "cache", url=url, sha256=digests)
            with pytest.raises(OSError, match=r"could not download http://127.0.0.1:\d+/nope/"):
                load_mnist(tmp_path / "empty", url=url + "nope/", sha256=digests)
        finally:
            server.shutdown()
    assert requests[0] == "/t10k-images-idx3-ubyte.gz"
    assert X_test.shape == (2, 784)
    assert list((tmp_path / "empty").iterdir()) == []


def test_a_corrupt_download_is_an_error_and_is_not_kept(tmp_path: Path) -> None:
    digests = write_mnist(tmp_path / "mirror")
    packed = (tmp_path / "mirror" / NAMES[0]).read_bytes()
    (tmp_path / "mirror" / NAMES[0]).write_bytes(packed[:-10])  # cut short on the way
    cache = tmp_path / "cache"
    with pytest.raises(
        ValueError,
        match=r"train-images-idx3-ubyte.gz downloaded from file:.*"
        r"SHA-256 digest .*nothing was kept",
    ):
        load_mnist(cache, url=(tmp_path / "mirror").as_uri(), sha256=digests)
    assert list(cache.iterdir()) == []
    with pytest.raises(ValueError, match=r"not a complete gzip file.*nothing was kept"):
        load_mnist(cache, url=(tmp_path / "mirror").as_uri(), sha256=None)
    assert list(cache.iterdir()) == []


def test_without_tqdm_a_download_prints_a_plain_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)
    write_mnist(tmp_path / "mirror")
    write_mnist(tmp_path / "cache")
    (tmp_path / "cache" / NAMES[3]).unlink()
    load_mnist(tmp_path / "cache", url=(tmp_path / "mirror").as_uri(), sha256=None)
    size = (tmp_path / "mirror" / NAMES[3]).stat().st_size
    assert capsys.readouterr().err == f"downloading t10k-labels-idx1-ubyte.gz ... {size} bytes\n"


def test_the_default_folder_is_a_per_user_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert mnist_cache() == tmp_path / "xdg" / "tinygrad-edu" / "mnist"
    write_mnist(mnist_cache())
    (_, y_train), _ = load_mnist(sha256=None)
    assert y_train.tolist() == [3, 1, 4, 1, 5]
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert mnist_cache() == tmp_path / "home" / ".cache" / "tinygrad-edu" / "mnist"


def test_mnist_digests_are_sha256_of_the_four_standard_files() -> None:
    assert set(MNIST_SHA256) == {
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    }
    assert all(len(d) == 64 and set(d) <= set("0123456789abcdef") for d in MNIST_SHA256.values())
    assert MNIST_URL.startswith("https://") and MNIST_URL.endswith("/")


# --- one_hot, train_test_split ------------------------------------------------------------------


def test_one_hot_puts_a_one_in_each_labels_column() -> None:
    encoded = one_hot([2, 0, 1, 2], 3)
    assert encoded.dtype == np.float64
    assert encoded.tolist() == [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert one_hot(np.array([], dtype=np.int64), 4).shape == (0, 4)


@pytest.mark.parametrize(
    ("y", "n_classes", "error", "message"),
    [
        ([0, 3], 3, ValueError, r"label 3 is outside 0 \.\. 2"),
        ([-1, 0], 3, ValueError, r"label -1 is outside 0 \.\. 2"),
        ([0.0, 1.0], 3, TypeError, "integer labels, got an array of float64"),
        ([[0, 1]], 3, ValueError, r"1-D list of labels, got shape \(1, 2\)"),
        ([0], 0, ValueError, "n_classes must be at least 1"),
        ([0], 2.0, TypeError, "n_classes must be an int, not float"),
    ],
)
def test_one_hot_misuse_says_what_was_expected(
    y: object, n_classes: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        one_hot(y, n_classes)  # type: ignore[arg-type]


def test_train_test_split_keeps_rows_beside_their_labels_and_covers_every_sample() -> None:
    X = np.column_stack([np.arange(10), 10 * np.arange(10)])
    y = np.arange(10)
    X_train, X_test, y_train, y_test = train_test_split(X, y, seed=0)
    assert (len(X_train), len(X_test), len(y_train), len(y_test)) == (8, 2, 8, 2)
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(10))
    assert np.array_equal(X_train[:, 0], y_train) and np.array_equal(X_test[:, 0], y_test)
    assert y_train.tolist() != sorted(y_train.tolist()) or y_test.tolist() != [8, 9]  # shuffled
    again = train_test_split(X, y, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(again, (X_train, X_test, y_train, y_test)))
    assert X[3].tolist() == [3, 30]  # the inputs are left as they were


@pytest.mark.parametrize(("n", "test_size", "n_test"), [(10, 0.25, 3), (10, 4, 4), (7, 0.5, 4)])
def test_train_test_split_sizes_as_scikit_learn(n: int, test_size: float, n_test: int) -> None:
    # a fraction gives ceil(test_size * n) test samples; a count gives itself
    _, X_test, _, y_test = train_test_split(np.zeros((n, 2)), np.zeros(n), test_size=test_size)
    assert len(X_test) == len(y_test) == n_test
    model_selection = need("sklearn.model_selection")
    theirs = model_selection.train_test_split(np.zeros((n, 2)), np.zeros(n), test_size=test_size)
    assert [len(a) for a in theirs] == [n - n_test, n_test, n - n_test, n_test]


@pytest.mark.parametrize(
    ("test_size", "message"),
    [
        (0.0, "test_size is a fraction between 0 and 1 or a count of samples, not 0.0"),
        (1.0, "not 1.0"),
        (True, "not True"),
        (10, "leaves 10 of 10 samples for testing and 0 for training"),
        (0, "leaves 0 of 10 samples for testing"),
    ],
)
def test_train_test_split_needs_samples_on_both_sides(test_size: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        train_test_split(np.zeros((10, 2)), np.zeros(10), test_size=test_size)


def test_train_test_split_needs_one_label_per_sample() -> None:
    with pytest.raises(ValueError, match="same length, got 10 and 9"):
        train_test_split(np.zeros((10, 2)), np.zeros(9))


# --- standardize, whiten ------------------------------------------------------------------------


def test_standardize_hand_worked() -> None:
    # column 0: mean 2, population std sqrt(2/3); column 1 is constant: zeros, not nan
    X = np.array([[1.0, 10.0], [2.0, 10.0], [3.0, 10.0]])
    z = math.sqrt(3 / 2)
    np.testing.assert_allclose(standardize(X), [[-z, 0.0], [0.0, 0.0], [z, 0.0]], rtol=1e-15)
    assert X[0].tolist() == [1.0, 10.0]  # the input is left as it was
    assert standardize([[0.1], [0.1], [0.1]]).tolist() == [[0.0], [0.0], [0.0]]


def test_standardized_columns_have_mean_0_and_std_1() -> None:
    X = np.random.default_rng(0).normal([5.0, -3.0, 100.0], [2.0, 0.01, 40.0], size=(500, 3))
    Z = standardize(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1.0, rtol=1e-12)


@pytest.mark.parametrize(
    ("X", "error", "message"),
    [
        ([1.0, 2.0], ValueError, r"2-D array .* got shape \(2,\)"),
        (np.zeros((0, 3)), ValueError, r"got shape \(0, 3\)"),
        ([[1.0, math.nan]], ValueError, "finite numbers"),
        ([["a", "b"]], TypeError, "2-D array of numbers"),
    ],
)
def test_standardize_misuse_says_what_was_expected(
    X: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        standardize(X)  # type: ignore[arg-type]


def test_whitening_axis_aligned_data_scales_each_column() -> None:
    # covariance diag(4, 1): both methods divide the columns by 2 and 1
    X = np.array([[2.0, 1.0], [-2.0, 1.0], [2.0, -1.0], [-2.0, -1.0]])
    expected = [[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]]
    np.testing.assert_allclose(whiten(X), expected, rtol=1e-8)
    np.testing.assert_allclose(whiten(X, method="zca"), expected, rtol=1e-8)


def test_pca_whitening_rotates_onto_the_axes_and_zca_keeps_the_data_axes() -> None:
    # the same points turned by 45°: PCA undoes the turn (largest variance first, signs chosen
    # so each axis's largest entry is positive); ZCA whitens in place and keeps the turn
    c = math.sqrt(0.5)
    turn = np.array([[c, c], [-c, c]])
    X = np.array([[2.0, 1.0], [-2.0, 1.0], [2.0, -1.0], [-2.0, -1.0]]) @ turn
    flat = [[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]]
    pca = whiten(X, method="pca")
    np.testing.assert_allclose(np.abs(pca), np.abs(flat), rtol=1e-8)
    np.testing.assert_allclose(whiten(X, method="zca"), np.array(flat) @ turn, atol=1e-8)


@pytest.mark.parametrize("method", ["pca", "zca"])
def test_whitened_data_have_identity_covariance(method: Literal["pca", "zca"]) -> None:
    rng = np.random.default_rng(3)
    mixing = np.array([[2.0, 0.0, 0.0], [1.5, 0.5, 0.0], [-1.0, 0.3, 0.2]])
    X = rng.normal(size=(400, 3)) @ mixing.T + [10.0, -5.0, 0.0]
    W = whiten(X, method=method)
    np.testing.assert_allclose(W.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(W.T @ W / len(W), np.eye(3), atol=1e-6)  # ε/λ, λ >= 0.03
    if method == "zca":  # W = Xc·M with M symmetric (C^(-1/2))
        M = np.linalg.lstsq(X - X.mean(axis=0), W, rcond=None)[0]
        np.testing.assert_allclose(M, M.T, atol=1e-9)


def test_whitening_rank_deficient_data_gives_no_nan() -> None:
    """A constant column and a column that is the sum of two others: the result's covariance
    is 1 along the data's 2 directions and 0 along the 2 where they do not vary."""
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(2, 200))
    X = np.column_stack([a, b, a + b, np.full(200, 7.0)])
    for method in ("pca", "zca"):
        W = whiten(X, method=method)  # type: ignore[arg-type]
        assert np.isfinite(W).all()
        variances = np.linalg.eigvalsh(W.T @ W / len(W))
        np.testing.assert_allclose(variances, [0.0, 0.0, 1.0, 1.0], atol=1e-6)


def test_whitening_the_digits() -> None:
    need("sklearn")
    X, _ = load_digits()  # 3 pixel columns are always 0: covariance of rank 61
    variances = np.linalg.eigvalsh(np.cov(whiten(X, method="zca"), rowvar=False, bias=True))
    np.testing.assert_allclose(variances[:3], 0.0, atol=1e-6)
    np.testing.assert_allclose(variances[3:], 1.0, atol=1e-4)  # ε/λ <= 1e-8 / 4.1e-4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "svd"}, "method is 'pca' or 'zca', not 'svd'"),
        ({"eps": 0.0}, "eps must be a small positive number, not 0.0"),
    ],
)
def test_whiten_misuse_says_what_was_expected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        whiten(np.eye(3), **kwargs)
    with pytest.raises(ValueError, match="at least 2 samples"):
        whiten([[1.0, 2.0]])
