"""charrnn: a character-level RNN in NumPy, trained by teacher forcing and BPTT."""

__version__ = "0.1.0"
