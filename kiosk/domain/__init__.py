"""Pure logic: dosing decisions, schedules and the participant flow. No Qt, no I/O, no clock."""
