"""stash.compat.corelay_storage: corelay.io.storage's API and files, with its bugs fixed.

The first part is corelay's own test_storage.py and test_hashing.py
behaviour; then file exchange with corelay's formats (HDF5Storage files read
by h5py as corelay's reader reads them, and corelay's writer reproduced with
h5py read back; PickleStorage records written and read by Python's pickle
as corelay does); then one test for each documented difference.
"""
import io
import json
import pickle
from collections import OrderedDict

import h5py
import numpy as np
import pytest
from numpy.testing import assert_equal

import stash
from stash.compat import corelay_storage as cs
from stash.compat.corelay_storage import (HashedHDF5, HDF5Storage, NoDataSource, NoDataTarget,
                                          NoStorage, PickleStorage, StringInfo)

KINDS = {"hdf5": (HDF5Storage, "file.h5"), "pickle": (PickleStorage, "file.pkl")}


@pytest.fixture(params=sorted(KINDS))
def kind(request, tmp_path):
    """(storage class, path) for each file-backed storage."""
    cls, name = KINDS[request.param]
    return cls, tmp_path / name


# ---- corelay's test_storage.py --------------------------------------------------------

def test_hashed_hdf5_on_an_in_memory_file():
    with h5py.File(io.BytesIO(), "w") as f:
        hashed = HashedHDF5(f)
        array = np.arange(12.0).reshape(3, 4)
        pair = (np.ones(3), np.zeros((2, 2), dtype=np.int32))
        hashed.write(array, data_in=1, meta=1)
        hashed.write(pair, data_in=2, meta=1)
        with pytest.raises(TypeError):
            hashed.write("adfg", data_in=3, meta=1)
        assert_equal(hashed.read(data_in=1, meta=1), array)
        got = hashed.read(data_in=2, meta=1)
        assert isinstance(got, tuple) and len(got) == 2
        for got_item, item in zip(got, pair):
            assert_equal(got_item, item)
        with pytest.raises(NoDataSource):
            hashed.read(data_in=4, meta=1)


def test_at(kind):
    cls, path = kind
    with cls(path, mode="a") as s:
        copy = s.at(data_key="param_values")
        assert copy.data_key == "param_values"
        with pytest.raises(TypeError, match="'key' is an invalid keyword argument for"):
            s.at(data_key="param_values", key="x")
        with pytest.raises(TypeError):
            s.at(data_key=1)
        with pytest.raises(TypeError, match='"data_key" has been accessed without being set'):
            s.at().exists()
        chained = s.at(data_key="a").at(data_key="b")
        assert chained.data_key == "b"
        chained.write(np.arange(3))
        assert_equal(s["b"], np.arange(3))


def test_modes(kind):
    cls, path = kind
    with cls(path, mode="w") as s:
        assert s
    assert not s  # closed
    with pytest.raises(ValueError, match='Mode should be set to "w", "r", or "a".'):
        cls(path, mode="x")
    with pytest.raises(FileNotFoundError) as caught:
        cls(path.with_name("missing"), mode="r")
    assert caught.value.filename == str(path.with_name("missing"))


def test_indexer(kind):
    cls, path = kind
    value = {"key1": "value1", "key2": "value2"}
    with cls(path, mode="w") as s:
        s["data"] = value
        with pytest.raises(TypeError, match='The specified key "123" is not a string.'):
            s[123] = value
    with cls(path, mode="r") as s:
        assert "data" in s
        got = s["data"]
        assert got == value and len(got) == 2
        if cls is HDF5Storage:
            assert isinstance(got, OrderedDict)
        with pytest.raises(TypeError):
            123 in s
        with pytest.raises(TypeError):
            s[123]
        with pytest.raises(NoDataSource, match="Key: 'non_existing' does not exist."):
            s["non_existing"]


def test_hdf5_tuple_of_arrays(tmp_path):
    arrays = (np.arange(3), np.ones((2, 2)), np.array([1.5, 2.5]))
    with HDF5Storage(tmp_path / "t.h5", mode="w", data_key="data") as s:
        s.write(arrays)
        got = s.read()
    for i in range(3):
        assert_equal(got[i], arrays[i])


KEYS = ["data", "test/foo", "test/bar", "other", "more"]


