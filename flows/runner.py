"""Choose where the tasks run: the default thread pool, or an existing Dask cluster."""

from __future__ import annotations


def with_task_runner(flow_fn, dask_address: str | None):
    """(flow, dask_workers): the flow bound to a DaskTaskRunner when an address is given."""
    if not dask_address:
        return flow_fn, 0
    from distributed import Client
    from prefect_dask import DaskTaskRunner

    with Client(dask_address, timeout=30) as client:
        workers = max(1, len(client.scheduler_info()["workers"]))
    return flow_fn.with_options(task_runner=DaskTaskRunner(address=dask_address)), workers
