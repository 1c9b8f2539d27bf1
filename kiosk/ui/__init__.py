"""Qt widgets and screens: they render state and forward intents. No SQL, no serial."""