def test_keys(kind):
    cls, path = kind
    with cls(path, mode="w") as s:
        for key in KEYS:
            s[key] = np.arange(2)
        keys = s.keys()
    if cls is PickleStorage:
        assert list(keys) == KEYS  # whole strings, in the order written
    else:
        assert sorted(keys) == ["data", "more", "other", "test"]


def test_hdf5_nested(tmp_path):
    arrays = (np.arange(4), np.eye(2))
    with HDF5Storage(tmp_path / "n.h5", mode="w") as s:
        s["test/foo"] = {"key1": True, "key2": False}
        s["test/bar"] = arrays
        s["test/baz"] = "This is a test string"
        got = s.at(data_key="test").read()
    assert isinstance(got, OrderedDict)
    assert got["foo"]["key1"] == np.True_ and isinstance(got["foo"]["key1"], np.bool_)
    assert got["foo"]["key2"] == np.False_
    assert_equal(got["bar"][0], arrays[0])
    assert_equal(got["bar"][1], arrays[1])
    assert got["baz"] == "This is a test string"


def test_full_cycle(kind):
    cls, path = kind
    array = np.random.default_rng(1).random((4, 5))
    new = np.arange(10)
    s = cls(path, mode="w")
    s.at(data_key="data").write(array)
    s.close()
    s = cls(path, mode="a", data_key="new_data")
    s.write(new)
    s.close()
    with cls(path, mode="r") as s:
        assert len(s.keys()) == 2
        assert_equal(s.at(data_key="data").read(), array)
        assert_equal(s.at(data_key="new_data").read(), new)
    value = {"param1": 1, "param2": "string"}
    with cls(path, mode="a", data_key="params") as s:
        s.write(value)
        assert s.exists() and "params" in s
        assert not s.at(data_key="missing").exists() and "missing" not in s
        assert s["params"] == value and s.at(data_key="params").read() == value
        s["new_entry/data"] = array
        assert_equal(s["new_entry/data"], array)


def test_no_storage():
    s = NoStorage()
    assert not s
    with pytest.raises(NoDataSource, match="No Data Source available."):
        s.read()
    with pytest.raises(NoDataTarget, match="No Data Target available."):
        s.write(np.arange(2))
    with pytest.raises(NoDataSource):
        s.exists()
    with pytest.raises(NoDataSource):
        s.keys()
    with pytest.raises(TypeError, match="'data_key' is an invalid keyword argument for "
                                        "'NoStorage.at'."):
        "x" in s
    with s as same:
        assert same is s
    s.close()


def test_string_info():
    info = StringInfo("utf-8", None)
    assert info.encoding == "utf-8" and info == ("utf-8", None)


def test_data_storage_base_is_abstract():
    with pytest.raises(TypeError):
        cs.DataStorageBase()


# ---- corelay's test_hashing.py --------------------------------------------------------

def test_tensor_placeholder():
    with pytest.raises(NotImplementedError):
        cs.TensorPlaceholder().numpy()
    try:
        import torch
    except ImportError:
        assert cs.Tensor is cs.TensorPlaceholder
    else:
        assert cs.Tensor is torch.Tensor


def test_hasher():
    hasher = cs.Hasher()
    data = (b"0123456789" * 7)[:63]
    assert hasher.write(data) == 63
    assert hasher.digest() == "c77ce2bfa4ed9f9b0548b2ac5074a297"


@pytest.mark.parametrize("split", [0, 1, 16, 31, 32, 33, 62])
def test_metrohash_streams(split):
    data = (b"0123456789" * 7)[:63]
    metro = cs.MetroHash128()
    metro.update(data[:split])
    metro.update(data[split:])
    assert metro.hexdigest() == "c77ce2bfa4ed9f9b0548b2ac5074a297"


def test_numpy_id_and_persistent_id():
    array = np.array([1.0, 2.0, 3.0])
    expect = ("float64", (3,), np.array([0.5, 0.5, 0.75], "<f8").tobytes(),
              np.array([1, 2, 2], "<i4").tobytes())
    assert cs.numpy_id(array) == expect
    assert cs.persistent_id(array) == expect
    assert cs.persistent_id("a string") is None


