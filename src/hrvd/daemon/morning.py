"""A morning measurement in the daemon: beats in, countdown and readiness out.

The pure measurement (:mod:`hrvd.coach.morning`) decides; this module feeds it the strap's
beats, publishes its progress on ``hrvd/morning`` (QoS 0, once a second) and its end
(durable), keeps a valid morning in the store (one a day: a later one replaces it only
when started as a repeat), and publishes the day's readiness retained on ``hrvd/readiness``.
The daemon publishes the latest stored readiness again at every start
(:func:`stored_readiness`): a readiness measured while the broker was away, or without
the daemon, reaches the broker all the same. A run is one athlete's: their topics
(``hrvd/<athlete>/morning`` in a household) and their rows of the store.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import structlog

from hrvd.coach.baseline import Posture
from hrvd.coach.morning import MorningMeasurement
from hrvd.coach.morning_quality import invalid_advice
from hrvd.coach.morning_values import InvalidReason, MorningSettings, MorningState
from hrvd.coach.orthostatic_baseline import judged_payload, ortho_line
from hrvd.coach.readiness import assess, readiness_payload
from hrvd.daemon.analysis_worker import WorkerAnalyst
from hrvd.publish.messages import ABSENT, MorningMessage, ReadinessMessage
from hrvd.store import StoreError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import date
    from typing import Any

    from rich.console import Console

    from hrvd.ble.timeline import TimedBeat
    from hrvd.coach.baseline import Morning
    from hrvd.coach.morning_values import MorningResult
    from hrvd.coach.orthostatic import OrthoRecord
    from hrvd.coach.readiness import ReadinessResult
    from hrvd.config import Config
    from hrvd.publish.messages import Payload, Sink
    from hrvd.store import Store

log = structlog.get_logger("hrvd.morning")


class Progress(Protocol):
    """A measurement's progress: :class:`~hrvd.coach.morning_values.MorningProgress` or a test's."""

    @property
    def state(self) -> MorningState:
        """The measurement's state."""
        ...

    def payload(self) -> dict[str, object]:
        """The ``hrvd/morning`` JSON object, without its ``id`` (:class:`MorningMessage`)."""
        ...


class Measurement(Protocol):
    """What a run feeds: a morning measurement, or an orthostatic test."""

    day: date
    posture: Posture

    @property
    def result(self) -> MorningResult | None:
        """The (lying) result once it is over."""
        ...

    def add(self, beats: tuple[TimedBeat, ...], now_s: float) -> Progress:
        """Take beats and the time."""
        ...

    def tick(self, now_s: float) -> Progress:
        """Take the time."""
        ...


