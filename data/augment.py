"""Data augmentation for pre-training, on a whole batch at once on its device.

The paper's code applies torchvision's RandomCrop(32, padding=4, padding_mode='symmetric') and
RandomHorizontalFlip to one image at a time in the data loader. Here every image of the batch gets its own random
offset and flip in a single gather: output pixel (r, c) of image b is pixel (r + dy_b - p, c' + dx_b - p) of the
symmetrically padded image, with c' = W-1-c for a flipped image; a padded position outside the image reads its
mirror image inside (edge included, as numpy's 'symmetric' mode).
"""
import torch


def _mirror(i, n):
    """Index into [0, n) of padded position i (symmetric padding, |padding| <= n)."""
    return torch.where(i < 0, -i - 1, torch.where(i >= n, 2 * n - 1 - i, i))


def random_crop_flip(images, padding=4, flip=True):
    """images [B, C, H, W] (any dtype) -> the same shape, each image randomly cropped from its padded frame and
    (with probability 1/2) flipped horizontally."""
    b, c, h, w = images.shape
    device = images.device
    dy = torch.randint(0, 2 * padding + 1, (b, 1), device=device)
    dx = torch.randint(0, 2 * padding + 1, (b, 1), device=device)
    rows = _mirror(torch.arange(h, device=device) + dy - padding, h)            # [B, H]
    cols = torch.arange(w, device=device).expand(b, w)
    if flip:
        cols = torch.where(torch.rand(b, 1, device=device) < 0.5, w - 1 - cols, cols)
    cols = _mirror(cols + dx - padding, w)                                       # [B, W]
    index = (rows[:, :, None] * w + cols[:, None, :]).view(b, 1, h * w).expand(b, c, h * w)
    return images.reshape(b, c, h * w).gather(2, index).view(b, c, h, w)
