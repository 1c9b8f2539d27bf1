"""Emulators of the real devices, speaking their wire protocols on a pseudo-terminal.

The drivers open the pty's slave path exactly as they would open ``/dev/ttyUSB0``, so the
code that runs in the field is the code the tests exercise.
"""