def test_ext_hash_vector():
    class MockTensor(cs.TensorPlaceholder):
        def numpy(self):
            return np.array([1.0, 2.0, 3.0])

    if pickle.DEFAULT_PROTOCOL != 4:
        pytest.skip("corelay's vector is for Python's default pickle protocol 4")
    value = {"string": "This is a test string.", "numpy_array": np.array([1.0, 2.0, 3.0]),
             "pytorch_tensor": MockTensor()}
    assert cs.ext_hash(value) == "6015b8a73a4548ea9a3d87616fc421ec"


# ---- exchange with corelay's files ------------------------------------------------------

def corelay_unpack(node):
    """corelay's HDF5Storage.read, reproduced from its documentation, on an h5py node."""
    if isinstance(node, h5py.Group):
        return OrderedDict((int(k) if k.isdigit() else k, corelay_unpack(node[k]))
                           for k in node.keys())
    value = node[()]
    info = h5py.check_string_dtype(node.dtype)
    if info is not None:
        value = value.decode(info.encoding)
    return value


def corelay_write(f, data_key, value):
    """corelay's HDF5Storage.write, reproduced from its documentation, with h5py."""
    def dataset(key, v):
        if isinstance(v, np.ndarray):
            shape, dtype = v.shape, v.dtype
        elif isinstance(v, str):
            shape, dtype = (), h5py.string_dtype("utf-8")
        else:
            shape, dtype = (), np.dtype(type(v))
        f.require_dataset(key, shape, dtype, data=v)

    if isinstance(value, dict):
        for k, v in value.items():
            dataset(f"{data_key}/{k}", v)
    elif isinstance(value, tuple):
        for i, v in enumerate(value):
            dataset(f"{data_key}/{i}", v)
    else:
        dataset(data_key, value)


CORELAY_VALUES = {
    "array": np.arange(12, dtype=np.float32).reshape(3, 4),
    "big_endian": np.arange(5, dtype=">i4"),
    "int": 7,
    "float": 2.5,
    "bool": True,
    "complex": 1 + 2j,
    "string": "grüße",
    "dict": {"a": np.arange(3), "b": 4, "c": "text"},
    "tuple": (np.arange(2), np.ones(3)),
}


def test_hdf5_storage_files_read_by_h5py_as_corelay_reads(tmp_path):
    path = tmp_path / "ours.h5"
    with HDF5Storage(path, mode="w") as s:
        for key, value in CORELAY_VALUES.items():
            s[key] = value
    with h5py.File(path, "r") as f:
        assert f["array"].dtype == np.float32 and f["array"].shape == (3, 4)
        assert f["big_endian"].dtype == np.dtype(">i4")
        assert f["int"].dtype == np.int64 and f["int"].shape == ()
        assert f["float"].dtype == np.float64
        assert f["bool"].dtype == np.bool_
        assert f["complex"].dtype == np.complex128
        assert h5py.check_string_dtype(f["string"].dtype).encoding == "utf-8"
        assert isinstance(f["dict"], h5py.Group) and sorted(f["dict"]) == ["a", "b", "c"]
        assert sorted(f["tuple"]) == ["0", "1"]
        for key, value in CORELAY_VALUES.items():
            got = corelay_unpack(f[key])
            if isinstance(value, tuple):
                value = OrderedDict(enumerate(value))
            assert_equal(dict(got) if isinstance(got, dict) else got,
                         dict(value) if isinstance(value, dict) else value)


def test_corelay_written_files_read_back(tmp_path):
    path = tmp_path / "corelay.h5"
    twelve = tuple(np.full(2, i) for i in range(12))
    with h5py.File(path, "w") as f:
        for key, value in CORELAY_VALUES.items():
            corelay_write(f, key, value)
        corelay_write(f, "twelve", twelve)
        corelay_write(f, "test/foo", {"key1": True})
    with HDF5Storage(path, mode="r") as s:
        with h5py.File(path, "r") as f:
            for key in list(CORELAY_VALUES) + ["twelve", "test"]:
                got, expect = s[key], corelay_unpack(f[key])
                assert type(got) is type(expect), key
                if isinstance(expect, dict):
                    assert list(got) == list(expect)
                    for k in expect:
                        assert_equal(got[k], expect[k])
                        assert type(got[k]) is type(expect[k]) or isinstance(expect[k], dict)
                else:
                    assert_equal(got, expect)
                    assert getattr(got, "dtype", None) == getattr(expect, "dtype", None)
        # A tuple corelay wrote has no mark of a tuple: int keys in name order, as in corelay.
        assert list(s["twelve"]) == [0, 1, 10, 11] + list(range(2, 10))
        assert list(s.keys()) == sorted(list(CORELAY_VALUES) + ["test", "twelve"])


