"""DD4hep-style cellID bit fields: encode/decode 64-bit cell identifiers, vectorised over numpy arrays.

An encoding string lists the fields from the least significant bit up, as DD4hep readouts write them:

    "system:5,layer:6,module:4,x:32:-16,y:-16"

`name:width` starts where the previous field ended; `name:offset:width` starts at bit `offset`. A negative
width marks a signed field (two's complement inside its bits), so `x:32:-16` is a signed 16-bit field
at bit 32. The same string is what DD4hep and k4FWCore files carry as `<collection>__CellIDEncoding`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METADATA_SUFFIX = "__CellIDEncoding"


def encoding_key(collection: str) -> str:
    """The metadata parameter under which the encoding of `collection` is stored."""
    return collection + METADATA_SUFFIX


@dataclass(frozen=True)
class BitField:
    """One field: `width` bits starting at bit `offset`; `signed` fields hold two's complement values."""

    name: str
    offset: int
    width: int
    signed: bool

    @property
    def mask(self) -> np.uint64:
        return np.uint64(((1 << self.width) - 1) << self.offset)

    @property
    def min_value(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def max_value(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1


class BitFieldCoder:
    """Encoder/decoder of a DD4hep cellID encoding string (see the module docstring)."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.fields: dict[str, BitField] = {}
        offset = 0
        for item in (s.strip() for s in encoding.split(",")):
            parts = item.split(":")
            if len(parts) not in (2, 3) or not parts[0]:
                raise ValueError(
                    f"cellID encoding {encoding!r}: field {item!r} is not 'name:width' or 'name:offset:width'"
                )
            try:
                numbers = [int(p) for p in parts[1:]]
            except ValueError:
                raise ValueError(
                    f"cellID encoding {encoding!r}: field {item!r} has a non-integer width/offset"
                ) from None
            if len(numbers) == 2:
                offset = numbers[0]
            width = numbers[-1]
            name = parts[0]
            if width == 0 or offset < 0 or offset + abs(width) > 64:
                raise ValueError(f"cellID encoding {encoding!r}: field {name!r} does not fit in 64 bits")
            if name in self.fields:
                raise ValueError(f"cellID encoding {encoding!r}: field {name!r} appears twice")
            field = BitField(name, offset, abs(width), width < 0)
            for other in self.fields.values():
                if int(other.mask) & int(field.mask):
                    raise ValueError(f"cellID encoding {encoding!r}: fields {other.name!r} and {name!r} overlap")
            self.fields[name] = field
            offset += abs(width)

    @property
    def field_names(self) -> list[str]:
        return list(self.fields)

    def __repr__(self) -> str:
        return f"BitFieldCoder({self.encoding!r})"

    def _field(self, name: str) -> BitField:
        if name not in self.fields:
            raise KeyError(f"cellID encoding {self.encoding!r} has no field {name!r}; fields: {', '.join(self.fields)}")
        return self.fields[name]

    def encode(self, **fields: np.ndarray | int) -> np.ndarray:
        """uint64 cellIDs from field values (arrays broadcast together; missing fields are 0).

        Values outside a field's range raise ValueError naming the field, rather than corrupting neighbours.
        """
        unknown = set(fields) - set(self.fields)
        if unknown:
            raise KeyError(
                f"cellID encoding {self.encoding!r} has no field(s) {sorted(unknown)}; fields: {', '.join(self.fields)}"
            )
        arrays = np.broadcast_arrays(*[np.asarray(v, dtype=np.int64) for v in fields.values()]) if fields else []
        shape = arrays[0].shape if arrays else ()
        out = np.zeros(shape, dtype=np.uint64)
        for name, values in zip(fields, arrays):
            f = self.fields[name]
            if values.size and (values.min() < f.min_value or values.max() > f.max_value):
                raise ValueError(
                    f"cellID field {name!r} ({'signed ' if f.signed else ''}{f.width} bits) holds "
                    f"[{f.min_value}, {f.max_value}]; got values in [{values.min()}, {values.max()}]"
                )
            bits = values.astype(np.uint64) & np.uint64((1 << f.width) - 1)  # two's complement for negatives
            out |= bits << np.uint64(f.offset)
        return out

    def get(self, cell_ids: np.ndarray, name: str) -> np.ndarray:
        """Field `name` of every cellID as int64 (signed fields sign-extended)."""
        f = self._field(name)
        raw = (np.asarray(cell_ids, dtype=np.uint64) >> np.uint64(f.offset)) & np.uint64((1 << f.width) - 1)
        values = raw.astype(np.int64)
        if f.signed:
            values = np.where(values >= (1 << (f.width - 1)), values - (1 << f.width), values)
        return values

    def decode(self, cell_ids: np.ndarray) -> dict[str, np.ndarray]:
        """All fields of every cellID, as int64 arrays keyed by field name."""
        return {name: self.get(cell_ids, name) for name in self.fields}
