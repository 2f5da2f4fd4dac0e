"""GAN losses on discriminator logits / critic values (one number per image).

- Non-saturating GAN (Goodfellow et al. 2014, as in DCGAN): the discriminator minimises
  ``-log D(x) - log(1 - D(G(z)))``; the generator minimises ``-log D(G(z))``. Written with ``softplus`` on logits:
  ``-log sigmoid(l) = softplus(-l)`` and ``-log(1 - sigmoid(l)) = softplus(l)``.
- WGAN (Arjovsky et al. 2017): the critic minimises ``E[C(fake)] - E[C(real)]``, the generator ``-E[C(fake)]``.
- Gradient penalty (Gulrajani et al. 2017): ``E[(||grad_x C(x_hat)||_2 - 1)^2]`` on points ``x_hat`` drawn uniformly
  on the segments between real and fake images, one norm per image.

Example:
    >>> import torch
    >>> from forensics.generation.losses import wgan_critic_loss
    >>> float(wgan_critic_loss(torch.tensor([2.0, 4.0]), torch.tensor([1.0, 1.0])))
    -2.0
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def ns_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """``mean(-log sigmoid(real)) + mean(-log(1 - sigmoid(fake)))``."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def ns_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """``mean(-log sigmoid(fake))``: the non-saturating generator loss."""
    return F.softplus(-fake_logits).mean()


def wgan_critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """``mean(C(fake)) - mean(C(real))`` (the negated Wasserstein estimate), without the penalty."""
    return fake_scores.mean() - real_scores.mean()


def wgan_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    return -fake_scores.mean()


def interpolates(real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """``eps * real + (1 - eps) * fake`` with one ``eps`` per image (shape ``(N,)``)."""
    e = eps.view(-1, *([1] * (real.dim() - 1))).to(real.dtype)
    return e * real + (1 - e) * fake


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    eps: torch.Tensor,
) -> torch.Tensor:
    """``mean over images of (||d critic / d x_hat||_2 - 1)^2`` at ``x_hat = interpolates(real, fake, eps)``; the
    graph is kept (``create_graph``), so the penalty trains the critic. ``eps``: uniform [0, 1] draws, one per
    image (the caller draws them, so runs are reproducible)."""
    x_hat = interpolates(real.detach(), fake.detach(), eps).requires_grad_(True)
    scores = critic(x_hat)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    norms = grad.flatten(1).norm(2, dim=1)
    return ((norms - 1.0) ** 2).mean()
