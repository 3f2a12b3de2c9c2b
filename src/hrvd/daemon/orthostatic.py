"""An orthostatic test in the daemon or ``hrvd morning --orthostatic``.

A morning run that goes on standing.
The lying part is kept and scored as any morning (:class:`~hrvd.daemon.morning.MorningRun`);
the test's values are kept in the store's ``orthostatic`` table, compared with the
athlete's earlier tests, and published in the readiness message as ``orthostatic``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import structlog

from hrvd.coach.orthostatic_baseline import judged_payload
from hrvd.coach.orthostatic_test import OrthostaticTest
from hrvd.daemon.morning import MorningRun
from hrvd.store import StoreError

if TYPE_CHECKING:
    from datetime import date

    from hrvd.coach.baseline import Posture
    from hrvd.coach.morning_values import MorningResult, MorningSettings
    from hrvd.daemon.morning import Measurement

log = structlog.get_logger("hrvd.orthostatic")


class OrthostaticRun(MorningRun):
    """One orthostatic test, from the command to the published readiness."""

    test: OrthostaticTest

    def _measurement(
        self,
        settings: MorningSettings,
        *,
        day: date,
        now_s: float,
        repeat: bool,
        posture: Posture,  # noqa: ARG002 - the test always lies first
    ) -> Measurement:
        self.test = OrthostaticTest(
            started_at_s=now_s,
            day=day,
            settings=settings,
            repeat=repeat,
            language=self.language,
            analyst=self._analyst,
        )
        return self.test

    @property
    def language(self) -> str:
        """The prompts' language (``[athlete] language``)."""
        return self.config.athlete.language

    async def _finish(self, result: MorningResult) -> None:
        record = self.test.record
        if record is not None:
            try:
                await self.store.add_orthostatic(
                    record,
                    raw_rr=[b.rr_ms for b in self.test.standing_raw],
                    replace=result.repeat,
                    athlete=self.athlete,
                )
            except StoreError as exc:
                log.error("orthostatic test not stored", error=str(exc))  # noqa: TRY400
            log.info(
                "orthostatic test",
                outcome=record.outcome.value,
                reason=record.reason,
                rise_bpm=record.hr_rise_bpm,
            )
        await super()._finish(result)

    async def _orthostatic(self) -> dict[str, object] | None:
        record = self.test.record
        if record is None:
            return None
        try:
            history = await asyncio.to_thread(self.store.orthostatic_tests, self.athlete)
        except StoreError as exc:
            log.error("earlier orthostatic tests not read", error=str(exc))  # noqa: TRY400
            history = []
        return judged_payload(record, history)
