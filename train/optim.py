"""Optimizers as in the paper's protocol: Adam (betas 0.9, 0.999), Adam reset at every context, or SGD."""
import torch


def make_optimizer(params, args):
    params = [p for p in params if p.requires_grad]
    if args.optimizer == "sgd":
        return torch.optim.SGD(params, lr=args.lr, momentum=args.momentum)
    return torch.optim.Adam(params, lr=args.lr, betas=(0.9, 0.999))
