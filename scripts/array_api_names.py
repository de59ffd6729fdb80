"""The names of the array API standard (2023.12) and of NumPy that scripts/numpy_usage.py sorts
NumPy's uses by: what the standard has, what it spells otherwise, and what it lacks.

The lists come from the standard's "API specification" pages (elementwise, creation, data type,
indexing, linear algebra, manipulation, searching, set, sorting, statistical and utility
functions; data types; constants) and its "Linear Algebra Extension".
"""

from __future__ import annotations

# The main namespace of the 2023.12 standard (functions, dtypes, constants) and its linalg
# extension (under "linalg.").
_STANDARD_TEXT = """
abs acos acosh add asin asinh atan atan2 atanh bitwise_and bitwise_left_shift bitwise_invert
bitwise_or bitwise_right_shift bitwise_xor ceil clip conj copysign cos cosh divide equal exp
expm1 floor floor_divide greater greater_equal hypot imag isfinite isinf isnan less less_equal
log log1p log2 log10 logaddexp logical_and logical_not logical_or logical_xor maximum minimum
multiply negative not_equal positive pow real remainder round sign signbit sin sinh square sqrt
subtract tan tanh trunc arange asarray empty empty_like eye from_dlpack full full_like linspace
meshgrid ones ones_like tril triu zeros zeros_like astype can_cast finfo iinfo isdtype
result_type bool int8 int16 int32 int64 uint8 uint16 uint32 uint64 float32 float64 complex64
complex128 take matmul matrix_transpose tensordot vecdot broadcast_arrays broadcast_to concat
expand_dims flip moveaxis permute_dims repeat reshape roll squeeze stack tile unstack argmax
argmin nonzero searchsorted where unique_all unique_counts unique_inverse unique_values argsort
sort cumulative_sum max mean min prod std sum var all any e inf nan newaxis pi
"""
_LINALG_TEXT = """
cholesky cross det diagonal eigh eigvalsh inv matmul matrix_norm matrix_power matrix_rank
matrix_transpose outer pinv qr slogdet solve svd svdvals tensordot trace vecdot vector_norm
"""
STANDARD = frozenset(_STANDARD_TEXT.split()) | {f"linalg.{n}" for n in _LINALG_TEXT.split()}

# NumPy names whose standard spelling differs, with that spelling.
_DIFFERS_TEXT = """
absolute: abs
amax: max
amin: min
arccos: acos
arccosh: acosh
arcsin: asin
arcsinh: asinh
arctan: atan
arctan2: atan2
arctanh: atanh
array: asarray
asanyarray: asarray
bool_: bool
concatenate: concat
copy: asarray(x, copy=True)
cumsum: cumulative_sum
dot: matmul / tensordot
invert: bitwise_invert
issubdtype: isdtype
left_shift: bitwise_left_shift
linalg.norm: linalg.vector_norm / linalg.matrix_norm
ndim: x.ndim
outer: linalg.outer
power: pow
promote_types: result_type
ravel: reshape(x, (-1,))
right_shift: bitwise_right_shift
shape: x.shape
size: x.size
swapaxes: permute_dims
transpose: permute_dims
true_divide: divide
unique: unique_values
"""
DIFFERS = dict(line.split(": ", 1) for line in _DIFFERS_TEXT.strip().splitlines())

# NumPy's scalar and array types: isinstance targets, whatever the context.
_TYPE_TEXT = """
ndarray generic number integer signedinteger unsignedinteger floating inexact complexfloating
"""
TYPE_NAMES = frozenset(_TYPE_TEXT.split())
UFUNC_METHODS = frozenset({"at", "reduce", "accumulate", "outer", "reduceat"})
ERRSTATE = frozenset({"errstate", "seterr", "geterr", "seterrcall", "geterrcall"})
DTYPE_ATTRIBUTES = frozenset({"kind", "char", "itemsize", "type", "num", "byteorder"})
# Methods of ndarray that the standard's array object does not have (it has functions instead).
_METHOD_TEXT = """
astype copy tolist item view ravel flatten fill reshape transpose dot setflags nonzero sum mean
max min prod any all argmax argmin clip round cumsum std var squeeze
"""
ARRAY_METHODS = frozenset(_METHOD_TEXT.split())
