"""The regime protocol: declared on the class, and what the engine reads from it."""

from __future__ import annotations

import json
import struct

import torch
from safetensors.torch import save_file

from specc.fileio import read_safetensors


def test_a_safetensors_header_of_896_bytes_is_not_taken_for_a_pickle(tmp_path):
    # a header length whose low byte is 0x80 starts like a pickle (0x80 0x03 ...)
    path = tmp_path / "w.safetensors"
    for pad in range(1000):
        save_file({"w": torch.zeros(2)}, str(path), metadata={"m": "x" * pad})
        if struct.unpack("<Q", path.read_bytes()[:8])[0] == 0x380:
            break
    head = path.read_bytes()
    assert head[:2] == b"\x80\x03" and json.loads(head[8:8 + 0x380])
    assert torch.equal(read_safetensors(path)["w"], torch.zeros(2))
