"""One module per suite of the contract; peers.json's "suites" names them, the entry module mounts them."""
