"""Call announcements joined from recorded segments (请 A023 号到 5 号窗口). Options only: no driver yet."""

from __future__ import annotations

from pydantic import Field

from ..options import Kind, Options


class VoiceSegments(Options):
    """Voice calls from recorded segments (card: the sound card, segments: a directory of recordings)."""

    card: str = Field(default="default", min_length=1)
    segments: str | None = None


KIND = Kind("voice", "voice announcer", {"voice-segments": VoiceSegments})
