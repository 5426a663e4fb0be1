"""What ``run`` shows while it trains: a live rich display on a terminal (runs done / total, the
current run's epoch and metrics, elapsed and ETA), plain log lines otherwise (CI, pipes), and only
one line per finished run with ``quiet``."""
from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class Reporter:
    """Context manager; ``live`` defaults to whether the console is a terminal."""

    def __init__(self, console: Console, total: int, quiet: bool = False, live: bool | None = None) -> None:
        self.console, self.total, self.quiet = console, total, quiet
        self.live = (console.is_terminal if live is None else live) and not quiet
        self.progress: Progress | None = None

    def __enter__(self) -> "Reporter":
        if self.live and self.total:
            self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                     console=self.console)
            self.progress.start()
            self.runs = self.progress.add_task("runs", total=self.total)
            self.epochs = self.progress.add_task("", total=1, visible=False)
        return self

    def __exit__(self, *exc) -> None:
        if self.progress:
            self.progress.stop()

    def run_started(self, tag: str, epochs: int) -> None:
        self.tag = tag
        if self.progress:
            self.progress.reset(self.epochs, total=epochs, description=f"{tag}", visible=True)

    def epoch(self, h: dict) -> None:
        text = (f"{self.tag} epoch {h['epoch']}: train_loss {h['train_loss']:.4f} val_acc {h['val_acc']:.4f} "
                f"({h['seconds']:.1f}s)")
        if self.progress:
            self.progress.update(self.epochs, advance=1, description=text)
        elif not self.quiet:
            self.console.print(text, highlight=False)

    def run_done(self, text: str) -> None:
        if self.progress:
            self.progress.advance(self.runs)
        self.console.print(text, highlight=False)
