"""Seeding and device choice, so that one seed gives the same numbers on the same device; where a run ran."""
import os
import platform
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


_WARNED_THREADS = set()  # thread counts already warned about in this process (a sweep's runs: once each)


def cores():
    """The CPU cores this process may run on (its affinity: a scheduler's or taskset's share, not the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def set_threads(n):
    """torch.set_num_threads(n) (n None or 0: left as it is); returns the count before. More threads than cores
    make every step wait for threads that take turns on a core (--threads=1000 on 2 cores: 30x slower), so that
    gets one warning on stderr, once per count and process."""
    before = torch.get_num_threads()
    if n:
        available = cores()
        if n > available and n not in _WARNED_THREADS:
            _WARNED_THREADS.add(n)
            print(f"warning: --threads={n} is more than the {available} CPU core(s) this process may use: "
                  f"expect a much slower run (the numbers do not change)", file=sys.stderr, flush=True)
        torch.set_num_threads(n)
    return before


def choose_device(cuda=True):
    return torch.device("cuda" if cuda and torch.cuda.is_available() else "cpu")


def data_dir(cli_value=None):
    """--data-dir, else $CL_DATA_DIR, else ./store/datasets."""
    return cli_value or os.environ.get("CL_DATA_DIR") or os.path.join(".", "store", "datasets")


def cpu_model():
    """The CPU's model name with its family and model numbers (Linux: /proc/cpuinfo; else platform's): with the
    same torch, threads and seed, another CPU model can round floats otherwise and so give other accuracies."""
    try:
        with open("/proc/cpuinfo") as f:
            info = {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in f) if value}
    except OSError:
        info = {}
    name = info.get("model name") or platform.processor() or platform.machine()
    numbers = [f"{key} {info[key]}" for key in ("cpu family", "model") if key in info]
    return f"{name} ({', '.join(numbers)})" if numbers else name


def node():
    """Where this process runs: the host and its CPU model, and inside a Ray task its node and the CPUs Ray gave it
    (a sweep on a cluster records it in each result)."""
    where = {"host": socket.gethostname(), "cpu": cpu_model()}
    ray = sys.modules.get("ray")  # only a process that Ray started (or that uses Ray) has it
    if ray is not None and ray.is_initialized():
        context = ray.get_runtime_context()
        where["ray_node"] = context.get_node_id()
        where["ray_cpus"] = context.get_assigned_resources().get("CPU")
    return where
