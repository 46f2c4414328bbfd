"""The tracer: how many lines each Linea arithmetization module would take for a block."""
