"""The files of a nanoGPT data folder, as nanoGPT's `data/*/prepare.py` writes them: token ids
as raw `uint16`, no header, in `train.bin` and `val.bin`; for character data, `meta.pkl`. Apart from
the reader (`folder`), so that `prepare` writes the format without importing torch."""

import numpy as np

SPLIT_FILES = {"train": "train.bin", "val": "val.bin"}
META_FILE = "meta.pkl"
TOKEN_DTYPE = np.dtype(np.uint16)
