"""numpy in and out: every dtype, no copies where the layout allows, strings, bfloat16,
sequences, maps and optionals."""

import gc

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import tessera
from conftest import identity_model, make_model

NUMERIC = [
    (np.float16, TensorProto.FLOAT16), (np.float32, TensorProto.FLOAT), (np.float64, TensorProto.DOUBLE),
    (np.bool_, TensorProto.BOOL), (np.int8, TensorProto.INT8), (np.int16, TensorProto.INT16),
    (np.int32, TensorProto.INT32), (np.int64, TensorProto.INT64), (np.uint8, TensorProto.UINT8),
    (np.uint16, TensorProto.UINT16), (np.uint32, TensorProto.UINT32), (np.uint64, TensorProto.UINT64),
]


def map_type(key_type, value_type):
    """A map TypeProto (onnx.helper has no builder for one before onnx 1.13)."""
    proto = onnx.TypeProto()
    proto.map_type.key_type = key_type
    proto.map_type.value_type.CopyFrom(helper.make_tensor_type_proto(value_type, []))
    return proto


def session_for(model):
    return tessera.InferenceSession(model.SerializeToString())


@pytest.mark.parametrize("np_type,onnx_type", NUMERIC)
def test_every_numeric_dtype_round_trips(np_type, onnx_type):
    session = session_for(identity_model(onnx_type))
    x = (np.arange(7) % 3).astype(np_type)
    (y,) = session.run(None, {"x": x})
    assert y.dtype == np.dtype(np_type)
    np.testing.assert_array_equal(y, x)
    assert not np.shares_memory(x, y)  # an output never aliases a feed


def test_contiguous_input_is_read_in_place_and_output_owns_the_tensor():
    # Neg reads the input where it is: a huge input would show a copy only through memory, so
    # check what is observable: the feed is unchanged and the output is a fresh, owning view.
    session = session_for(make_model([helper.make_node("Neg", ["x"], ["y"])], [("x", TensorProto.FLOAT, ["n"])],
                                     [("y", TensorProto.FLOAT, ["n"])]))
    x = np.arange(5, dtype=np.float32)
    x.flags.writeable = False  # read-only arrays are fed without a copy too
    (y,) = session.run(None, {"x": x})
    np.testing.assert_array_equal(y, -np.arange(5, dtype=np.float32))
    assert not y.flags.owndata and type(y.base).__name__ == "PyCapsule"
    assert y.flags.writeable and y.flags.c_contiguous
    y[0] = 42  # the output is the caller's to write
    np.testing.assert_array_equal(x, np.arange(5, dtype=np.float32))


def test_strided_and_byte_swapped_inputs_are_copied_correctly():
    session = session_for(make_model([helper.make_node("Add", ["a", "b"], ["y"])],
                                     [("a", TensorProto.FLOAT, [3, 2]), ("b", TensorProto.FLOAT, [3, 2])],
                                     [("y", TensorProto.FLOAT, [3, 2])]))
    a = np.arange(6, dtype=np.float32).reshape(2, 3).T  # Fortran order
    b = np.arange(6, dtype=">f4").reshape(3, 2)  # big-endian
    (y,) = session.run(None, {"a": a, "b": b})
    np.testing.assert_array_equal(y, a + b.astype(np.float32))


def test_lists_and_scalars_take_the_declared_type():
    session = session_for(make_model([helper.make_node("Mul", ["a", "b"], ["y"])],
                                     [("a", TensorProto.INT32, [3]), ("b", TensorProto.INT32, [])],
                                     [("y", TensorProto.INT32, [3])]))
    (y,) = session.run(None, {"a": [1, 2, 3], "b": 4})
    assert y.dtype == np.int32
    np.testing.assert_array_equal(y, [4, 8, 12])


@pytest.mark.parametrize("strings", [
    np.array(["a", "héllo", ""], dtype=object), np.array(["a", "héllo", ""]), np.array([b"a", "héllo".encode(), b""]),
])
def test_strings_in_and_out(strings):
    (y,) = session_for(identity_model(TensorProto.STRING)).run(None, {"x": strings})
    assert y.dtype == object and y.tolist() == ["a", "héllo", ""]


def test_string_elements_must_be_str_or_bytes():
    with pytest.raises(tessera.InvalidArgument, match="input 'x': element 1 is int, not str or bytes"):
        session_for(identity_model(TensorProto.STRING)).run(None, {"x": np.array(["a", 3], dtype=object)})


def test_bfloat16_in_as_float_and_out_widened():
    model = make_model([helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT)],
                       [("x", TensorProto.BFLOAT16, [3])], [("y", TensorProto.FLOAT, [3])])
    (y,) = session_for(model).run(None, {"x": np.array([1.0, 1.00390625, -2.5], np.float32)})
    np.testing.assert_array_equal(y, [1.0, 1.0, -2.5])  # 1 + 2^-8 rounds to even in bfloat16
    (z,) = session_for(identity_model(TensorProto.BFLOAT16)).run(None, {"x": np.array([3.0, 0.5], np.float32)})
    assert z.dtype == np.float32
    np.testing.assert_array_equal(z, [3.0, 0.5])


def test_unsupported_numpy_dtype_is_named():
    with pytest.raises(tessera.InvalidArgument, match="input 'x': numpy dtype 'datetime64.*' has no ONNX element type"):
        session_for(identity_model(TensorProto.INT64)).run(None, {"x": np.array(["2020-01-01"], "datetime64[D]")})


