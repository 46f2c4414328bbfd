"""geth-compatible transaction tracers over py-evm: struct logs, call tree, prestate, access list.

`core` holds the py-evm hooks (a state and computation whose opcode wrappers and message entry and
exit call a `Tracer`), `replay` rebuilds the state a sealed transaction or a call ran on, and each
tracer module turns those hooks into the JSON that geth's tracer of the same name returns.
"""
