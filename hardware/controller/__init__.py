"""Dispenser controller: framing and messages of controller-protocol v1 (with the 1.1
additions), and its driver.

``frame`` is pure (no I/O) and shared with the emulator; ``driver`` talks pyserial.
"""

from hardware.controller.driver import SerialController
from hardware.controller.frame import Frame, FrameDecoder, encode_frame

__all__ = ["Frame", "FrameDecoder", "SerialController", "encode_frame"]
