"""Text in: reading a user's file (encodings, byte-order marks, standard input), the named
corpora, and the corpus cut into a train/validation split, streams and windows. Stands on ground."""
