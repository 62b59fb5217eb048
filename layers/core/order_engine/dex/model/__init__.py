"""The simulated venues and chain, pure: pool maths, the market model, transactions, signatures."""
