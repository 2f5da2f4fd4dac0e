"""Face generators trained on the lab's own faces: DCGAN and WGAN-GP at 64 or 128 px (``nets``, ``losses``), their
training data (``data``: face crops made as for detector training), the trainer (``trainer``: resumable, logged), a
frozen detector as a second critic (``against``), sampling with provenance (``sampling``) and the run folders the
dashboard lists (``runs``).

What they are for: known-fake faces from a generator no published detector has seen (a test the lab controls), and,
trained against a detector, the fakes that detector misses (hard examples for training it). What they are not: 64 px
GAN faces are no stand-in for modern generators (StyleGAN, diffusion).

Heavy imports (torch) happen inside functions or in the modules that need them: importing this package stays light.

Example:
    >>> from forensics.generation import ARCHITECTURES, SIZES
    >>> ARCHITECTURES, SIZES
    (('dcgan', 'wgan-gp'), (64, 128))
"""

ARCHITECTURES = ("dcgan", "wgan-gp")
SIZES = (64, 128)

__all__ = ["ARCHITECTURES", "SIZES"]
