"""Per-batch conversion from stored uint8 images to network input: scaling, pixel permutation, normalisation."""
import torch


class Preprocess:
    def __init__(self, permutations=None, mean=None, std=None):
        """permutations: LongTensor [contexts, pixels] (permuted MNIST); mean/std: per channel (CIFAR)."""
        self.permutations = permutations
        self.mean = None if mean is None else torch.tensor(mean).view(1, -1, 1, 1)
        self.std = None if std is None else torch.tensor(std).view(1, -1, 1, 1)

    def to(self, device):
        out = Preprocess()
        out.permutations = None if self.permutations is None else self.permutations.to(device)
        out.mean = None if self.mean is None else self.mean.to(device)
        out.std = None if self.std is None else self.std.to(device)
        return out

    def __call__(self, images, context):
        # stored uint8 images are scaled to [0, 1]; float ones (own data, data.benchmarks.custom) are taken as given
        x = images.float().div_(255.0) if images.dtype == torch.uint8 else images.float().clone()
        if self.permutations is not None:
            flat = x.flatten(1)
            perm = self.permutations[context]
            flat = flat[:, perm] if perm.dim() == 1 else flat.gather(1, perm)
            x = flat.view_as(x)
        if self.mean is not None:
            x = (x - self.mean) / self.std
        return x


class Precomputed:
    """The preprocessing of data that are network input already (conv features computed once, models/features.py):
    none. Same interface as Preprocess."""

    def to(self, device):
        return self

    def __call__(self, inputs, context):
        return inputs
