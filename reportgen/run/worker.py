"""The worker side of one run: train it where this code runs and return its result (not yet stored:
the driver, :mod:`reportgen.run.execute`, stores it). Called in-process, in a pool process or on a
Ray worker (:mod:`reportgen.run.backends`)."""
from __future__ import annotations

import time

from reportgen.run import checkpoint
from reportgen.run.jobs import Job, failure, finish_run, worker_setup
from reportgen.run.provenance import attempt, earlier_attempts, now


def run_job(job: Job, on_epoch=None) -> dict:
    """Train one run where this function runs and return its result (not yet stored): resumes from
    the run's checkpoint if one exists and turns an exception of the run into a ``failed`` result
    with the reason. The run's lock is the driver's (:mod:`reportgen.run.execute` holds it until the
    result is stored). A checkpoint that could not be loaded is named, with the reason, in the
    returned dict's ``warnings`` (a list of lines the driver prints and removes before storing).
    KeyboardInterrupt propagates (the driver records ``interrupted``). A pack of runs
    (``job.members``) goes to :func:`reportgen.run.packing.run_pack`."""
    if job.members:
        from reportgen.run.packing import run_pack

        return run_pack(job, on_epoch)
    from reportgen.run.peakmem import Peak
    from reportgen.run.train import train_run

    dev, mnist, prov = worker_setup(job)
    ckpt = checkpoint.checkpoint_path(job.results, job.key)
    config = job.config
    t0, started, before, earlier, warnings = time.perf_counter(), now(), 0, [], []
    with Peak(dev) as peak:
        try:
            probes = ()
            if config.probes:
                from reportgen.run.probes import make_probes

                probes = make_probes(config)
            if config.train.range_test is not None:  # one epoch, no checkpoints: rerun if killed
                from reportgen.run.lrfinder import range_test

                out = range_test(config, job.seed, mnist)
            else:
                resume = checkpoint.load(ckpt, warn=warnings.append)
                # A resumed run records its earlier, killed attempts too (their epochs are in its history).
                earlier, before = earlier_attempts(resume), len((resume or {}).get("history", ()))
                out = train_run(config, job.seed, mnist, probes=probes, on_epoch=on_epoch, resume=resume,
                                checkpoint=lambda state: checkpoint.save(ckpt, {**state, "attempts": earlier + [
                                    attempt(prov, started, time.perf_counter() - t0, len(state["history"]) - before)]}))
            out = finish_run(job, out.pop("model"), out, mnist.x_test)
            if mnist.names:
                out["class_names"] = list(mnist.names)
        except Exception as err:  # noqa: BLE001 - one run's failure must not stop the suite
            out = failure(err)
    epochs = len(out["history"]) - before if "history" in out else None
    attempts = earlier + [attempt(prov, started, time.perf_counter() - t0, epochs)]
    return {**job.header, **out, "wall_seconds": sum(a["wall_seconds"] for a in attempts), "peak_mem_mb": peak.mb,
            "provenance": {**prov, "attempts": attempts}, **({"warnings": warnings} if warnings else {})}
