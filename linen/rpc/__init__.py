"""JSON-RPC over HTTP and WebSocket: eth_, net_, web3_, txpool_ (and later linea_, rollup_)."""
