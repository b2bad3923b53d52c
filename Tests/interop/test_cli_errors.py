"""Bad inputs give one clear line naming the file and the problem, with the documented exit code."""
import numpy as np
from conftest import trainer, normal


def test_float64_npy_is_an_input_error(tmp):
    np.save(tmp / "x.npy", np.zeros((4, 3), dtype=np.float64))
    p = trainer("build-index", "--vectors", tmp / "x.npy", "--out", tmp / "i.bin", check=False)
    assert p.returncode == 3
    assert "x.npy" in p.stderr and "'<f8'" in p.stderr
    assert not (tmp / "i.bin").exists()


def test_fortran_order_npy_is_an_input_error(tmp):
    np.save(tmp / "f.npy", np.asfortranarray(normal(5, 3, 1)))
    p = trainer("build-index", "--vectors", tmp / "f.npy", "--out", tmp / "i.bin", check=False)
    assert p.returncode == 3 and "Fortran order" in p.stderr


def test_missing_vectors_file_is_an_input_error(tmp):
    p = trainer("build-index", "--vectors", tmp / "nope.npy", "--out", tmp / "i.bin", check=False)
    assert p.returncode == 3 and "nope.npy" in p.stderr


def test_corrupt_index_is_refused_by_name(tmp):
    x = normal(500, 8, 2)
    np.save(tmp / "x.npy", x)
    trainer("build-index", "--vectors", tmp / "x.npy", "--out", tmp / "i.bin", "-M", 4)
    data = bytearray((tmp / "i.bin").read_bytes())
    (tmp / "short.bin").write_bytes(bytes(data[:-3]))
    p = trainer("inspect", tmp / "short.bin", "--dim", 8, check=False)
    assert p.returncode == 3 and "short.bin" in p.stderr and "not a valid hnswlib index" in p.stderr
    p = trainer("inspect", tmp / "i.bin", "--dim", 9, check=False)
    assert p.returncode == 3 and "dimension 8, but dimension 9 was given" in p.stderr


def test_usage_errors_exit_2(tmp):
    np.save(tmp / "x.npy", normal(10, 4, 3))
    p = trainer("build-index", "--vectors", tmp / "x.npy", "-M", 1, check=False)
    assert p.returncode == 2 and "-M must be in 2…10000" in p.stderr
    p = trainer("build-index", "--bogus", check=False)
    assert p.returncode == 2


def test_failed_save_leaves_nothing_behind(tmp):
    """The index is written to a temporary file and renamed; a failing rename (the target is a
    folder) reports the path, exits 1 and removes the temporary file."""
    import os
    np.save(tmp / "x.npy", normal(100, 4, 4))
    target = tmp / "taken"
    target.mkdir()
    (target / "keep.txt").write_text("previous")
    p = trainer("build-index", "--vectors", tmp / "x.npy", "--out", target, "-M", 4, check=False)
    assert p.returncode == 2 and "taken is a folder" in p.stderr
    assert (target / "keep.txt").read_text() == "previous"
    assert not [f for f in os.listdir(tmp) if ".tmp-" in f]
    p = trainer("build-index", "--vectors", tmp / "x.npy", "--out", tmp / "no" / "such" / "dir" / "i.bin",
                "-M", 4, check=False)
    assert p.returncode == 0  # missing folders are created
