"""DCGAN generator and discriminator (Radford et al. 2016) for square faces of 64 or 128 px.

The generator maps a latent vector ``(N, z_dim)`` to an image in [-1, 1] through transposed convolutions that double
the side from 4 px; the discriminator halves the side with strided convolutions down to 4 px and returns one logit
(or, for WGAN-GP, one critic value) per image. ``norm`` chooses the discriminator's normalisation: batch norm for
DCGAN, a per-sample layer norm (``GroupNorm(1, C)``) for the WGAN-GP critic, whose gradient penalty is taken per
sample and so must not mix the samples of a batch.

Example:
    >>> import torch
    >>> from forensics.generation.nets import build_discriminator, build_generator
    >>> g, d = build_generator(64, z_dim=8, width=4), build_discriminator(64, width=4, norm="layer")
    >>> x = g(torch.zeros(2, 8))
    >>> tuple(x.shape), tuple(d(x).shape)
    ((2, 3, 64, 64), (2,))
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from forensics.errors import ForensicsError
from forensics.generation import SIZES

NORMS = ("batch", "layer", "none")


def _stages(size: int) -> int:
    """Number of side doublings from 4 px to ``size`` (4 for 64 px, 5 for 128 px)."""
    if size not in SIZES:
        raise ForensicsError(f"image size {size} is not supported: use one of {', '.join(map(str, SIZES))} px")
    return int(math.log2(size)) - 2


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: convolutions N(0, 0.02); normalisation scales N(1, 0.02), shifts 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Generator(nn.Module):
    """Latent ``(N, z_dim)`` -> image ``(N, 3, size, size)`` in [-1, 1]."""

    def __init__(self, size: int = 64, z_dim: int = 100, width: int = 64) -> None:
        super().__init__()
        n = _stages(size)
        self.size, self.z_dim = size, z_dim
        ch = width * 2 ** (n - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_dim, ch, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ch),
            nn.ReLU(True),
        ]
        for _ in range(n - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, 3, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], self.z_dim, 1, 1))


def _norm(kind: str, ch: int) -> list[nn.Module]:
    if kind == "batch":
        return [nn.BatchNorm2d(ch)]
    if kind == "layer":
        return [nn.GroupNorm(1, ch)]
    return []


class Discriminator(nn.Module):
    """Image ``(N, 3, size, size)`` -> one logit (DCGAN) or critic value (WGAN-GP) per image, shape ``(N,)``."""

    def __init__(self, size: int = 64, width: int = 64, norm: str = "batch") -> None:
        super().__init__()
        if norm not in NORMS:
            raise ForensicsError(f"discriminator norm {norm!r}: use one of {', '.join(NORMS)}")
        n = _stages(size)
        ch = width
        layers: list[nn.Module] = [nn.Conv2d(3, ch, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        for _ in range(n - 1):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), *_norm(norm, ch * 2), nn.LeakyReLU(0.2, True)]
            ch *= 2
        layers += [nn.Conv2d(ch, 1, 4, 1, 0, bias=False)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


def build_generator(size: int = 64, *, z_dim: int = 100, width: int = 64) -> Generator:
    """A DCGAN generator with DCGAN initialisation (draws from torch's global generator: seed it first)."""
    g = Generator(size, z_dim, width)
    g.apply(init_weights)
    return g


def build_discriminator(size: int = 64, *, width: int = 64, norm: str = "batch") -> Discriminator:
    """A DCGAN discriminator / WGAN-GP critic with DCGAN initialisation."""
    d = Discriminator(size, width, norm)
    d.apply(init_weights)
    return d


def n_parameters(model: Any) -> int:
    return int(sum(p.numel() for p in model.parameters()))
