"""Sub-commands of ``python -m forensics``; every public module here is one command (see forensics/cli.py)."""
