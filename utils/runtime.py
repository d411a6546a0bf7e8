"""Seeding and device choice, so that one seed gives the same numbers on the same device."""
import os
import random

import numpy as np
import torch


def set_seed(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def choose_device(cuda=True):
    return torch.device("cuda" if cuda and torch.cuda.is_available() else "cpu")


def data_dir(cli_value=None):
    """--data-dir, else $CL_DATA_DIR, else ./store/datasets."""
    return cli_value or os.environ.get("CL_DATA_DIR") or os.path.join(".", "store", "datasets")
