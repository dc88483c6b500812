"""legalai: a self-hostable legal document AI system."""

import os

# Requests run in parallel threads and processes; multi-threaded BLAS inside each small matrix
# product (dense retrieval) only makes them fight for the same cores. Set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
# The tokenizers library (embedding model) warns, and may deadlock, when a process forks after it
# ran batches on its thread pool; worker processes fork.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