def test_hashed_hdf5_layout_is_corelays():
    with h5py.File(io.BytesIO(), "w") as f:
        data_in, meta = np.arange(3.0), {"method": "lrp"}
        out = (np.ones(2), (np.zeros(1), np.arange(2)))
        HashedHDF5(f).write(out, data_in, meta)
        key = cs.ext_hash((data_in, meta))
        assert list(f) == [key]
        group = f[key]
        assert sorted(group) == ["data", "input", "meta", "output"]
        assert sorted(group["data"]) == ["000", "001"] and sorted(group["data/001"]) == ["000", "001"]
        assert group["meta"][()].decode() == '{"method": "lrp"}'
        assert group["input"][()].decode() == f'"{cs.ext_hash(data_in)}"'
        hashes = [cs.ext_hash(out[0]), [cs.ext_hash(out[1][0]), cs.ext_hash(out[1][1])]]
        assert json.loads(group["output"][()].decode()) == hashes
        # corelay's read: the data group's members in sorted order, datasets by value[()]
        assert_equal(group["data/000"][()], out[0])
        assert_equal(group["data/001/001"][()], out[1][1])


def test_hashed_hdf5_reads_what_corelay_wrote():
    with h5py.File(io.BytesIO(), "w") as f:
        data_in, meta = "input", 3
        group = f.require_group(cs.ext_hash((data_in, meta)))
        data = group.create_group("data")
        data.create_dataset("000", data=np.arange(4))
        data.create_dataset("001", data=np.eye(2))
        got = HashedHDF5(f).read(data_in, meta)
        assert isinstance(got, tuple)
        assert_equal(got[0], np.arange(4))
        assert_equal(got[1], np.eye(2))


def python_pickle_records(path):
    """corelay's PickleStorage reading: every record, the last of each key wins."""
    data = {}
    with open(path, "rb") as f:
        while True:
            try:
                record = pickle.load(f)
            except EOFError:
                return data
            data[record["key"]] = record["data"]


PICKLE_VALUES = {
    "array": np.arange(12.0).reshape(3, 4),
    "fortran": np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3)),
    "dict": {"a": 1, "b": [1, 2.5, "x"], "c": (None, True), "d": b"bytes"},
    "test/foo": "a key with a slash",
    "scalar": np.float64(1.5),
}


def test_pickle_storage_reads_python_pickle_records(tmp_path):
    path = tmp_path / "corelay.pkl"
    with open(path, "wb") as f:
        for key, value in PICKLE_VALUES.items():
            pickle.dump({"data": value, "key": key}, f)
        pickle.dump({"data": "second", "key": "dict"}, f)  # later records win
    with PickleStorage(path, mode="r") as s:
        assert list(s.keys()) == list(PICKLE_VALUES)
        for key, value in PICKLE_VALUES.items():
            if key != "dict":
                assert_equal(s[key], value)
        assert s["dict"] == "second"
        assert type(s["scalar"]) is np.float64


def test_pickle_storage_files_read_by_python_pickle(tmp_path):
    path = tmp_path / "ours.pkl"
    with PickleStorage(path, mode="w") as s:
        for key, value in PICKLE_VALUES.items():
            if key != "scalar":
                s[key] = value
        s["dict"] = "second"
    got = python_pickle_records(path)
    assert list(got) == [k for k in PICKLE_VALUES if k != "scalar"]
    for key, value in PICKLE_VALUES.items():
        if key not in ("dict", "scalar"):
            assert_equal(got[key], value)
    assert got["dict"] == "second"


# ---- each documented difference from corelay ------------------------------------------

def test_rewrite_replaces(tmp_path):
    with HDF5Storage(tmp_path / "r.h5", mode="w") as s:
        s["x"] = np.arange(3)
        s["x"] = np.arange(3) * 10        # corelay keeps 0, 1, 2
        assert_equal(s["x"], [0, 10, 20])
        s["x"] = np.arange(5.0)            # corelay raises TypeError
        assert_equal(s["x"], np.arange(5.0))
        s["d"] = {"a": 1, "b": 2}
        s["d"] = {"b": 3}                  # corelay keeps a
        assert s["d"] == {"b": 3}


