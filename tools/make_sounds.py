"""Generate the two gentle cue sounds in assets/sounds (run once; the WAVs are committed)."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 16_000


def tone(path: Path, notes: list[tuple[float, float]], volume: float = 0.25) -> None:
    frames = bytearray()
    for frequency, seconds in notes:
        count = int(RATE * seconds)
        for i in range(count):
            # A soft attack and release: no click, nothing harsh for someone in distress.
            envelope = min(1.0, i / (0.02 * RATE), (count - i) / (0.05 * RATE))
            sample = volume * envelope * math.sin(2 * math.pi * frequency * i / RATE)
            frames += struct.pack("<h", int(sample * 32767))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(bytes(frames))


if __name__ == "__main__":
    folder = Path("assets/sounds")
    folder.mkdir(parents=True, exist_ok=True)
    tone(folder / "success.wav", [(523.25, 0.15), (659.25, 0.15), (783.99, 0.25)])
    tone(folder / "attention.wav", [(440.0, 0.25), (392.0, 0.3)])
