"""Seeding and device choice, so that one seed gives the same numbers on the same device; where a run ran."""
import os
import random
import socket
import sys

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


def node():
    """Where this process runs: the host, and inside a Ray task its node and the CPUs Ray gave it (a sweep on a
    cluster records it in each result)."""
    where = {"host": socket.gethostname()}
    ray = sys.modules.get("ray")  # only a process that Ray started (or that uses Ray) has it
    if ray is not None and ray.is_initialized():
        context = ray.get_runtime_context()
        where["ray_node"] = context.get_node_id()
        where["ray_cpus"] = context.get_assigned_resources().get("CPU")
    return where
