"""Drawing: terminal primitives, a run's progress and its start and end, sampled text streamed
to stdout, the tables of each report, and the self-contained HTML pages. Prints what the
library below returns; computes nothing of its own."""
