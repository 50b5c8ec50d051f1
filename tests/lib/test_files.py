# SPDX-License-Identifier: MIT
"""Files the program tests put in a peer's folder and read back."""
import os


def make_folder(path, files):
    """Creates `path` with each name -> bytes of `files` in it; returns `path`."""
    os.makedirs(path, exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(path, name), "wb") as f:
            f.write(data)
    return path


def read(path):
    with open(path, "rb") as f:
        return f.read()
