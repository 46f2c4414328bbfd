"""The spec layer: pure functions shared by the sequencer, provers, tests and contract oracles."""
