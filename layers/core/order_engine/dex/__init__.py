"""The simulated venues (Raydium CPMM, Meteora DLMM) and the simulated chain, implementing the `Dex` port (order_engine.ports) over the types of `domain.swaps`."""
