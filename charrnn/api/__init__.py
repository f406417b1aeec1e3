"""The Python interface, for notebooks and scripts: a trained model loaded (`Model`: sample,
loss, info) and a run trained (`train`), each calling the same library functions the command
line calls. `charrnn/__init__.py` exposes it as `charrnn.load` and `charrnn.train`
(docs/python.md). Stands on views (progress) and below; the CLI stands on it."""
