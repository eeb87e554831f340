"""The neutral core every layer may import: ids, events, errors, the clock and tasks, the
transport port. Only the standard library is imported here."""
