"""One VAE per class, and classification by which class's VAE gives the input the highest likelihood.

The model of the Generative Classifier (van de Ven, Li & Tolias, "Class-incremental learning with generative
classifiers", CVPR-W 2021). The VAEs share no parameters, so training the VAEs of one context's classes together,
each on its own class's samples, is the same arithmetic as training them one after another.

On CIFAR the VAEs model the features of frozen conv layers (`conv`, shared by all classes, as the paper runs it:
on the output of pre-trained conv layers, frozen): the model's input goes through `conv` first, which passes
features computed once (models/features.py) through as they are.

`trained` (a buffer, saved with the model) marks the classes whose VAE has been trained: the others score -inf.
"""
import torch
from torch import nn


# importance samples x inputs x pixels decoded in one pass: on CPU small enough for the intermediate tensors to stay
# in cache (1 MB each; 3-4x faster than 64 MB passes on split MNIST), on a GPU large enough to fill it
ELEMENTS_PER_PASS = {"cpu": 1 << 18}
DEFAULT_ELEMENTS_PER_PASS = 1 << 24


class GenerativeClassifier(nn.Module):
    def __init__(self, make_vae, n_classes, conv=None):
        """`make_vae()` returns a new VAE (called once per class); `conv`: frozen conv layers in front, or None."""
        super().__init__()
        self.conv = conv
        self.vaes = nn.ModuleList(make_vae() for _ in range(n_classes))
        self.register_buffer("trained", torch.zeros(n_classes, dtype=torch.bool))

    def loss(self, x, blocks):
        """Sum over classes of each class's VAE loss on its own samples: `x` holds, class after class, the samples
        of `blocks` = [(label, count)]. Each VAE's gradient is that of its own loss, as if trained alone."""
        x = self.inputs(x)
        total, start = 0.0, 0
        for label, count in blocks:
            total = total + self.vaes[label].loss(x[start:start + count])
            start += count
        return total

    def log_likelihoods(self, x, S=50, observation="gaussian"):
        """[N, classes] importance-sampled estimates of log p(x | class) with S samples each (-inf for classes not
        trained yet). One decoder pass holds at most ELEMENTS_PER_PASS values (VAE.log_likelihood's max_elements):
        inputs in chunks, and with many samples (the paper's --eval-s=10000 on CIFAR-100) the samples of one input
        in chunks too, so memory stays bounded whatever S. Classes are taken one after another: a class's work on a
        test chunk fills passes of the cap (all but its last), so fusing classes would hardly make the passes fewer,
        and would change the random draws (drawn class after class)."""
        x = self.inputs(x)
        scores = x.new_full((x.shape[0], len(self.vaes)), float("-inf"))
        cap = ELEMENTS_PER_PASS.get(x.device.type, DEFAULT_ELEMENTS_PER_PASS)
        for label in self.trained.nonzero().flatten().tolist():
            scores[:, label] = self.vaes[label].log_likelihood(x, S, observation, max_elements=cap)
        return scores

    def inputs(self, x):
        """What the VAEs model: `x` itself, or its features through the frozen conv layers."""
        if self.conv is None:
            return x
        with torch.no_grad():
            return self.conv(x)

    def forward(self, x, context=None):
        """Scores of every class (the default number of importance samples; the component passes --eval-s)."""
        return self.log_likelihoods(x)

    @torch.no_grad()
    def sample(self, n):
        """`n` images, each from the VAE of a class drawn uniformly among the trained ones."""
        labels = self.trained.nonzero().flatten()
        if labels.numel() == 0:
            labels = torch.arange(len(self.vaes), device=self.trained.device)
        pick = labels[torch.randint(labels.numel(), (n,), device=labels.device)].tolist()
        images = [self.vaes[label].sample(pick.count(label)) for label in sorted(set(pick))]
        return torch.cat(images)