class MorningRun:
    """One measurement, from the command to the published readiness.

    Its beats are analysed at the end by a worker process started with it
    (:mod:`hrvd.daemon.analysis_worker`): the daemon never loads numpy. Talking to that
    process blocks, so the measurement takes its beats and ticks on a thread of its own, one
    step at a time and in order; their progress comes back to the event loop.

    Args:
        config: for the timing, posture, language and topics.
        day: the local date when the measurement starts.
        now_s: when it starts, s (monotonic, as the beats).
        repeat: a repeat replaces the day's valid morning.
        sink: where messages go.
        store: where the morning is kept.
        on_end: called when the measurement is over (valid or not).
        posture: lying, sitting or standing; default: ``[morning] posture``.
    """

    def __init__(  # noqa: PLR0913 - one measurement's collaborators
        self,
        config: Config,
        *,
        day: date,
        now_s: float,
        repeat: bool,
        sink: Sink,
        store: Store,
        on_end: Callable[[], None],
        posture: str | None = None,
    ) -> None:
        self.config = config
        m = config.morning
        settings = MorningSettings(
            stabilise_s=m.stabilise_s, measure_s=m.measure_s, hr_rest_bpm=config.athlete.hr_rest
        )
        self._analyst = WorkerAnalyst()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hrvd-morning")
        self._steps: set[asyncio.Future[Any]] = set()
        self.measurement: Measurement = self._measurement(
            settings,
            day=day,
            now_s=now_s,
            repeat=repeat,
            posture=Posture(posture or m.posture),
        )
        self.sink = sink
        self.store = store
        self.on_end = on_end
        self.athlete = config.athlete.name
        self.base = config.topic_base()
        self._done = False
        self._worker_ended = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._step(self._analyst.start)

    async def close(self) -> None:
        """The daemon stops: the measurement ends where it is, its worker with it."""
        self._done = True
        self._end_worker()
        await self.settled()

    def _end_worker(self) -> None:
        """Close the worker process on the measurement's thread, after the steps before."""
        if self._worker_ended:
            return
        self._worker_ended = True
        ended = asyncio.get_running_loop().run_in_executor(self._thread, self._analyst.close)
        self._steps.add(ended)
        ended.add_done_callback(self._steps.discard)
        self._thread.shutdown(wait=False)

    async def settled(self) -> None:
        """Wait until the steps handed over, the end's store writes and readiness are done."""
        while self._steps or self._tasks:
            await asyncio.gather(*self._steps, *self._tasks, return_exceptions=True)

    def _measurement(
        self,
        settings: MorningSettings,
        *,
        day: date,
        now_s: float,
        repeat: bool,
        posture: Posture,
    ) -> Measurement:
        """What this run measures: a morning measurement (an orthostatic run: its test)."""
        return MorningMeasurement(
            started_at_s=now_s,
            day=day,
            posture=posture,
            settings=settings,
            repeat=repeat,
            analyst=self._analyst,
        )

    async def _orthostatic(self) -> dict[str, object] | None:
        """The readiness message's ``orthostatic`` (an orthostatic run: the test's values)."""
        return None

    def on_beats(self, beats: tuple[TimedBeat, ...], now_s: float) -> None:
        """The strap's beats of one notification."""
        self._step(self.measurement.add, beats, now_s, then=self._progress)

    def tick(self, now_s: float) -> None:
        """Once a second: the countdown, and the end of a strap gone quiet."""
        self._step(self.measurement.tick, now_s, then=self._progress)

    def _step(
        self,
        step: Callable[..., Any],
        *args: object,
        then: Callable[[Any], None] | None = None,
    ) -> None:
        """``step(*args)`` on the measurement's thread; ``then(result)`` back on the loop."""
        if self._done:
            return
        future = asyncio.get_running_loop().run_in_executor(self._thread, step, *args)
        self._steps.add(future)

        def stepped(done: asyncio.Future[object]) -> None:
            self._steps.discard(done)
            if done.cancelled():
                return
            if (exc := done.exception()) is not None:
                log.error("morning measurement step failed", error=repr(exc))
            elif then is not None:
                then(done.result())

        future.add_done_callback(stepped)

    def _progress(self, progress: Progress) -> None:
        if self._done:
            return
        message = MorningMessage(**progress.payload())  # type: ignore[arg-type] # keys: its fields
        if progress.state in {MorningState.DONE, MorningState.INVALID}:
            self._done = True
            self._end_worker()
            m = self.measurement
            ended = datetime.now().astimezone().isoformat(timespec="seconds")
            message = replace(message, id=f"morning:{m.day.isoformat()}:{m.posture.value}:{ended}")
            self.sink.durable(message.topic(self.base), message.payload())
            result = self.measurement.result
            if result is not None:
                task = asyncio.create_task(self._finish(result))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            self.on_end()
        else:
            self.sink.state(message.topic(self.base), message.payload())

    async def _finish(self, result: MorningResult) -> None:
        try:
            await self.store.add_measurement(
                result.day,
                result.posture.value,
                valid=result.valid,
                reason=None if result.reason is None else str(result.reason),
                raw_rr=[b.rr_ms for b in result.raw],
                athlete=self.athlete,
            )
        except StoreError as exc:
            log.error("measurement not stored", error=str(exc))  # noqa: TRY400 - reported, not a bug
        morning = result.morning()
        if morning is None:
            log.info("morning measurement invalid", reason=result.reason, detail=result.detail)
            return
        try:
            written = await self.store.add_mornings(
                [morning],
                source="measured",
                raw_rr=[b.rr_ms for b in result.raw],
                replace=result.repeat,
                athlete=self.athlete,
            )
            history = await asyncio.to_thread(self.store.mornings, self.athlete)
        except StoreError as exc:
            log.error("morning not stored", error=str(exc))  # noqa: TRY400 - reported, not a bug
            return
        if not written:
            log.info(
                "a valid morning already counts today; repeat to replace it", day=str(result.day)
            )
            return
        readiness = assess(morning, history)
        orthostatic = await self._orthostatic()
        # A repeat gives the day a new score: its own id, so that a consumer that drops
        # redeliveries by id does not drop it.
        ended = datetime.now().astimezone().isoformat(timespec="seconds")
        message = replace(
            readiness_message(readiness, self.config.athlete.language),
            orthostatic=ABSENT if orthostatic is None else orthostatic,
            id=f"readiness:{result.day.isoformat()}:{result.posture.value}:{ended}",
        )
        log.info("readiness", status=readiness.status.value, score=readiness.score)
        self.sink.durable(message.topic(self.base), message.payload())


