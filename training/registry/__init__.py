"""MLflow tracking and model registry: the only package in Polku that imports mlflow.

- `store`: where the tracking and registry store is, and its errors;
- `runs`: logging a training run and registering its model (the write side);
- `versions`: finding, listing and promoting registered versions;
- `served`: loading a version for serving, and the reports its run logged
  (the read side, the only part the API imports);
- `pyfunc`: the model as an MLflow pyfunc.

The package imports nothing at import time, so the API can load the read
side without the training pipeline.
"""

from typing import Any


def __getattr__(name: str) -> Any:
    # Models logged as code name `training.registry.PolkuRouterModel`; this
    # keeps them loadable without importing the pyfunc for every other use.
    if name == "PolkuRouterModel":
        from training.registry.pyfunc import PolkuRouterModel

        return PolkuRouterModel
    raise AttributeError(name)
