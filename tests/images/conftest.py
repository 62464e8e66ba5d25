"""Shared fixtures of the real-image tests: one torch thread, generated datasets, a local HTTP
server on 127.0.0.1 serving a temporary folder."""
import functools
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import pytest  # noqa: E402
import torch  # noqa: E402

from image_files import write_idx_set  # noqa: E402

torch.set_num_threads(1)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_server(tmp_path, monkeypatch):
    """(folder, base URL): files put in folder are served at base URL + name."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    root = tmp_path / "www"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def mnist_dir(tmp_path_factory):
    """A generated MNIST-format dataset (60 training, 30 test 28x28 images), and its arrays."""
    folder = tmp_path_factory.mktemp("mnist")
    arrays = write_idx_set(folder, n_train=60, n_test=30, side=28, gz=True, seed=5)
    return folder, arrays
