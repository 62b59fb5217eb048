"""The simulated venues (Raydium CPMM, Meteora DLMM) and the simulated chain, behind `dex.interface.Dex`."""
