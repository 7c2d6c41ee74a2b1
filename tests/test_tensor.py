"""edm4eic::Tensor <-> numpy / torch, with one copy in and none out."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from k4mlinference.edm import tensor


@pytest.mark.parametrize("dtype,etype", [(np.float32, 1), (np.int64, 7)])
def test_round_trip_numpy_and_torch(edm, dtype, etype):
    a = np.arange(4 * 3, dtype=dtype).reshape(4, 3)
    coll = tensor.from_array(a)
    assert coll[0].getElementType() == etype
    assert list(coll[0].getShape()) == [4, 3]
    back = tensor.as_array(coll)
    np.testing.assert_array_equal(back, a)
    member = "floatData" if dtype == np.float32 else "int64Data"
    assert np.shares_memory(back, coll.vector_view(member))
    back[1, 2] = 99
    assert getattr(coll[0], "get" + member[0].upper() + member[1:])()[5] == 99
    t = tensor.as_torch(coll)
    assert t.shape == (4, 3) and t.data_ptr() == back.ctypes.data
    # from torch too
    coll2 = tensor.from_array(torch.from_numpy(a.copy()))
    np.testing.assert_array_equal(tensor.as_array(coll2), a)


def test_several_tensors_and_ranks(edm):
    a = np.ones((2, 2, 2), np.float32)
    b = np.arange(3, dtype=np.int64)
    c = np.zeros((0, 5), np.float32)
    coll = tensor.from_array(a, b, c)
    assert len(coll) == 3
    np.testing.assert_array_equal(tensor.as_array(coll, 0), a)
    np.testing.assert_array_equal(tensor.as_array(coll, 1), b)
    assert tensor.as_array(coll, 2).shape == (0, 5)


def test_tensor_errors(edm):
    with pytest.raises(tensor.TensorError, match="float32 .*int64.*not float64"):
        tensor.from_array(np.zeros((2, 2)))
    coll = tensor.from_array(np.zeros((2, 3), np.float32))
    coll.mutableAt(0).addToShape(2)  # shape now (2, 3, 2): 12 values expected, 6 stored
    with pytest.raises(tensor.TensorError, match=r"shape \(2, 3, 2\) needs 12 values but floatData holds 6"):
        tensor.as_array(coll)
    coll.mutableAt(0).setElementType(3)
    with pytest.raises(tensor.TensorError, match="unsupported elementType 3"):
        tensor.as_array(coll)
    with pytest.raises(IndexError, match="no index 5"):
        tensor.as_array(coll, 5)


def test_batched_describe_gather_scatter(edm):
    """The engine's block helpers: many collections described, gathered into one buffer and scattered back."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((int(rng.integers(0, 3)), 4)).astype(np.float32) for _ in range(300)]
    colls = [tensor.from_array(a) for a in arrays]
    info = tensor.describe_many(colls)
    assert (info[:, tensor.STATUS] == 0).all() and (info[:, tensor.ELEMENT_TYPE] == tensor.FLOAT).all()
    rows = info[:, tensor.SHAPE].copy()
    assert rows.tolist() == [len(a) for a in arrays]
    buf = np.empty((int(rows.sum()), 4), np.float32)
    tensor.gather(info, buf)
    np.testing.assert_array_equal(buf, np.concatenate(arrays))
    outs = [tensor.empty_collection() for _ in arrays]
    tensor.scatter(outs, buf * 2, rows)
    for a, c in zip(arrays, outs):
        np.testing.assert_array_equal(tensor.as_array(c), a * 2)
    v = tensor.emplace(outs[0], (2, 3), np.int64)
    v[:] = 7
    np.testing.assert_array_equal(tensor.as_array(outs[0], 1), np.full((2, 3), 7))
    assert tensor.element_type_of(np.int64) == tensor.INT64 and tensor.dtype_of(tensor.FLOAT) == np.float32
    assert tensor.storable(np.arange(3, dtype=np.int32)).dtype == np.int64
    assert tensor.storable(np.ones(3)).dtype == np.float32
    with pytest.raises(tensor.TensorError, match="input 'x' of event 0: the collection holds no Tensor"):
        tensor.check(tensor.describe_many([tensor.empty_collection()])[0], "input 'x' of event 0")