def readiness_message(result: ReadinessResult, language: str) -> ReadinessMessage:
    """The ``hrvd/readiness`` message of a result, without ``orthostatic`` and ``id``."""
    return ReadinessMessage(**readiness_payload(result, language))  # type: ignore[arg-type]


def stored_readiness(
    mornings: list[Morning],
    posture: str,
    language: str,
    orthostatic_tests: Sequence[OrthoRecord] = (),
) -> ReadinessMessage | None:
    """The readiness of the latest stored morning, as published, or None without one.

    Of the latest day's mornings, the one in ``posture`` (``[morning] posture``) if any.
    An orthostatic test of that day (``orthostatic_tests``, oldest first) comes with it,
    judged against the earlier tests as when it was taken: the retained readiness that
    replaces the test's own must not drop its values. Its ``id`` comes from its content:
    the same readiness published again has the same id (a consumer may drop it), a
    different one (a repeat) has its own.
    """
    if not mornings:
        return None
    latest = max(m.day for m in mornings)
    days = [m for m in mornings if m.day == latest]
    morning = next((m for m in days if m.posture.value == posture), days[-1])
    message = readiness_message(assess(morning, mornings), language)
    test = next((t for t in reversed(orthostatic_tests) if t.day == latest), None)
    if test is not None:
        message = replace(message, orthostatic=judged_payload(test, orthostatic_tests))
    content = json.dumps(message.payload(), sort_keys=True).encode()
    digest = hashlib.blake2s(content, digest_size=6).hexdigest()
    return replace(
        message, id=f"readiness:{morning.day.isoformat()}:{morning.posture.value}:stored:{digest}"
    )


class MorningPrinter:
    """Prints the countdown now and then, and the day's readiness (kept in :attr:`result`)."""

    def __init__(self, console: Console, language: str) -> None:
        self.console = console
        self.language = language
        self.readiness = asyncio.Event()
        self.result: ReadinessMessage | None = None
        self._last = ""
        self._prompt: str | None = None

    def state(self, topic: str, payload: Payload) -> None:
        """The countdown: a line when the state changes and every 30 s."""
        if not topic.endswith("/morning"):
            return
        m = MorningMessage.from_payload(payload)
        prompt = None if m.prompt is ABSENT else m.prompt
        if prompt and prompt != self._prompt:  # an orthostatic test's "stand up now"
            self.console.print(prompt, highlight=False)
        self._prompt = prompt
        line = f"{m.state}: {m.remaining_s} s left"
        changed = not self._last.startswith(m.state)
        due = m.remaining_s is not None and not m.remaining_s % 30  # whole seconds
        if line != self._last and (changed or due):
            self.console.print(line, highlight=False)
            self._last = line

    def retained(self, topic: str, payload: str) -> None:
        """Link states are not shown."""

    def durable(self, topic: str, payload: Payload) -> None:
        """The end of the measurement and the readiness."""
        if topic.endswith("/morning"):
            m = MorningMessage.from_payload(payload)
            line = f"measurement {m.state}"
            if m.reason is not None and m.reason in set(InvalidReason):
                # Refused: say why and what to do, in the athlete's language.
                line += f" ({m.reason}): {invalid_advice(InvalidReason(m.reason), self.language)}"
            self.console.print(line, highlight=False)
            if m.outcome == "did_not_stand":
                self.console.print(
                    "orthostatic test: you did not stand (no heart-rate jump)", highlight=False
                )
        elif topic.endswith("/readiness"):
            r = ReadinessMessage.from_payload(payload)
            self.console.print(
                f"readiness: {r.status}, score {r.score}, lnRMSSD "
                f"{r.ln_rmssd} (normal {r.normal_low}-{r.normal_high})\n"
                f"{r.recommendation_text}",
                highlight=False,
            )
            if r.orthostatic is not ABSENT:
                self.console.print(ortho_line(r.orthostatic), highlight=False)
            self.result = r
            self.readiness.set()
