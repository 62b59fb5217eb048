"""Order execution engine for Solana DEX market orders: the library every Lambda function shares."""
