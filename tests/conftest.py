import os

os.environ.setdefault("D4P_TIMEOUT", "60")  # a broken collective fails a test, never hangs it

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import d4p  # noqa: E402

d4p.set_config(timeout=60)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
