"""The protobuf wire format and the few onnx.proto messages, by hand, for the tools that write small ONNX files
without the onnx package (python3-onnx is not always installed, and some files
must be malformed in ways it would refuse to write). Field numbers from
onnx.proto."""
import struct


def varint(n):
    n &= (1 << 64) - 1  # negative int64 as two's complement
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wire):
    return varint((field << 3) | wire)


def f_varint(field, n):
    return key(field, 0) + varint(n)


def f_bytes(field, data):
    if isinstance(data, str):
        data = data.encode()
    return key(field, 2) + varint(len(data)) + data


def f_float(field, x):
    return key(field, 5) + struct.pack("<f", x)


# --- onnx.proto messages (only the fields the tools use) -------------------
FLOAT, INT64 = 1, 7  # TensorProto.DataType
A_FLOAT, A_INT, A_GRAPH = 1, 2, 5  # AttributeProto.AttributeType


def tensor(name, dims, dtype=FLOAT, raw=b""):
    # TensorProto: dims=1, data_type=2, name=8, raw_data=9
    return b"".join(f_varint(1, d) for d in dims) + f_varint(2, dtype) + f_bytes(8, name) + \
        f_bytes(9, raw)


def value_info(name, dims, dtype=FLOAT):
    # ValueInfoProto{name=1, type=2}; TypeProto{tensor_type=1};
    # Tensor{elem_type=1, shape=2}; TensorShapeProto{dim=1}; Dimension{dim_value=1}
    shape = b"".join(f_bytes(1, f_varint(1, d)) for d in dims)
    return f_bytes(1, name) + f_bytes(2, f_bytes(1, f_varint(1, dtype) + f_bytes(2, shape)))


def attr_int(name, v):
    # AttributeProto: name=1, i=3, type=20
    return f_bytes(1, name) + f_varint(3, v) + f_varint(20, A_INT)