def test_tuples_come_back_as_tuples_in_order(tmp_path):
    value = tuple(np.full(2, i) for i in range(13))
    with HDF5Storage(tmp_path / "t.h5", mode="w") as s:
        s["t"] = value
        s["l"] = [1, "two", 3.0]
        got = s["t"]
        assert isinstance(got, tuple) and len(got) == 13
        for i in range(13):
            assert_equal(got[i], value[i])
        assert s["l"] == [1, "two", 3.0] and isinstance(s["l"], list)


def test_dicts_keep_their_order(tmp_path):
    with HDF5Storage(tmp_path / "o.h5", mode="w") as s:
        s["d"] = {"zeta": 1, "alpha": 2, "mid": 3}
        assert list(s["d"]) == ["zeta", "alpha", "mid"]


def test_values_corelay_cannot_write(tmp_path):
    value = {"none": None, "list": [1, 2], "bytes": b"\x00\x01", "nested": {"a": {"b": 1}},
             "empty": {}, "empty_tuple": ()}
    with HDF5Storage(tmp_path / "v.h5", mode="w") as s:
        s["v"] = value
        got = s["v"]
    assert got["none"] is None and got["list"] == [1, 2] and got["bytes"] == b"\x00\x01"
    assert got["nested"] == {"a": {"b": 1}} and got["empty"] == {} and got["empty_tuple"] == ()


def test_a_value_that_cannot_be_stored_writes_nothing(kind):
    cls, path = kind
    with cls(path, mode="w") as s:
        with pytest.raises(TypeError):
            s["half"] = {"a": np.arange(3), "b": object()}
        assert "half" not in s
        with pytest.raises(TypeError):
            s["set"] = {1, 2}
        assert list(s.keys()) == []


def test_at_copies_are_independent(kind):
    cls, path = kind
    with cls(path, mode="w", data_key="given") as s:
        first = s.at(data_key="first")
        second = first.at(data_key="second")     # corelay: first's key becomes "second" too
        assert (s.data_key, first.data_key, second.data_key) == ("given", "first", "second")
        first.write(1)
        second.write(2)
        assert s["first"] == 1 and s["second"] == 2
        assert "given" not in s


def test_closing_a_copy_closes_the_file_as_in_corelay(kind):
    cls, path = kind
    s = cls(path, mode="w")
    s.at(data_key="k").close()
    assert not s
    with pytest.raises(stash.Closed):
        s["k"] = 1


def test_read_only_refuses_writes(kind):
    cls, path = kind
    cls(path, mode="w").close()
    with cls(path, mode="r") as s:
        with pytest.raises(ValueError):
            s["x"] = 1
        with pytest.raises(io.UnsupportedOperation):
            s["x"] = 1
        assert "x" not in s


def test_pickle_append_mode_sees_every_record(tmp_path):
    path = tmp_path / "a.pkl"
    with open(path, "wb") as f:
        pickle.dump({"data": np.arange(3), "key": "earlier"}, f)
    with PickleStorage(path, mode="a") as s:
        s["mine"] = 1                    # corelay: "earlier" invisible from here on
        assert list(s.keys()) == ["earlier", "mine"]
        assert_equal(s["earlier"], np.arange(3))
        with PickleStorage(path, mode="a") as other:
            other["theirs"] = 2
        assert s["theirs"] == 2 and "theirs" in s
        assert list(s.data) == ["earlier", "mine", "theirs"] and s.data["mine"] == 1
        assert isinstance(s.io, stash.Store)


def test_pickle_unsafe_records(tmp_path):
    path = tmp_path / "u.pkl"
    with open(path, "wb") as f:
        pickle.dump({"data": OrderedDict(a=1), "key": "object"}, f)
        pickle.dump({"data": 5, "key": "plain"}, f)
    with PickleStorage(path, mode="r") as s:
        with pytest.raises(stash.Unsafe):
            s["object"]
        with pytest.raises(pickle.UnpicklingError):
            s["object"]
        assert s["plain"] == 5
    with PickleStorage(path, mode="r", allow_unsafe_pickle=True) as s:
        assert s["object"] == OrderedDict(a=1) and s["plain"] == 5
        with pytest.raises(NoDataSource):
            s["missing"]