def test_sequences_are_lists():
    model = make_model([helper.make_node("SequenceLength", ["s"], ["n"]),
                        helper.make_node("SequenceConstruct", ["a", "b"], ["t"])],
                       [helper.make_tensor_sequence_value_info("s", TensorProto.FLOAT, None),
                        ("a", TensorProto.FLOAT, [2]), ("b", TensorProto.FLOAT, [2])],
                       [("n", TensorProto.INT64, []), helper.make_tensor_sequence_value_info("t", TensorProto.FLOAT, None)])
    a, b = np.array([1, 2], np.float32), np.array([3, 4], np.float32)
    n, t = session_for(model).run(None, {"s": [a, b, a], "a": a, "b": b})
    assert n == 3 and isinstance(t, list) and len(t) == 2
    np.testing.assert_array_equal(t[0], a)
    np.testing.assert_array_equal(t[1], b)
    assert not np.shares_memory(t[0], a)
    (n,) = session_for(model).run(["n"], {"s": [], "a": a, "b": b})
    assert n == 0


def test_zipmap_gives_a_list_of_dicts():
    model = make_model([helper.make_node("ZipMap", ["p"], ["z"], domain="ai.onnx.ml", classlabels_int64s=[10, 20])],
                       [("p", TensorProto.FLOAT, [2, 2])],
                       [helper.make_value_info("z", helper.make_sequence_type_proto(map_type(TensorProto.INT64, TensorProto.FLOAT)))],
                       ml_opset=1)
    (z,) = session_for(model).run(None, {"p": np.array([[0.25, 0.75], [1, 0]], np.float32)})
    assert z == [{10: 0.25, 20: 0.75}, {10: 1.0, 20: 0.0}]


def test_dicts_feed_maps():
    model = make_model([helper.make_node("DictVectorizer", ["m"], ["v"], domain="ai.onnx.ml",
                                         string_vocabulary=["a", "b", "c"])],
                       [helper.make_value_info("m", map_type(TensorProto.STRING, TensorProto.FLOAT))], [("v", TensorProto.FLOAT, [1, 3])], ml_opset=1)
    (v,) = session_for(model).run(None, {"m": {"c": 2.5, "a": 1.0}})
    np.testing.assert_array_equal(v, [[1.0, 0.0, 2.5]])


def test_optionals_are_none():
    optional_float = helper.make_optional_type_proto(helper.make_tensor_type_proto(TensorProto.FLOAT, [2]))
    model = make_model([helper.make_node("OptionalHasElement", ["o"], ["has"]),
                        helper.make_node("Optional", [], ["empty"], type=helper.make_tensor_type_proto(TensorProto.FLOAT, [2]))],
                       [helper.make_value_info("o", optional_float)],
                       [("has", TensorProto.BOOL, []), helper.make_value_info("empty", optional_float)], opset=18)
    session = session_for(model)
    has, empty = session.run(None, {"o": None})
    assert has == False and empty is None  # noqa: E712 (a numpy bool)
    has, _ = session.run(None, {"o": np.array([1, 2], np.float32)})
    assert has == True  # noqa: E712


def test_array_protocol_and_dlpack_objects_are_accepted():
    class ArrayLike:
        def __init__(self, values):
            self.values = values

        def __array__(self, dtype=None):
            return np.asarray(self.values, dtype=dtype)

    session = session_for(make_model([helper.make_node("Neg", ["x"], ["y"])], [("x", TensorProto.FLOAT, ["n"])],
                                     [("y", TensorProto.FLOAT, ["n"])]))
    (y,) = session.run(None, {"x": ArrayLike(np.array([1, -2], np.float32))})
    np.testing.assert_array_equal(y, [-1, 2])
    # numpy arrays speak DLPack; a wrapper exposing only __dlpack__ goes through np.from_dlpack.
    class DLPackOnly:
        def __init__(self, array):
            self.array = array

        def __dlpack__(self, stream=None):
            return self.array.__dlpack__()

        def __dlpack_device__(self):
            return self.array.__dlpack_device__()

    (y,) = session.run(None, {"x": DLPackOnly(np.array([3, 4], np.float32))})
    np.testing.assert_array_equal(y, [-3, -4])


def test_outputs_outlive_the_session():
    session = session_for(make_model([helper.make_node("Neg", ["x"], ["y"])], [("x", TensorProto.FLOAT, ["n"])],
                                      [("y", TensorProto.FLOAT, ["n"])]))
    (y,) = session.run(None, {"x": np.ones(1000, np.float32)})
    del session
    gc.collect()
    assert float(y.sum()) == -1000.0


def test_lists_feed_optional_sequences():
    optional_seq = helper.make_optional_type_proto(helper.make_sequence_type_proto(
        helper.make_tensor_type_proto(TensorProto.FLOAT, None)))
    model = make_model([helper.make_node("OptionalGetElement", ["o"], ["s"]),
                        helper.make_node("SequenceLength", ["s"], ["n"])],
                       [helper.make_value_info("o", optional_seq)], [("n", TensorProto.INT64, [])], opset=18)
    (n,) = session_for(model).run(None, {"o": [np.zeros(2, np.float32), np.ones(3, np.float32)]})
    assert n == 2
