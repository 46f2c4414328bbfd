"""The prover network (issue 16): for now the simulator of many weak provers proving one tree."""