def test_numpy_scalars_are_written_as_0d_arrays(tmp_path):
    path = tmp_path / "s.pkl"
    with PickleStorage(path, mode="w") as s:
        s["x"] = np.float32(1.5)
        assert s["x"] == 1.5
    got = python_pickle_records(path)["x"]
    assert isinstance(got, np.ndarray) and got.shape == () and got.dtype == np.float32


def test_refused_keys(kind):
    cls, path = kind
    with cls(path, mode="w") as s:
        assert "a//b" not in s and "../x" not in s and not s.at(data_key="").exists()
        with pytest.raises(stash.InvalidArgument):
            s["a//b"] = 1
        with pytest.raises(ValueError):
            s["../x"]


def test_arrays_read_back_are_writable_copies(kind):
    cls, path = kind
    with cls(path, mode="w") as s:
        s["a"] = np.arange(4.0)
        s["t"] = (np.arange(2), {"x": np.ones(2)})
        got = s["a"]
        got += 1
        assert_equal(s["a"], np.arange(4.0))
        inner = s["t"]
        assert inner[0].flags.writeable and inner[1]["x"].flags.writeable


def test_hdf5_scalars_read_as_numpy_scalars(tmp_path):
    with HDF5Storage(tmp_path / "s.h5", mode="w") as s:
        s["v"] = {"i": 3, "f": 0.5, "b": False, "c": 1j, "z": np.array(2.0), "s": "x"}
        got = s["v"]
    types = {k: type(v) for k, v in got.items()}
    assert types == {"i": np.int64, "f": np.float64, "b": np.bool_, "c": np.complex128,
                     "z": np.float64, "s": str}


def test_ascii_strings_read_as_bytes(tmp_path):
    path = tmp_path / "ascii.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("ascii", data=b"plain")   # h5py writes bytes as an ASCII string
        f.create_dataset("utf8", data="grüße")
    with HDF5Storage(path, mode="r") as s:
        assert s["ascii"] == b"plain" and s["utf8"] == "grüße"


def test_only_ascii_digits_become_int_keys(tmp_path):
    with HDF5Storage(tmp_path / "d.h5", mode="w") as s:
        s["d"] = {"²": 1, "07": 2, "x1": 3}        # corelay raises ValueError on "²"
        assert list(s["d"]) == ["²", 7, "x1"]


def test_hashed_hdf5_rewrite_replaces_and_checks_first():
    with h5py.File(io.BytesIO(), "w") as f:
        hashed = HashedHDF5(f)
        hashed.write(np.arange(3), data_in=1, meta="m")
        hashed.write(np.arange(3) + 5, data_in=1, meta="m")   # corelay: OSError
        assert_equal(hashed.read(1, "m"), np.arange(3) + 5)
        with pytest.raises(TypeError):
            hashed.write(np.arange(2), data_in=2, meta={"x": object()})  # meta JSON cannot encode
        with pytest.raises(TypeError):
            hashed.write((np.arange(2), "not an array"), data_in=3, meta=None)
        assert list(f) == [cs.ext_hash((1, "m"))]   # nothing else was written


def test_hashed_hdf5_long_tuples_keep_their_order():
    value = tuple(np.array([i]) for i in range(1002))
    with h5py.File(io.BytesIO(), "w") as f:
        hashed = HashedHDF5(f)
        hashed.write(value, data_in="long", meta=None)
        got = hashed.read("long", None)
    assert [int(a[0]) for a in got] == list(range(1002))


def test_storages_of_one_file_open_at_once(tmp_path):
    path = tmp_path / "shared.h5"
    writer = HDF5Storage(path, mode="a", data_key="k")
    writer.write(1)
    reader = HDF5Storage(path, mode="r", data_key="k")   # corelay: h5py holds the file
    assert reader.read() == 1
    writer.write(2)
    assert reader.read() == 2
    with HDF5Storage(path, mode="a") as other:
        other["z"] = 3
    assert sorted(writer.keys()) == ["k", "z"]
    writer.close()
    reader.close()
